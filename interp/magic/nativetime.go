package magic

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"atonce/internal/enginemsg"
	"atonce/interp/native"
	"atonce/interp/nativerun"
	nativert "atonce/models/native"
	"atonce/models/workermsg"
	"atonce/models/workerpool"
)

// The functions native %time and %timeit add to the notebook's program:
// the statement compiled (never inlined into the loop, as `go test
// -bench` keeps a benchmark's body apart), and the loop around it that
// the engine asks for, one run at a time, as a task whose index is the
// number of calls.
const (
	nativeTimeitFunc = "__atonce_native_timeit"
	nativeLoopFunc   = "__atonce_native_timeit_loop"
)

// nativeTimeitCell is the cell appended to the notebook's history to
// time stmt natively (useValue: as `_ = stmt`, for an expression whose
// value Go would refuse to drop). The statement starts on line
// stmtLine, so that an error's line can be given as in the statement.
func nativeTimeitCell(stmt string, useValue bool) string {
	if useValue {
		stmt = "_ = " + stmt
	}
	return "import __atonce_rt \"atonce/models/native\"\n" +
		"//go:noinline\n" +
		"func " + nativeTimeitFunc + "() {\n" +
		stmt + "\n}\n" +
		"func " + nativeLoopFunc + "(n int) __atonce_rt.Timing { return __atonce_rt.Loop(n, " + nativeTimeitFunc + ") }\n"
}

// stmtLine is the line of nativeTimeitCell where the statement starts.
const stmtLine = 4

// nativeTimer times a statement in the notebook's program, compiled by
// the Go toolchain.
type nativeTimer struct {
	ctx   context.Context
	build *nativerun.Build
	w     *workerpool.Worker
}

// startNativeTimer builds the notebook with the statement appended and
// starts the program; r is the cell's error when that fails (no
// toolchain, code the compiler refuses, an interrupt).
func startNativeTimer(ctx context.Context, env Env, stmt string) (*nativeTimer, *Result) {
	history := env.History()
	output := func(o workermsg.Output) { env.Print(o.Stream, o.Text) }
	var b *nativerun.Build
	var err error
	for _, useValue := range []bool{false, true} {
		cells := append(history[:len(history):len(history)], nativeTimeitCell(stmt, useValue))
		b, err = nativerun.Prepare(ctx, cells, nativerun.Options{Task: nativeLoopFunc, Vars: env.Vars(), Output: output})
		var ce *native.CompileError
		if !errors.As(err, &ce) || useValue || !valueUnused(ce, len(cells)) {
			if ce != nil {
				return nil, &Result{Err: timedCompileError(ce, cells)}
			}
			break
		}
	}
	switch {
	case err == nil:
	case ctx.Err() != nil:
		return nil, &Result{Err: userError("Interrupted", "the native build was interrupted"), Interrupted: true}
	case nativerun.Unavailable(err):
		return nil, &Result{Err: userError("NativeUnavailable", err.Error())}
	default:
		return nil, &Result{Err: userError("NativeError", err.Error())}
	}
	w, err := b.Start(ctx, "the native program")
	if err != nil {
		b.Close()
		if ctx.Err() != nil {
			return nil, &Result{Err: userError("Interrupted", "the timing was interrupted"), Interrupted: true}
		}
		return nil, &Result{Err: userError("NativeError", err.Error())}
	}
	return &nativeTimer{ctx: ctx, build: b, w: w}, nil
}

// valueUnused tells whether the compiler refused the statement (in the
// last of n cells) only because it has a value it does not use.
func valueUnused(ce *native.CompileError, n int) bool {
	for _, e := range ce.Errors {
		if e.Cell != n || !strings.Contains(e.Msg, "is not used") {
			return false
		}
	}
	return len(ce.Errors) > 0
}

// timedCompileError is the compile error of a timing, the statement's
// lines numbered as the user typed them.
func timedCompileError(ce *native.CompileError, cells []string) *enginemsg.Error {
	fixed := *ce
	fixed.Errors = append([]native.CellError(nil), ce.Errors...)
	for i, e := range fixed.Errors {
		if e.Cell == len(cells) {
			fixed.Errors[i].Line = max(e.Line-stmtLine+1, 1)
		}
	}
	return nativerun.CompileErrorOf(&fixed, cells, "the timed statement")
}

// loops is the native loopTimer: one task of the program's loop.
func (t *nativeTimer) loops(n int) (time.Duration, error) {
	tm, err := t.loop(n)
	return tm.Wall, err
}

// loop runs n calls of the statement in the program and returns what
// they took there.
func (t *nativeTimer) loop(n int) (nativert.Timing, error) {
	var tm nativert.Timing
	res, err := nativerun.Call(t.ctx, t.w, t.build.State.Key, nativeLoopFunc, n)
	switch {
	case err != nil && t.ctx.Err() != nil:
		return tm, context.Canceled
	case err != nil:
		return tm, fmt.Errorf("the native program died running the statement: %w", err)
	case res.Err != "":
		return tm, t.panicked(res.Err, n)
	}
	if err := json.Unmarshal(res.Value, &tm); err != nil {
		return tm, fmt.Errorf("the native program's timing does not read: %w", err)
	}
	return tm, nil
}

// panicked is the timed code's panic, from the task's error: its value,
// and where in the statement (or the cell it called) it happened.
func (t *nativeTimer) panicked(msg string, n int) *codePanic {
	value, _, _ := strings.Cut(strings.TrimPrefix(msg, fmt.Sprintf("task %d panicked: ", n)), "\n\n")
	p := &codePanic{value: value}
	if site, ok := t.build.PanicSite(msg, stmtLine-1); ok {
		p.where = append(p.where, "  "+t.build.Where(site, "the timed statement"))
		for _, l := range site.Excerpt() {
			p.where = append(p.where, "      "+l)
		}
	}
	return p
}

func (t *nativeTimer) close() { t.build.Close() }

// nativeTime is %time -native: the statement run once in the notebook's
// program; the CPU times are the program's.
func nativeTime(ctx context.Context, env Env, stmt string) Result {
	t, r := startNativeTimer(ctx, env, stmt)
	if r != nil {
		return *r
	}
	defer t.close()
	tm, err := t.loop(1)
	if err != nil {
		return failed(err)
	}
	env.Print("stdout", fmt.Sprintf("CPU times: user %s, sys: %s, total: %s\nWall time: %s [%s]\n", human(tm.User), human(tm.Sys), human(tm.User+tm.Sys), human(tm.Wall), t.build.Label()))
	return Result{}
}
