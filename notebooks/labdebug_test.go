package notebooks

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// What TestLabDebugger opens and where it stops.
const (
	labDebugNotebook   = "testdata/lab-debugger.ipynb"
	labDebugScreenshot = "testdata/lab-debugger.png" // the copy ATONCE_BROWSER_SCREENSHOT asks for
	labDebugTimeout    = 4 * time.Minute             // for every step of the run
	labDebugCell       = 1                           // the notebook's code cell (after a markdown cell)
	labDebugLine       = 2                           // a := w * h, in area
	labDebugNextLine   = 3                           // return a
	labDebugOutput     = "area 42"                   // what the cell prints
)

// labDebugView is what the debugger shows (lab_page.js's debugView).
type labDebugView struct {
	Marked      []int `json:"marked"`  // lines the cell's gutter marks with a breakpoint
	Current     []int `json:"current"` // lines the cell's editor highlights as the current line
	Breakpoints []struct {
		Source string `json:"source"`
		Line   string `json:"line"`
	} `json:"breakpoints"` // the Breakpoints panel
	Frames []struct {
		Name     string `json:"name"`
		Location string `json:"location"`
		Selected bool   `json:"selected"`
	} `json:"frames"` // the Callstack panel, innermost first
	Variables []labVariable `json:"variables"` // the Variables panel's tree
	Scopes    []string      `json:"scopes"`    // its scope switcher's choices
	State     string        `json:"state"`     // the cell's execution state
}

// labVariable is a variable as the Variables panel's tree shows it: its
// name and the detail after it.
type labVariable struct {
	Name   string `json:"name"`
	Detail string `json:"detail"`
}

func (v labDebugView) variable(name string) (string, bool) {
	for _, x := range v.Variables {
		if x.Name == name {
			return x.Detail, true
		}
	}
	return "", false
}

func (v labDebugView) String() string {
	var frames, vars []string
	for _, f := range v.Frames {
		frames = append(frames, fmt.Sprintf("%s at %s%s", f.Name, f.Location, map[bool]string{true: " (selected)"}[f.Selected]))
	}
	for _, x := range v.Variables {
		vars = append(vars, x.Name+" "+x.Detail)
	}
	return fmt.Sprintf("current line %v, breakpoints marked %v, listed %v; frames [%s]; variables [%s] (scopes %v); cell %s",
		v.Current, v.Marked, v.Breakpoints, strings.Join(frames, "; "), strings.Join(vars, ", "), v.Scopes, v.State)
}

// labDebugSummary is what the debugging run found in the page.
type labDebugSummary struct {
	KernelName   string
	Breakpoint   labDebugView // after the click in the gutter
	Stopped      labDebugView // at the breakpoint
	Stepped      labDebugView // after Next
	Resumed      labDebugView // after Continue
	Run          labCellRun   // the cell, once it finished
	StoppedShot  string       // the screenshot of the stopped state
	FailedAtStep string
	browsed
}

// TestLabDebugger debugs a Go cell in JupyterLab 4 (as TestLabTour runs
// it, in headless Chromium), as a user does with the mouse: it opens
// testdata/lab-debugger.ipynb from the file browser (JupyterLab's
// debugger misses a notebook the page's URL opens while it activates),
// whose code cell defines area(w, h) and prints area(6, 7), and
//
//   - clicks into the notebook, then the toolbar's bug button: the
//     debugger starts, its sidebar opens and the cell's editor gets a
//     breakpoint gutter (a click JupyterLab lets go while it still sets
//     the notebook up is seen as such, and clicked again);
//   - clicks the gutter at line 2 (a := w * h): the gutter marks the line
//     and the Breakpoints panel lists it as Cell [ ], line 2, once the
//     kernel has answered;
//   - runs the cell (a click on its prompt, Ctrl-Enter): the editor
//     highlights line 2, the Callstack panel shows area's frame at
//     Cell [*]:2, the Variables panel shows w 6 and h 7 among the Locals
//     (its scopes: Locals, Globals), and a screenshot of this is kept;
//   - clicks Next in the Callstack panel's toolbar: the highlight moves
//     to line 3 and the Variables panel shows a 42;
//   - clicks Continue: the cell ends, its execute reply is ok, it prints
//     area 42, and the debugger shows nothing stopped.
//
// Environment: as TestLabTour; ATONCE_BROWSER_SCREENSHOT copies the
// stopped state's screenshot to notebooks/testdata/lab-debugger.png.
func TestLabDebugger(t *testing.T) {
	lab := startLab(t, labDebugNotebook, "atonce-labdebug-*")
	var sum labDebugSummary
	sum.StoppedShot = filepath.Join(lab.keepDir, "lab-debugger-stopped.png")
	sum.browsed = browse(t, lab.keepDir, labPageScript, filepath.Join(lab.keepDir, "lab-debugger-end.png"), labDebugTimeout,
		func(ctx context.Context, b *browserRun) error {
			return b.runLabDebug(ctx, lab.home, &sum)
		})
	for _, s := range []struct {
		name string
		v    labDebugView
	}{{"breakpoint set", sum.Breakpoint}, {"stopped", sum.Stopped}, {"stepped", sum.Stepped}, {"resumed", sum.Resumed}} {
		t.Logf("%s: %s", s.name, s.v)
	}
	sum.browsed.report(t, "")
	if sum.FailedAtStep == "" || sum.FailedAtStep == "next" || sum.FailedAtStep == "continue" {
		t.Logf("screenshot of the stopped state: %s", sum.StoppedShot)
		checkScreenshot(t, sum.StoppedShot)
		copyScreenshot(t, sum.StoppedShot, labDebugScreenshot)
	}
	checkLabDebug(t, &sum)
}

