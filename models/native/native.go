// Package native is native mode's runtime: the package a notebook's
// generated Go program imports (as __atonce) to run the models on the
// notebook's compiled code.
//
// THIS IS A STUB, written by the generator's helper only so that generated
// programs compile and their tests can run them; the runtime's helper
// replaces it. It keeps the contract the generator writes against:
// [Program], [Main] and [Sleep]. Its Main runs one named func once:
//
//	prog NAME [I]
//
// reads the variables' starting values from stdin as a JSON object by name
// (absent or empty: none), sets them, re-makes the variables Remake has,
// calls Funcs[NAME] with I (default 0) when it takes an int, and prints one
// JSON object ([Outcome]) to stdout: the result, the error, every
// variable's value after the call, and the number of Sleep calls.
package native

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"reflect"
	"sort"
	"strconv"
	"sync/atomic"
	"time"
)

// Program is what a generated program hands to Main.
type Program struct {
	// Funcs are the notebook's funcs with a task shape, by name: func(),
	// func(int), func(int) T, func(int) (T, error) (the int may be any
	// integer type).
	Funcs map[string]any
	// Vars are pointers to the notebook's package-level variables, by
	// name.
	Vars map[string]any
	// Remake re-runs the initializer of a variable whose value cannot
	// cross as JSON (a chan, a func, a sync.Mutex, ...); absent for such a
	// variable without one, which starts at its zero value.
	Remake map[string]func()
	// Source is a hash of the generated source.
	Source string
}

// Outcome is what the stub's Main prints.
type Outcome struct {
	Source string                     `json:"source"`
	Result any                        `json:"result,omitempty"`
	Error  string                     `json:"error,omitempty"`
	Vars   map[string]json.RawMessage `json:"vars"`
	Remade []string                   `json:"remade,omitempty"`
	Sleeps int64                      `json:"sleeps"`
}

var sleeps atomic.Int64

// Sleep is the notebook's time.Sleep, rewritten: the await point of the
// runtime. The stub counts the calls and sleeps.
func Sleep(d time.Duration) {
	sleeps.Add(1)
	time.Sleep(d)
}

// Main runs the program as the package comment says, and exits.
func Main(p Program) {
	out, err := run(p, os.Args[1:], os.Stdin)
	if err != nil {
		fmt.Fprintln(os.Stderr, "native stub:", err)
		os.Exit(2)
	}
	if err := json.NewEncoder(os.Stdout).Encode(out); err != nil {
		fmt.Fprintln(os.Stderr, "native stub:", err)
		os.Exit(2)
	}
}

func run(p Program, args []string, stdin io.Reader) (Outcome, error) {
	out := Outcome{Source: p.Source, Vars: map[string]json.RawMessage{}}
	if len(args) < 1 {
		return out, fmt.Errorf("usage: prog NAME [I]")
	}
	i := 0
	if len(args) > 1 {
		n, err := strconv.Atoi(args[1])
		if err != nil {
			return out, err
		}
		i = n
	}
	in, err := io.ReadAll(stdin)
	if err != nil {
		return out, err
	}
	if len(in) > 0 {
		var start map[string]json.RawMessage
		if err := json.Unmarshal(in, &start); err != nil {
			return out, err
		}
		for name, v := range start {
			if _, remade := p.Remake[name]; remade {
				continue
			}
			if ptr, ok := p.Vars[name]; ok {
				if err := json.Unmarshal(v, ptr); err != nil {
					return out, fmt.Errorf("%s: %w", name, err)
				}
			}
		}
	}
	for name, remake := range p.Remake {
		remake()
		out.Remade = append(out.Remade, name)
	}
	sort.Strings(out.Remade)
	fn, ok := p.Funcs[args[0]]
	if !ok {
		return out, fmt.Errorf("no task func %s", args[0])
	}
	f := reflect.ValueOf(fn)
	var in1 []reflect.Value
	if f.Type().NumIn() == 1 {
		in1 = []reflect.Value{reflect.ValueOf(i).Convert(f.Type().In(0))}
	}
	res := f.Call(in1)
	if len(res) > 0 {
		out.Result = res[0].Interface()
	}
	if len(res) == 2 && !res[1].IsNil() {
		out.Error = res[1].Interface().(error).Error()
	}
	for name, ptr := range p.Vars {
		if b, err := json.Marshal(ptr); err == nil {
			out.Vars[name] = b
		}
	}
	out.Sleeps = sleeps.Load()
	return out, nil
}
