//go:build !race

package interp

// raceEnabled tells the tests that the race detector is on.
const raceEnabled = false