// runLabDebug goes through TestLabDebugger's steps one after the other;
// each waits for the state its action leads to before the next begins.
func (b *browserRun) runLabDebug(ctx context.Context, labURL string, sum *labDebugSummary) error {
	notebook := filepath.Base(labDebugNotebook)
	view := func(what, expr string) (labDebugView, error) {
		v, err := waitFor[struct {
			probeState
			labDebugView
		}](ctx, b, what, expr)
		return v.labDebugView, err
	}
	steps := []struct {
		name string
		do   func() error
	}{
		{"open", func() (err error) {
			if sum.KernelName, _, err = b.labOpen(ctx, labURL, notebook); err != nil {
				return err
			}
			return b.eval(ctx, "atonceProbe.watchDebug()")
		}},
		{"debugger on", func() error {
			// A click in the notebook first, as a user's: the bug button
			// acts on the current notebook only.
			if err := b.click(ctx, ".jp-Notebook .jp-CodeCell .jp-InputPrompt", ""); err != nil {
				return err
			}
			for attempt := 1; ; attempt++ {
				if _, err := waitFor[probeState](ctx, b, "for the bug button to be enabled, the notebook current", fmt.Sprintf("atonceProbe.debuggerOn(%d, true)", labDebugCell)); err != nil {
					return err
				}
				if err := b.eval(ctx, "atonceProbe.markClick()"); err != nil {
					return err
				}
				if err := b.click(ctx, ".jp-NotebookPanel-toolbar .jp-DebuggerBugButton", ""); err != nil {
					return err
				}
				on, err := waitFor[struct {
					probeState
					Dropped  bool     `json:"dropped"`
					Messages []string `json:"messages"`
				}](ctx, b, "for the debugger to start", fmt.Sprintf("atonceProbe.debuggerOn(%d, false)", labDebugCell))
				if err != nil {
					return err
				}
				if !on.Dropped {
					b.log("clicked the bug button: the debugger sidebar is open")
					return nil
				}
				// JupyterLab's own race (lab_page.js's debuggerOn): a
				// user clicks again, and so does the test, a few times.
				b.log("JupyterLab let the click on the bug button go (its debugger handler was still updating the notebook); debug messages:\n%s", strings.Join(on.Messages, "\n"))
				if attempt == 3 {
					return errors.New("JupyterLab let three clicks on the bug button go")
				}
			}
		}},
		{"breakpoint", func() (err error) {
			if err := b.clickAt(ctx, fmt.Sprintf("atonceProbe.gutterAt(%d, %d)", labDebugCell, labDebugLine), fmt.Sprintf("the gutter at line %d", labDebugLine)); err != nil {
				return err
			}
			sum.Breakpoint, err = view("for the breakpoint", fmt.Sprintf("atonceProbe.breakpointSet(%d, %d)", labDebugCell, labDebugLine))
			return err
		}},
		{"run", func() (err error) {
			if err := b.eval(ctx, "atonceProbe.recordReplies()"); err != nil {
				return err
			}
			if err := b.click(ctx, ".jp-Notebook .jp-CodeCell .jp-InputPrompt", ""); err != nil {
				return err
			}
			if err := chromedp.Do(ctx, runCellKey); err != nil {
				return err
			}
			b.log("ran the cell")
			sum.Stopped, err = view("for the cell to stop at the breakpoint", fmt.Sprintf("atonceProbe.debugStopped(%d, 0, null)", labDebugCell))
			if err != nil {
				return err
			}
			return b.screenshot(ctx, sum.StoppedShot)
		}},
		{"next", func() (err error) {
			if err := b.click(ctx, `.jp-DebuggerSidebar [data-jp-item-name="step-over"]`, ""); err != nil {
				return err
			}
			before, err := jsonArg(sum.Stopped.Variables)
			if err != nil {
				return err
			}
			sum.Stepped, err = view("for the step to stop", fmt.Sprintf("atonceProbe.debugStopped(%d, %d, %s)", labDebugCell, firstOr(sum.Stopped.Current, 0), before))
			return err
		}},
		{"continue", func() (err error) {
			if err := b.click(ctx, `.jp-DebuggerSidebar [data-jp-item-name="continue"]`, ""); err != nil {
				return err
			}
			sum.Resumed, err = view("for the cell to finish", fmt.Sprintf("atonceProbe.debugResumed(%d)", labDebugCell))
			if err != nil {
				return err
			}
			sum.Run, err = b.waitCellRun(ctx, labDebugCell)
			sum.Run.Reply = b.lastReply(ctx)
			return err
		}},
	}
	for _, s := range steps {
		if err := s.do(); err != nil {
			sum.FailedAtStep = s.name
			return fmt.Errorf("%s: %w", s.name, err)
		}
	}
	return nil
}

