package magic

import (
	"context"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"sync"

	"atonce/internal/enginemsg"
)

// Result is what a cell, or one step of it, did.
type Result struct {
	Value       enginemsg.Bundle // the cell's value, shown as Out[n]
	Err         *enginemsg.Error
	Notes       []string
	Interrupted bool
	Stuck       bool
	// Page is help text the client shows in its pager.
	Page string
	// Reset tells that the notebook's state was thrown away: earlier
	// cells must not be replayed after a crash.
	Reset bool
	// LastFunc is the last plain function (not a method) the Go code
	// run by Env.Execute declares, "" if none.
	LastFunc string
}

// Env is what magics can do with the notebook. The engine implements it
// with the interpreter session.
type Env interface {
	// Execute runs Go code (no magics) in the notebook.
	Execute(ctx context.Context, code string) Result
	// Func returns a notebook function, callable from any goroutine.
	Func(ctx context.Context, name string) (reflect.Value, error)
	// Vars returns the notebook's variables as settable values.
	Vars() map[string]reflect.Value
	// Stop makes notebook code called through Func return at its next
	// step (an interrupt for code the host called); fetch funcs again
	// afterwards.
	Stop()
	// Reset throws the notebook's state away.
	Reset() error
	// Goroutines describes the goroutines cells left running, "" if none.
	Goroutines() string
	// Inspect returns the documentation of the Go name at cursor.
	Inspect(code string, cursor int) (string, bool)
	// Print writes text to the cell's "stdout" or "stderr".
	Print(stream, text string)
	// Display shows a MIME bundle in the cell and returns its display id.
	Display(b enginemsg.Bundle) string
	// Show shows a MIME bundle with its metadata (an image's size, say)
	// and returns its display id.
	Show(b enginemsg.Bundle, metadata map[string]any) string
	// Update replaces the bundle shown under a display id, and its
	// metadata (nil for none).
	Update(id string, b enginemsg.Bundle, metadata map[string]any)
	// Checkpoint saves where a long magic got to; if the engine dies, the
	// cell is run again in a new engine with Resume returning it.
	Checkpoint(v any)
	// Resume returns the checkpoint of an earlier attempt at this cell
	// and what killed it, or nil.
	Resume() *enginemsg.Resume
	// Replaying tells that the cell runs again to rebuild the notebook's
	// state in a new engine: output is hidden and only what changes
	// state needs to run.
	Replaying() bool
	// History returns the Go code of the cells that ran successfully, in
	// order, as they ran: replaying them in a new session rebuilds the
	// notebook (worker processes do).
	History() []string
}

// Command is one magic.
type Command struct {
	Name    string
	Summary string // one line, for %lsmagic
	Usage   string // the invocation's form
	Doc     string // more, for %help
	Line    bool   // usable as %name
	Cell    bool   // usable as %%name
	Run     func(ctx context.Context, env Env, c Call) Result
}

var (
	mu       sync.RWMutex
	commands = map[string]*Command{}
)

// Register adds a magic. It panics on a duplicate name: that is a
// programming error.
func Register(c Command) {
	mu.Lock()
	defer mu.Unlock()
	if _, dup := commands[c.Name]; dup {
		panic("magic: " + c.Name + " registered twice")
	}
	commands[c.Name] = &c
}

// Lookup returns the magic name, or an error that lists the known ones.
func Lookup(name string, cell bool) (*Command, error) {
	mu.RLock()
	c, ok := commands[name]
	mu.RUnlock()
	sign := "%"
	if cell {
		sign = "%%"
	}
	if !ok {
		return nil, fmt.Errorf("unknown magic %s%s; the magics are: %s (see %%lsmagic, %%help NAME)", sign, name, strings.Join(names(), ", "))
	}
	if cell && !c.Cell {
		return nil, fmt.Errorf("%%%%%s is not a cell magic; use it on a line: %s", name, c.Usage)
	}
	if !cell && !c.Line {
		return nil, fmt.Errorf("%%%s is a cell magic: put %%%%%s on the cell's first line; %s", name, name, c.Usage)
	}
	return c, nil
}

func names() []string {
	mu.RLock()
	defer mu.RUnlock()
	var out []string
	for n, c := range commands {
		if c.Line {
			out = append(out, "%"+n)
		}
		if c.Cell {
			out = append(out, "%%"+n)
		}
	}
	// By name, a line magic before its cell form.
	sort.Slice(out, func(i, j int) bool {
		a, b := strings.TrimLeft(out[i], "%"), strings.TrimLeft(out[j], "%")
		if a != b {
			return a < b
		}
		return len(out[i]) < len(out[j])
	})
	return out
}

// Run runs a cell step by step and stops at the first error. The cell's
// value is the last step's.
func Run(ctx context.Context, env Env, cell string) Result {
	var res Result
	var notes []string
	for _, st := range Parse(cell) {
		var r Result
		switch {
		case st.Help != "":
			r = help(env, st.Help)
		case st.Magic != nil && st.Magic.Misplaced:
			r = Result{Err: userError("UsageError", fmt.Sprintf("%%%%%s is a cell magic: it must be the first line of the cell (it is on line %d)", st.Magic.Name, st.Magic.Line))}
		case st.Magic != nil:
			c, err := Lookup(st.Magic.Name, st.Magic.Cell)
			if err != nil {
				r = Result{Err: userError("UnknownMagic", err.Error())}
				break
			}
			r = c.Run(ctx, env, *st.Magic)
		default:
			r = env.Execute(ctx, st.Code)
		}
		notes = append(notes, r.Notes...)
		if r.Page != "" {
			res.Page = r.Page
		}
		res.Reset = res.Reset || r.Reset
		res.Value, res.Err, res.Interrupted, res.Stuck = r.Value, r.Err, r.Interrupted, r.Stuck
		if r.Err != nil {
			break
		}
	}
	res.Notes = notes
	return res
}

// userError is an error the user caused, in the cell's words.
func userError(name, msg string) *enginemsg.Error {
	return &enginemsg.Error{Name: name, Value: msg, Traceback: []string{name + ": " + msg}}
}

// UserError is for magics defined in other packages.
func UserError(name, msg string) *enginemsg.Error { return userError(name, msg) }

// help answers `name?`: a magic's usage and doc, or a Go name's
// documentation.
func help(env Env, target string) Result {
	name := strings.TrimLeft(target, "%")
	mu.RLock()
	c, isMagic := commands[name]
	mu.RUnlock()
	if isMagic && (strings.HasPrefix(target, "%") || !strings.Contains(name, ".")) {
		return Result{Page: commandHelp(c)}
	}
	if text, ok := env.Inspect(name, len([]rune(name))); ok {
		return Result{Page: text}
	}
	return Result{Err: userError("NotFound", fmt.Sprintf("no documentation for %s: it is neither a magic nor a Go name the notebook knows", target))}
}

func commandHelp(c *Command) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n\n%s\n", c.Usage, c.Summary)
	if c.Doc != "" {
		fmt.Fprintf(&b, "\n%s\n", c.Doc)
	}
	return b.String()
}
