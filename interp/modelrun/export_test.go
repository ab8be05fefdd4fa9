package modelrun

// JSONSafeForTest exposes jsonSafe to the external tests.
var JSONSafeForTest = jsonSafe

// DocForTest exposes doc, the %%models help text.
var DocForTest = doc

// PruneRaceCacheForTest exposes pruneRaceCache to the external tests.
var PruneRaceCacheForTest = pruneRaceCache
