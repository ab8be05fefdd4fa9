// Package enginetest checks that a kernel.Engine keeps the contract the
// kernel relies on, the way testing/slogtest checks a slog.Handler: an
// engine's test calls Run with a way to make a fresh engine and the cells
// that make it do each thing, in its own language.
//
// atonce's engine (the engine process behind kernel/supervisor) runs it
// with the Go cells in Go; the kernel's tests run it on their fake engine,
// so that what the kernel is tested against is what the real engine does.
//
// The contract, one check each:
//   - A cell's output events reach the Output before Request returns: what
//     a cell writes to its standard output (os.Stdout in a Go cell, as
//     fmt.Println does), to file descriptor 1 itself (as compiled code or
//     a child process may) or to standard error is all delivered, in
//     order, before the reply.
//   - A cell that succeeds answers with no Err; one with a final value
//     answers with its text/plain form in Result.
//   - A cell that fails answers with Reply.Err (a name and a value that
//     says why) and a nil error: the error result is only for an engine
//     that cannot serve at all.
//   - Interrupt stops a running cell: Request returns with Reply.Err set
//     and Reply.Interrupted, and the engine serves the next request.
//     Interrupt with nothing running is harmless.
//   - A cell reads standard input through Output.Input, and only when the
//     request allows stdin.
//   - Notes are shown by the engine: each of Reply.Notes has been written
//     on the standard error stream before the reply. The kernel does not
//     show Reply.Notes again.
//   - Completion replaces the text between CursorStart and CursorEnd,
//     where CursorStart <= CursorEnd == Request.Cursor; no matches may be
//     a nil Matches, which the kernel sends as an empty list.
//   - is_complete answers one of "complete", "incomplete", "invalid" or
//     "unknown"; inspection that finds something answers a text/plain
//     bundle.
//   - Close returns nil.
package enginetest

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"atonce/internal/enginemsg"
	"atonce/kernel"
)

// What the cells write, for the checks to find.
const (
	Printed  = "enginetest: printed\n"  // what Cells.Print writes to standard output
	Warned   = "enginetest: warned\n"   // what Cells.Stderr writes to standard error
	Failed   = "enginetest: failed"     // what Cells.Fail's error says
	Blocking = "enginetest: blocking\n" // what Cells.Block writes before it blocks
	Value    = "42"                     // the text/plain of Cells.Value's value
	Answer   = "gopher"                 // the line Cells.Input is given
	Greeting = "hello " + Answer + "\n" // what Cells.Input writes once it read Answer
	// ManyLines is how many lines Cells.PrintMany writes.
	ManyLines = 2000
)

// ManyLine is line i of what Cells.PrintMany writes.
func ManyLine(i int) string { return fmt.Sprintf("line %d\n", i) }

// Cells are the cells the checks run, in the engine's language. Each
// field says what its cell must do.
type Cells struct {
	Print     string // writes Printed to standard output, and has no value
	PrintMany string // writes ManyLine(0) to ManyLine(ManyLines-1) to standard output
	PrintFD1  string // writes ManyLine(0) to ManyLine(ManyLines-1) to file descriptor 1 itself, not through the cell's standard output
	Stderr    string // writes Warned to standard error
	Value     string // ends with a value whose text/plain form is Value
	Fail      string // fails, with an error whose value holds Failed
	Block     string // writes Blocking to standard output, then runs until interrupted
	Input     string // reads one line from standard input, then writes "hello " and the line and a newline
	Note      string // makes the engine note something for the user (Reply.Notes)

	Complete      string // completing at its end offers CompleteMatch for the identifier before the cursor
	CompleteMatch string
	Incomplete    string // not a whole cell yet: is_complete answers "incomplete"
	Inspect       string // inspecting at its end finds documentation
}

// Go are the cells for atonce's engine, which runs Go.
var Go = Cells{
	Print:         "import \"fmt\"\nfmt.Println(\"enginetest: printed\")",
	PrintMany:     "import \"fmt\"\nfor i := 0; i < 2000; i++ {\n\tfmt.Println(\"line\", i)\n}",
	PrintFD1:      "import (\n\t\"fmt\"\n\t\"os\"\n)\nfunc() {\n\tfd1, err := os.OpenFile(\"/dev/stdout\", os.O_WRONLY, 0)\n\tif err != nil {\n\t\tpanic(err)\n\t}\n\tdefer fd1.Close()\n\tfor i := 0; i < 2000; i++ {\n\t\tfmt.Fprintln(fd1, \"line\", i)\n\t}\n}()",
	Stderr:        "import (\n\t\"fmt\"\n\t\"os\"\n)\nfmt.Fprintln(os.Stderr, \"enginetest: warned\")",
	Value:         "6 * 7",
	Fail:          "panic(\"enginetest: failed\")",
	Block:         "import (\n\t\"fmt\"\n\t\"time\"\n)\nfmt.Println(\"enginetest: blocking\")\ntime.Sleep(time.Hour)",
	Input:         "import \"fmt\"\nvar line string\nfmt.Scanln(&line)\nfmt.Println(\"hello \" + line)",
	Note:          "package main\n\nfunc main() {}",
	Complete:      "strings.ToUp",
	CompleteMatch: "ToUpper",
	Incomplete:    "func f() {",
	Inspect:       "fmt.Println",
}

