package modelrun

// JSONSafeForTest exposes jsonSafe to the external tests.
var JSONSafeForTest = jsonSafe
