package native

import (
	"time"

	"atonce/internal/cputime"
)

// Timing is what [Loop] measured: the wall time of its calls, and the
// process's user and system CPU time over them.
type Timing struct {
	Loops int           `json:"loops"`
	Wall  time.Duration `json:"wall_ns"`
	User  time.Duration `json:"user_ns"`
	Sys   time.Duration `json:"sys_ns"`
}

// Loop calls f n times in a row and says how long they took: native
// %time and %timeit. The notebook's statement is compiled into f (a
// func the generator keeps from being inlined), and the engine asks for
// one Loop per run, as a task whose index is n, so that the figure holds
// the calls alone, as `go test -bench` measures them, and not the trip
// to the program.
func Loop(n int, f func()) Timing {
	user0, sys0 := cputime.SelfSplit()
	start := time.Now()
	for range n {
		f()
	}
	wall := time.Since(start)
	user, sys := cputime.SelfSplit()
	return Timing{Loops: n, Wall: wall, User: user - user0, Sys: sys - sys0}
}