// timeout bounds every request, so a broken engine fails the check
// instead of hanging it.
const timeout = 2 * time.Minute

// Run runs every check of the contract as a subtest, each on a fresh
// engine from newEngine, which it closes when the subtest ends.
func Run(t *testing.T, newEngine func(t *testing.T) kernel.Engine, cells Cells) {
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			eng := newEngine(t)
			t.Cleanup(func() {
				if err := eng.Close(); err != nil {
					t.Errorf("Close got %v, want nil", err)
				}
			})
			ctx, cancel := context.WithTimeout(context.Background(), timeout)
			defer cancel()
			c.run(ctx, t, eng, cells)
		})
	}
}

var checks = []struct {
	name string
	run  func(ctx context.Context, t *testing.T, eng kernel.Engine, cells Cells)
}{
	{"output before reply", checkOutput},
	{"value", checkValue},
	{"failure", checkFailure},
	{"interrupt", checkInterrupt},
	{"interrupt when idle", checkIdleInterrupt},
	{"input", checkInput},
	{"notes", checkNotes},
	{"completion", checkCompletion},
	{"is_complete and inspect", checkIsCompleteInspect},
}

// execute runs code and returns the reply with the output received
// before it. It fails the test if Request returns an error.
func execute(ctx context.Context, t *testing.T, eng kernel.Engine, code string, rec *recorder) *enginemsg.Reply {
	t.Helper()
	rep, err := eng.Request(ctx, enginemsg.Request{Kind: enginemsg.KindExecute, Code: code, AllowStdin: rec.allowStdin}, rec)
	if err != nil {
		t.Fatalf("Request(%q) got error %v, want a reply", code, err)
	}
	if rep == nil {
		t.Fatalf("Request(%q) got a nil reply and no error", code)
	}
	rec.replied()
	return rep
}

// outputRuns is how often checkOutput runs each cell: output that races
// with the reply instead of preceding it shows up only now and then.
const outputRuns = 20

func checkOutput(ctx context.Context, t *testing.T, eng kernel.Engine, cells Cells) {
	for _, tt := range []struct {
		name, code, stream, want string
	}{
		{"Print", cells.Print, "stdout", Printed},
		{"Stderr", cells.Stderr, "stderr", Warned},
		{"PrintMany", cells.PrintMany, "stdout", manyLines()},
		{"PrintFD1", cells.PrintFD1, "stdout", manyLines()},
	} {
		for run := range outputRuns {
			rec := &recorder{}
			rep := execute(ctx, t, eng, tt.code, rec)
			if rep.Err != nil {
				t.Fatalf("%s: reply got error %v, want none", tt.name, rep.Err)
			}
			if rep.Result != nil {
				t.Errorf("%s: reply got result %v, want none", tt.name, rep.Result)
			}
			if got := rec.beforeReply(tt.stream); got != tt.want {
				t.Fatalf("%s, run %d: %s before the reply got %s, want %s", tt.name, run+1, tt.stream, abbrev(got), abbrev(tt.want))
			}
		}
	}
}

func manyLines() string {
	var b strings.Builder
	for i := range ManyLines {
		b.WriteString(ManyLine(i))
	}
	return b.String()
}

func checkValue(ctx context.Context, t *testing.T, eng kernel.Engine, cells Cells) {
	rep := execute(ctx, t, eng, cells.Value, &recorder{})
	if rep.Err != nil {
		t.Fatalf("reply got error %v, want none", rep.Err)
	}
	if got := rep.Result["text/plain"]; got != Value {
		t.Errorf("result text/plain got %v, want %q", got, Value)
	}
}

func checkFailure(ctx context.Context, t *testing.T, eng kernel.Engine, cells Cells) {
	rep := execute(ctx, t, eng, cells.Fail, &recorder{})
	if rep.Err == nil {
		t.Fatalf("reply got no error, want one holding %q", Failed)
	}
	if rep.Err.Name == "" || !strings.Contains(rep.Err.Value, Failed) {
		t.Errorf("reply error got name %q value %q, want a name and a value holding %q", rep.Err.Name, rep.Err.Value, Failed)
	}
	if rep.Interrupted {
		t.Errorf("reply got Interrupted, want false: nothing interrupted the cell")
	}
	// The engine serves on.
	checkValue(ctx, t, eng, cells)
}

