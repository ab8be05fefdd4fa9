// Package grade grades a submitted notebook as nbgrader's autograder
// does: it runs every code cell in order in a fresh engine, and each
// graded cell (nbgrader metadata "grade": true) that runs without an error
// scores its points; one that fails (a check that did not hold, a panic, a
// compile error, a timeout) scores 0. With the teacher's version at hand,
// the graded and locked cells are first put back as the teacher wrote
// them, hidden tests included.
//
// The cells run through a kernel.Engine: atonce's engine behind a
// supervisor, as in the kernel, so a cell that kills the engine (a
// concurrent map write under threads) is reported as the kernel reports it
// and the notebook goes on in a new engine with its state replayed.
package grade

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"atonce/internal/enginemsg"
	"atonce/internal/statedir"
	"atonce/kernel"
	"atonce/kernel/supervisor"
	"atonce/notebooks/ipynb"
)

// Options tune a grading.
type Options struct {
	// EngineCommand starts an engine: the atonce binary and "engine".
	EngineCommand []string
	// CellTimeout bounds one cell's run; the cell is interrupted then,
	// and fails. Default 5 minutes.
	CellTimeout time.Duration
	// Source, if set, is the teacher's version of the notebook: its graded
	// and locked cells replace the submission's of the same grade_id, and
	// its graded cells and points are the ones that count.
	Source *ipynb.Notebook
	// Logger receives the engine's log; nil discards it.
	Logger *slog.Logger
}

// Result is a notebook's grade.
type Result struct {
	Score    float64 `json:"score"`
	MaxScore float64 `json:"max_score"`
	// Graded are the graded cells, in the notebook's order.
	Graded []Graded `json:"graded"`
	// Errors are the errors of the cells that are not graded: a student
	// version whose cells do not run is a broken assignment.
	Errors []CellError `json:"errors,omitempty"`
	// Notebook is the submission as it ran, with its outputs.
	Notebook *ipynb.Notebook `json:"-"`
}

// The statuses of a graded cell.
const (
	Passed  = "passed"  // ran without an error: full points
	Failed  = "failed"  // a check did not hold (CheckFailed)
	Errored = "error"   // another error: a panic, a compile error, a timeout
	Missing = "missing" // the teacher's graded cell is not in the submission
	Manual  = "manual"  // a written answer: a teacher grades it
)

// Graded is one graded cell's outcome.
type Graded struct {
	GradeID string `json:"grade_id"`
	// Title is the heading of the markdown cell above it ("Exercise 1 —
	// ..."), or "".
	Title    string     `json:"title,omitempty"`
	Cell     int        `json:"cell"` // its number in the notebook, from 1; 0 when missing
	Score    float64    `json:"score"`
	MaxScore float64    `json:"max_score"`
	Status   string     `json:"status"`
	Error    *CellError `json:"error,omitempty"`
}

// CellError is the error a cell ended with.
type CellError struct {
	Cell   int    `json:"cell"` // from 1
	Ename  string `json:"ename"`
	Evalue string `json:"evalue"`
}

// DefaultCellTimeout is how long a cell may run when Options do not say.
const DefaultCellTimeout = 5 * time.Minute

// Run grades nb, the submission, in a fresh engine started with
// opt.EngineCommand, which it stops before it returns. nb is not changed.
// The error is for a notebook that cannot be graded (bad nbgrader metadata,
// an engine that does not start, ctx done); a failing cell is part of the
// Result.
func Run(ctx context.Context, nb *ipynb.Notebook, opt Options) (*Result, error) {
	if len(opt.EngineCommand) == 0 {
		return nil, errors.New("grade: no engine command")
	}
	if opt.CellTimeout <= 0 {
		opt.CellTimeout = DefaultCellTimeout
	}
	if lang := nb.Language(); lang != "" && lang != "go" {
		return nil, fmt.Errorf("the notebook's kernel language is %q; atonce grades Go notebooks", lang)
	}
	nb, err := restore(nb, opt.Source)
	if err != nil {
		return nil, err
	}
	log := opt.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	sup, err := supervisor.New(supervisor.Options{Command: opt.EngineCommand, Env: engineEnv(), Logger: log})
	if err != nil {
		return nil, err
	}
	defer sup.Close()
	if err := sup.Start(ctx); err != nil {
		return nil, fmt.Errorf("starting a fresh engine: %w", err)
	}
	return grade(ctx, sup, nb, opt)
}

// engineEnv is the grading engine's environment: this process's, without
// a kernel's state directory (the engine is no kernel's).
func engineEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, statedir.Env+"=") {
			env = append(env, kv)
		}
	}
	return env
}

// restore returns the submission with the teacher's graded and locked
// cells put back, matched by grade_id; without a source, the submission
// as it is. Either way the nbgrader metadata must be sound.
func restore(nb, source *ipynb.Notebook) (*ipynb.Notebook, error) {
	if err := nb.CheckNbgrader(); err != nil {
		return nil, fmt.Errorf("the submission: %w", err)
	}
	nb = nb.Clone()
	if source == nil {
		return nb, nil
	}
	if err := source.CheckNbgrader(); err != nil {
		return nil, fmt.Errorf("the teacher's version: %w", err)
	}
	for _, c := range source.Cells {
		m, ok, _ := c.Nbgrader()
		if !ok || m.Solution || !(m.Grade || m.Locked) {
			continue
		}
		if i := nb.ByGradeID(m.GradeID); i >= 0 {
			nb.Cells[i] = c.Clone()
		}
	}
	return nb, nil
}

