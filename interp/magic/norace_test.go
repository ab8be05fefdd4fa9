//go:build !race

package magic

// raceEnabled tells the tests that the race detector is on.
const raceEnabled = false