func checkInterrupt(ctx context.Context, t *testing.T, eng kernel.Engine, cells Cells) {
	interruptBlock(ctx, t, eng, cells)
	checkValue(ctx, t, eng, cells)
}

// interruptBlock runs cells.Block, interrupts it once it runs, and checks
// the reply.
func interruptBlock(ctx context.Context, t *testing.T, eng kernel.Engine, cells Cells) {
	t.Helper()
	rec := &recorder{}
	type result struct {
		rep *enginemsg.Reply
		err error
	}
	done, exited := make(chan result, 1), make(chan struct{})
	go func() {
		defer close(exited)
		rep, err := eng.Request(ctx, enginemsg.Request{Kind: enginemsg.KindExecute, Code: cells.Block}, rec)
		done <- result{rep, err}
	}()
	// Run cancels ctx when the check ends, so even a failed check ends
	// the request; wait for it before the engine is closed.
	t.Cleanup(func() { <-exited })
	// Interrupt once the cell runs: an interrupt before it starts has
	// nothing to stop.
	if err := rec.waitFor(ctx, "stdout", Blocking); err != nil {
		t.Fatalf("the blocking cell never wrote %q: %v", Blocking, err)
	}
	select {
	case r := <-done:
		t.Fatalf("the blocking cell ended before it was interrupted: reply %+v, error %v", r.rep, r.err)
	default:
	}
	if err := eng.Interrupt(); err != nil {
		t.Errorf("Interrupt got %v, want nil", err)
	}
	var r result
	select {
	case r = <-done:
	case <-ctx.Done():
		t.Fatalf("Request did not return after Interrupt: %v", ctx.Err())
	}
	if r.err != nil {
		t.Fatalf("interrupted Request got error %v, want a reply", r.err)
	}
	if r.rep.Err == nil || !r.rep.Interrupted {
		t.Errorf("interrupted reply got Err %v, Interrupted %v; want an error and Interrupted", r.rep.Err, r.rep.Interrupted)
	}
}

func checkIdleInterrupt(ctx context.Context, t *testing.T, eng kernel.Engine, cells Cells) {
	checkValue(ctx, t, eng, cells)
	if err := eng.Interrupt(); err != nil {
		t.Errorf("Interrupt with nothing running got %v, want nil", err)
	}
	// The interrupt is not kept for the next cell.
	rec := &recorder{}
	rep := execute(ctx, t, eng, cells.Print, rec)
	if rep.Err != nil || rep.Interrupted {
		t.Errorf("the cell after an idle interrupt got Err %v, Interrupted %v; want it to run", rep.Err, rep.Interrupted)
	}
	if got := rec.beforeReply("stdout"); got != Printed {
		t.Errorf("stdout got %q, want %q", got, Printed)
	}
	interruptBlock(ctx, t, eng, cells)
}

func checkInput(ctx context.Context, t *testing.T, eng kernel.Engine, cells Cells) {
	rec := &recorder{allowStdin: true}
	rep := execute(ctx, t, eng, cells.Input, rec)
	if rep.Err != nil {
		t.Errorf("reply got error %v, want none", rep.Err)
	}
	if n := rec.inputCalls(); n != 1 {
		t.Errorf("Output.Input called %d times, want once", n)
	}
	if got := rec.beforeReply("stdout"); !strings.Contains(got, Greeting) {
		t.Errorf("stdout got %q, want it to hold %q", got, Greeting)
	}

	// Without allow_stdin the engine must not ask; how the cell fails is
	// the engine's business.
	rec = &recorder{}
	execute(ctx, t, eng, cells.Input, rec)
	if n := rec.inputCalls(); n != 0 {
		t.Errorf("with allow_stdin false, Output.Input called %d times, want never", n)
	}
}

func checkNotes(ctx context.Context, t *testing.T, eng kernel.Engine, cells Cells) {
	rec := &recorder{}
	rep := execute(ctx, t, eng, cells.Note, rec)
	if rep.Err != nil {
		t.Errorf("reply got error %v, want none", rep.Err)
	}
	if len(rep.Notes) == 0 {
		t.Fatalf("reply got no notes, want at least one")
	}
	stderr := rec.beforeReply("stderr")
	for _, note := range rep.Notes {
		if !strings.Contains(stderr, note) {
			t.Errorf("note %q was not shown on stderr before the reply (stderr got %q): the engine shows its notes", note, stderr)
		}
	}
}