// grade runs nb's code cells in eng and scores its graded cells.
func grade(ctx context.Context, eng kernel.Engine, nb *ipynb.Notebook, opt Options) (*Result, error) {
	res := &Result{Notebook: nb}
	title := ""
	count := 0
	for i, c := range nb.Cells {
		m, graded, _ := c.Nbgrader()
		graded = graded && m.Grade
		if c.Type() == ipynb.Markdown {
			if h := heading(c.Source()); h != "" {
				title = h
			}
		}
		var g Graded
		if graded {
			g = Graded{GradeID: m.GradeID, Title: title, Cell: i + 1, MaxScore: m.PointsOf()}
		}
		if c.Type() != ipynb.Code {
			if graded {
				g.Status = Manual
				res.Graded = append(res.Graded, g)
			}
			continue
		}
		count++
		cerr, err := run(ctx, eng, c, count, opt.CellTimeout)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", nb.Name(i), err)
		}
		if cerr != nil {
			cerr.Cell = i + 1
		}
		switch {
		case !graded && cerr != nil:
			res.Errors = append(res.Errors, *cerr)
		case !graded:
		case cerr == nil:
			g.Status, g.Score = Passed, g.MaxScore
		case cerr.Ename == "CheckFailed":
			g.Status, g.Error = Failed, cerr
		default:
			g.Status, g.Error = Errored, cerr
		}
		if graded {
			res.Graded = append(res.Graded, g)
		}
	}
	if opt.Source != nil {
		res.Graded = fromSource(res.Graded, opt.Source)
	}
	for _, g := range res.Graded {
		if g.Status != Manual {
			res.Score += g.Score
			res.MaxScore += g.MaxScore
		}
	}
	return res, nil
}

// fromSource returns the teacher's graded cells, in the teacher's order,
// with what the submission's cells of the same grade_id scored; those the
// submission lacks score 0. Graded cells only the submission has do not
// count: the teacher's version says what is graded and for how much.
func fromSource(graded []Graded, source *ipynb.Notebook) []Graded {
	byID := map[string]Graded{}
	for _, g := range graded {
		byID[g.GradeID] = g
	}
	var out []Graded
	title := ""
	for _, c := range source.Cells {
		if c.Type() == ipynb.Markdown {
			if h := heading(c.Source()); h != "" {
				title = h
			}
		}
		m, ok, _ := c.Nbgrader()
		if !ok || !m.Grade {
			continue
		}
		g, ran := byID[m.GradeID]
		if !ran {
			g = Graded{GradeID: m.GradeID, Title: title, Status: Missing}
			if c.Type() != ipynb.Code {
				g.Status = Manual
			}
		}
		g.MaxScore = m.PointsOf()
		g.Score = min(g.Score, g.MaxScore)
		out = append(out, g)
	}
	return out
}

// heading is the text of the first Markdown heading in src, or "".
func heading(src string) string {
	for _, l := range strings.Split(src, "\n") {
		if t := strings.TrimSpace(l); strings.HasPrefix(t, "#") {
			return strings.TrimSpace(strings.TrimLeft(t, "#"))
		}
	}
	return ""
}

// run executes a code cell, records its outputs in it, and returns its
// error, if any. A cell that runs longer than timeout is interrupted and
// fails. The error result is for an engine that cannot run cells, or ctx
// done.
func run(ctx context.Context, eng kernel.Engine, c *ipynb.Cell, count int, timeout time.Duration) (*CellError, error) {
	out := &outputs{}
	// The watchdog interrupts the cell when its time is up; it is done
	// before run returns.
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		timer := time.NewTimer(timeout)
		defer timer.Stop()
		select {
		case <-timer.C:
			out.timedOut.Store(true)
			_ = eng.Interrupt()
		case <-done:
		}
	}()
	rep, err := eng.Request(ctx, enginemsg.Request{Kind: enginemsg.KindExecute, Code: c.Source()}, out)
	close(done)
	wg.Wait()
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if rep.Result != nil {
		out.result(rep.Result, rep.ResultMetadata, count)
	}
	var cerr *CellError
	switch {
	case out.timedOut.Load() && rep.Err != nil:
		cerr = &CellError{Ename: "Timeout", Evalue: fmt.Sprintf("the cell ran longer than %v and was interrupted", timeout)}
		out.error(cerr.Ename, cerr.Evalue, append([]string{cerr.Ename + ": " + cerr.Evalue}, rep.Err.Traceback...))
	case rep.Err != nil:
		cerr = &CellError{Ename: rep.Err.Name, Evalue: rep.Err.Value}
		out.error(rep.Err.Name, rep.Err.Value, rep.Err.Traceback)
	}
	c.SetOutputs(out.list(), count)
	return cerr, nil
}
