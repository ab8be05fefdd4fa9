// A notebook's native program as the generator writes one (by hand here):
// the notebook's declarations (time.Sleep rewritten to the runtime's),
// then main handing them to the runtime.
// native_test.go builds it against this atonce tree.
package main

import (
	"errors"
	"fmt"
	"sync"
	"time"

	__atonce "atonce/models/native"
)

type point struct{ X, Y int }

// The notebook's variables, declared by their type: their values arrive
// with the state.
var (
	nums   []int
	counts map[string]int
	origin point
	hits   int
	mu     sync.Mutex
	ch     chan int   // cannot cross: Remake makes it anew
	hook   func() int // cannot cross, and has no initializer to run
	shared map[int]int
)

// Sum reads every kind of variable that crossed.
func Sum(i int) int {
	s := i + counts["a"] + origin.X + cap(ch)
	for _, n := range nums {
		s += n
	}
	return s
}

func Nothing() {}

// Say prints.
func Say(i int) { fmt.Printf("task %d says héllo\n", i) }

// Touch changes two variables.
func Touch(i int) {
	hits++
	nums = append(nums, i)
}

func Fails(i int) (string, error) {
	if i == 1 {
		return "", errors.New("odd one out")
	}
	return fmt.Sprint("task ", i), nil
}

func Boom(i int) int { panic(fmt.Sprintf("boom at %d", i)) }

// Chan returns what JSON cannot carry.
func Chan(i int) chan int { return ch }

// Hook tells whether hook starts at its zero value.
func Hook(i int) bool { return hook == nil }

// Nap sleeps at the await point, then squares.
func Nap(i int) int {
	__atonce.Sleep(5 * time.Millisecond)
	return i * i
}

// NapSpin sleeps at the await point, then computes for as long.
func NapSpin(i int) int {
	__atonce.Sleep(3 * time.Millisecond)
	for end := time.Now().Add(3 * time.Millisecond); time.Now().Before(end); {
	}
	return i
}

// Add counts under the lock: every update kept.
func Add(i int) {
	mu.Lock()
	hits++
	mu.Unlock()
}

// Unsafe counts without it, for the race detector: its sleep first lets
// every worker take a task before any counts.
func Unsafe(i int) {
	__atonce.Sleep(time.Millisecond)
	for range 100_000 {
		hits++
	}
}

// Forever sleeps until stopped.
func Forever(i int) { __atonce.Sleep(time.Hour) }

// Crash writes one map from every task until the runtime notices that
// two tasks write at once and kills the process.
func Crash(i int) {
	deadline := time.Now().Add(time.Minute)
	for j := 0; time.Now().Before(deadline); j++ {
		shared[j%64] = i
	}
}

func main() {
	__atonce.Main(__atonce.Program{
		Funcs: map[string]any{
			"Sum": Sum, "Nothing": Nothing, "Touch": Touch, "Fails": Fails, "Boom": Boom, "Chan": Chan,
			"Hook": Hook, "Say": Say, "Nap": Nap, "NapSpin": NapSpin, "Add": Add, "Unsafe": Unsafe, "Forever": Forever, "Crash": Crash,
		},
		Vars: map[string]any{
			"nums": &nums, "counts": &counts, "origin": &origin, "hits": &hits, "mu": &mu, "ch": &ch,
			"hook": &hook, "shared": &shared,
		},
		Remake: map[string]func(){
			"ch": func() { ch = make(chan int, 3) },
		},
		Source: "test-notebook",
	})
}