func checkCompletion(ctx context.Context, t *testing.T, eng kernel.Engine, cells Cells) {
	cursor := len([]rune(cells.Complete))
	rep, err := eng.Request(ctx, enginemsg.Request{Kind: enginemsg.KindComplete, Code: cells.Complete, Cursor: cursor}, &recorder{})
	if err != nil {
		t.Fatalf("complete got error %v, want a reply", err)
	}
	if rep.Err != nil {
		t.Fatalf("complete reply got error %v, want none", rep.Err)
	}
	found := false
	for _, m := range rep.Matches {
		found = found || m == cells.CompleteMatch
	}
	if !found {
		t.Errorf("matches got %q, want them to hold %q", rep.Matches, cells.CompleteMatch)
	}
	if rep.CursorEnd != cursor || rep.CursorStart < 0 || rep.CursorStart > cursor {
		t.Fatalf("cursor got %d..%d, want a range ending at the cursor, %d", rep.CursorStart, rep.CursorEnd, cursor)
	}
	if replaced := string([]rune(cells.Complete)[rep.CursorStart:cursor]); !strings.HasPrefix(cells.CompleteMatch, replaced) {
		t.Errorf("the text replaced got %q, want the start of %q", replaced, cells.CompleteMatch)
	}
}

func checkIsCompleteInspect(ctx context.Context, t *testing.T, eng kernel.Engine, cells Cells) {
	for _, tt := range []struct{ code, want string }{{cells.Incomplete, "incomplete"}, {cells.Print, "complete"}} {
		rep, err := eng.Request(ctx, enginemsg.Request{Kind: enginemsg.KindIsComplete, Code: tt.code}, &recorder{})
		if err != nil || rep.Err != nil {
			t.Fatalf("is_complete(%q) got error %v / %v, want a reply", tt.code, err, rep.Err)
		}
		if rep.Status != tt.want {
			t.Errorf("is_complete(%q) got %q, want %q", tt.code, rep.Status, tt.want)
		}
	}
	rep, err := eng.Request(ctx, enginemsg.Request{Kind: enginemsg.KindInspect, Code: cells.Inspect, Cursor: len([]rune(cells.Inspect))}, &recorder{})
	if err != nil || rep.Err != nil {
		t.Fatalf("inspect(%q) got error %v / %v, want a reply", cells.Inspect, err, rep.Err)
	}
	if text, _ := rep.Data["text/plain"].(string); !rep.Found || text == "" {
		t.Errorf("inspect(%q) got found %v, data %v; want documentation in text/plain", cells.Inspect, rep.Found, rep.Data)
	}
}

// recorder is the Output of the checks: it keeps every event, marks
// where the reply came, and answers input requests with Answer.
type recorder struct {
	allowStdin bool

	mu      sync.Mutex
	events  []enginemsg.Event
	atReply int // len(events) when Request returned
	inputs  int
	changed chan struct{} // closed and replaced on each event
}

// Event implements kernel.Output.
func (r *recorder) Event(ev enginemsg.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, ev)
	if r.changed != nil {
		close(r.changed)
		r.changed = nil
	}
}

// Input implements kernel.Output.
func (r *recorder) Input(ctx context.Context, prompt string, password bool) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.inputs++
	if !r.allowStdin {
		return "", fmt.Errorf("enginetest: Input called for a request with allow_stdin false")
	}
	return Answer, nil
}

func (r *recorder) inputCalls() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.inputs
}

func (r *recorder) replied() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.atReply = len(r.events)
}

// beforeReply returns the text of the stream events on stream that came
// before the reply.
func (r *recorder) beforeReply(stream string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return streamText(r.events[:r.atReply], stream)
}

func streamText(events []enginemsg.Event, stream string) string {
	var b strings.Builder
	for _, ev := range events {
		if ev.Kind == enginemsg.EventStream && ev.Name == stream {
			b.WriteString(ev.Text)
		}
	}
	return b.String()
}

// waitFor returns once the text on stream holds want, or ctx is done.
func (r *recorder) waitFor(ctx context.Context, stream, want string) error {
	for {
		r.mu.Lock()
		if strings.Contains(streamText(r.events, stream), want) {
			r.mu.Unlock()
			return nil
		}
		if r.changed == nil {
			r.changed = make(chan struct{})
		}
		changed := r.changed
		r.mu.Unlock()
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// abbrev shows s, or the length and end of a long s (where a late
// output is missing).
func abbrev(s string) string {
	if len(s) > 200 {
		return fmt.Sprintf("%d bytes ending %q", len(s), s[len(s)-100:])
	}
	return fmt.Sprintf("%q", s)
}

var _ kernel.Output = (*recorder)(nil)