// checkLabDebug fails the test for what the debugging run showed wrong.
func checkLabDebug(t *testing.T, sum *labDebugSummary) {
	t.Helper()
	if sum.Failure != "" {
		t.Errorf("the debugging run failed at step %q: %s", sum.FailedAtStep, sum.Failure)
	}
	order := []string{"open", "debugger on", "breakpoint", "run", "next", "continue"}
	reached := func(step string) bool {
		return sum.FailedAtStep == "" || slices.Index(order, step) < slices.Index(order, sum.FailedAtStep)
	}
	if reached("open") && sum.KernelName != "atonce" {
		t.Errorf("the notebook ran on kernel %q, want atonce", sum.KernelName)
	}
	if reached("breakpoint") {
		bp := sum.Breakpoint
		if !slices.Equal(bp.Marked, []int{labDebugLine}) {
			t.Errorf("after the click in the gutter, the gutter marks lines %v, want [%d]", bp.Marked, labDebugLine)
		}
		// JupyterLab names the cell as it names ipykernel's cells
		// (internal/cellpath's DirMarker), not by its file's path.
		if len(bp.Breakpoints) != 1 || bp.Breakpoints[0].Source != "Cell [ ]" || bp.Breakpoints[0].Line != strconv.Itoa(labDebugLine) {
			t.Errorf("the Breakpoints panel lists %+v, want one breakpoint: Cell [ ], line %d", bp.Breakpoints, labDebugLine)
		}
	}
	if reached("run") {
		st := sum.Stopped
		if !slices.Equal(st.Current, []int{labDebugLine}) {
			t.Errorf("stopped at the breakpoint, the editor highlights lines %v, want [%d]", st.Current, labDebugLine)
		}
		// yaegi lists no frame for the cell's top-level code while a
		// function called from it runs (interp/README.md): area's frame,
		// in the running cell, is the stack.
		if want := fmt.Sprintf("Cell [*]:%d", labDebugLine); len(st.Frames) == 0 || st.Frames[0].Name != "area" || !st.Frames[0].Selected || st.Frames[0].Location != want {
			t.Errorf("stopped at the breakpoint, the Callstack panel shows %+v, want area's frame first, selected, at %s", st.Frames, want)
		}
		for name, want := range map[string]string{"w": "6", "h": "7"} {
			if got, ok := st.variable(name); !ok || got != want {
				t.Errorf("stopped at the breakpoint, the Variables panel shows %s as %q (listed: %v), want %s; it shows %v", name, got, ok, want, st.Variables)
			}
		}
		if !slices.Contains(st.Scopes, "Locals") || !slices.Contains(st.Scopes, "Globals") {
			t.Errorf("the Variables panel offers scopes %v, want Locals and Globals", st.Scopes)
		}
		if st.State != "running" {
			t.Errorf("stopped at the breakpoint, the cell's execution state is %q, want running", st.State)
		}
	}
	if reached("next") {
		sp := sum.Stepped
		if !slices.Equal(sp.Current, []int{labDebugNextLine}) {
			t.Errorf("after Next, the editor highlights lines %v, want [%d]", sp.Current, labDebugNextLine)
		}
		if want := fmt.Sprintf("Cell [*]:%d", labDebugNextLine); len(sp.Frames) == 0 || sp.Frames[0].Location != want {
			t.Errorf("after Next, the Callstack panel shows %+v, want area's frame at %s", sp.Frames, want)
		}
		if got, ok := sp.variable("a"); !ok || got != "42" {
			t.Errorf("after Next, the Variables panel shows a as %q (listed: %v), want 42; it shows %v", got, ok, sp.Variables)
		}
	}
	if sum.FailedAtStep == "" {
		if sum.Run.Reply != "ok" {
			t.Errorf("the debugged cell's execute reply is %q, want ok; outputs:\n%s", sum.Run.Reply, sum.Run.text())
		}
		if !strings.Contains(sum.Run.text(), labDebugOutput) {
			t.Errorf("the debugged cell shows:\n%s\nwant %q printed", sum.Run.text(), labDebugOutput)
		}
	}
}

// firstOr is s's first element, or or when s is empty.
func firstOr(s []int, or int) int {
	if len(s) == 0 {
		return or
	}
	return s[0]
}
