package modelrun

// JSONSafeForTest exposes jsonSafe to the external tests.
var JSONSafeForTest = jsonSafe

// PruneRaceCacheForTest exposes pruneRaceCache to the external tests.
var PruneRaceCacheForTest = pruneRaceCache
