package notebooks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"atonce/install/installtest"
)

// Files and limits of TestLabTour.
const (
	labPageScript   = "testdata/lab_page.js"
	labBuildScript  = "testdata/lab/build.sh"
	labServerScript = "testdata/lab/lab_server.py"
	labScreenshot   = "testdata/lab-tour.png"
	labRunTimeout   = 8 * time.Minute // for every step of the run
)

// What TestLabTour types into the cells it adds after the tour's own.
const (
	labCompleteCode  = "fmt.Spr"                // then Tab: the completer lists Sprintf
	labCompleteWant  = "Sprintf"                //
	labInspectCode   = "fmt.Println"            // then Shift-Tab: the tooltip shows its documentation
	labInspectWant   = "func Println(a ...any)" // and the doc comment after it
	labLoopCode      = "for {\n}"               // run, then interrupted from the toolbar
	labAfterLoopCode = `fmt.Println("the cell after the interrupt ran")`
	labRestartCode   = `fmt.Println("the kernel restarted")`
)

// labSummary is what the JupyterLab run found in the page.
type labSummary struct {
	Notebook          string
	KernelName        string
	KernelDisplayName string
	LanguageInfo      labLanguageInfo
	Highlight         labHighlight
	allRan
	Completions  []string
	Tooltip      string
	Loop         labCellRun // the for {} cell, interrupted
	AfterLoop    labCellRun // the cell run after it
	Restart      labCellRun // the cell run after the restart
	Restarted    []string   // the kernel statuses seen around the restart
	Export       string     // the file the export downloaded
	ExportText   string
	FailedAtStep string // the step that could not be completed
	browsed
}

// labLanguageInfo is kernel_info's language_info as JupyterLab got it, the
// notebook's metadata.language_info and the code cells' editor MIME types.
type labLanguageInfo struct {
	Kernel    map[string]any `json:"kernel"`
	Metadata  map[string]any `json:"metadata"`
	MimeTypes []string       `json:"mimeTypes"`
}

// labHighlight is how the first code cell's editor colours its tokens.
type labHighlight struct {
	PlainColour string `json:"plainColour"`
	Tokens      []struct {
		Text        string `json:"text"`
		Kind        string `json:"kind"`
		Found       bool   `json:"found"`
		Colour      string `json:"colour"`
		ThemeColour string `json:"themeColour"`
	} `json:"tokens"`
}

// labHighlightTokens are tokens of the tour's first code cell and the kind
// of token JupyterLab's theme colours them as (--jp-mirror-editor-KIND-color).
var labHighlightTokens = []struct {
	Text string `json:"text"`
	Kind string `json:"kind"`
}{
	{"func", "keyword"},
	{"return", "keyword"},
	{`"hello from Go"`, "string"},
}

// labCellRun is one cell run by the test: its execution count, its reply's
// status and its outputs.
type labCellRun struct {
	Count   *int   `json:"count"`
	State   string `json:"state"`
	Reply   string `json:"-"`
	Outputs []struct {
		Type string `json:"type"`
		Name string `json:"name"`
		Text string `json:"text"`
	} `json:"outputs"`
}

func (r labCellRun) text() string {
	var b strings.Builder
	for _, o := range r.Outputs {
		fmt.Fprintf(&b, "[%s%s] %s\n", o.Type, map[bool]string{true: " " + o.Name}[o.Name != ""], o.Text)
	}
	return b.String()
}

// TestLabTour opens notebooks/00-tour.ipynb in JupyterLab 4 — built from
// npm's @jupyterlab packages by testdata/lab/build.sh and served by
// Debian's jupyter-server with jupyterlab-server (testdata/lab/lab_server.py)
// — in Debian's Chromium, headless, driven from Go through the DevTools
// protocol (chromedp). As a user would, with the mouse and the keyboard, it:
//
//   - checks that kernel_info's language_info reaches JupyterLab (codemirror
//     mode go, text/x-go) and that the editor highlights Go: keywords and
//     strings in the theme's colours for them;
//   - clears all outputs and runs all cells from the menus: every code cell
//     runs, the task-stream chart shows as an image, no cell shows an error;
//   - types fmt.Spr and Tab in a new cell: the completer lists Sprintf;
//   - types fmt.Println and Shift-Tab: the tooltip shows its documentation;
//   - runs for {} and stops it with the toolbar's interrupt button; the
//     next cell then runs;
//   - restarts the kernel from the toolbar: a cell then runs as the first
//     of the new kernel;
//   - exports the notebook as an executable script from the File menu: the
//     download is 00-tour.go, with the tour's Go code;
//
// and it saves a screenshot of the whole notebook.
//
// Environment: ATONCE_REQUIRE_BROWSER as for TestBrowserTour; and
//
//	ATONCE_BROWSER_SCREENSHOT when set, the screenshot is also copied to
//	                          notebooks/testdata/lab-tour.png
func TestLabTour(t *testing.T) {
	lab := startLab(t, defaultNotebook, "atonce-lab-*")
	downloads := t.TempDir()
	sum := runLab(t, lab.url, lab.keepDir, downloads, filepath.Join(lab.keepDir, "lab-tour.png"))
	reportLab(t, &sum)
	checkLab(t, &sum)
}

// labRun is a JupyterLab server started for one test (startLab).
type labRun struct {
	url     string // the notebook's page, with the token
	home    string // JupyterLab's page with no document open, with the token
	keepDir string // screenshots and logs, kept when the test fails
}

// startLab starts JupyterLab (testdata/lab's build, served by
// lab_server.py) on a copy of the notebooks and of nbPath, logging into a
// directory made from keepPattern (keepOnFailure), and returns the URL
// that opens nbPath in it. It skips the test with -short, and without
// what JupyterLab needs (labDeps).
func startLab(t *testing.T, nbPath, keepPattern string) labRun {
	t.Helper()
	if testing.Short() {
		t.Skip("starts JupyterLab and Chromium: skipped with -short")
	}
	buildDir := labDeps(t)
	env := installtest.KernelEnv(t)
	env = setEnv(env, "PATH", "/usr/bin:"+os.Getenv("PATH"))

	nbDir := t.TempDir()
	copyNotebooks(t, nbPath, nbDir)
	stateDir := t.TempDir()
	keepDir := keepOnFailure(t, keepPattern, "JupyterLab")
	server, err := filepath.Abs(labServerScript)
	if err != nil {
		t.Fatal(err)
	}
	srv := startServer(t, "JupyterLab", func(port int, token string) []string {
		return []string{installtest.ExecPython, server,
			"--build-dir=" + buildDir, "--state-dir=" + stateDir,
			"--ServerApp.ip=127.0.0.1", "--ServerApp.port=" + strconv.Itoa(port), "--ServerApp.port_retries=0",
			"--ServerApp.token=" + token, "--ServerApp.root_dir=" + nbDir,
			"--ServerApp.open_browser=False", "--ServerApp.allow_root=True",
		}
	}, nbDir, keepDir, env)
	return labRun{
		url:     fmt.Sprintf("%s/lab/tree/%s?token=%s", srv.base, url.PathEscape(filepath.Base(nbPath)), srv.token),
		home:    fmt.Sprintf("%s/lab?token=%s", srv.base, srv.token),
		keepDir: keepDir,
	}
}

// labDeps checks for Chromium, Debian's jupyter-server and
// jupyterlab-server, and the JupyterLab build, and returns the build's
// directory. What is missing skips the test, or fails it when
// ATONCE_REQUIRE_BROWSER is set.
func labDeps(t *testing.T) (buildDir string) {
	t.Helper()
	var missing []string
	if fi, err := os.Stat(chromiumPath); err != nil || fi.IsDir() {
		missing = append(missing, chromiumPath)
	}
	if out, err := exec.Command(installtest.ExecPython, "-c", "import jupyter_server, jupyterlab_server").CombinedOutput(); err != nil {
		missing = append(missing, fmt.Sprintf("Debian's python3-jupyter-server and python3-jupyterlab-server (%s)", strings.TrimSpace(string(out))))
	}
	out, err := exec.Command("bash", labBuildScript, "--print").Output()
	buildDir = strings.TrimSpace(string(out))
	if err != nil {
		var ee *exec.ExitError
		why := err.Error()
		if errors.As(err, &ee) {
			why = strings.TrimSpace(string(ee.Stderr))
		}
		missing = append(missing, "the JupyterLab build ("+why+")")
	}
	skipWithout(t, missing)
	return buildDir
}

// runLab starts Chromium, opens labURL and goes through the steps of
// TestLabTour, reporting what it found, and saves a screenshot of the whole
// notebook to shot (see browse). Downloads go to downloads.
func runLab(t *testing.T, labURL, logDir, downloads, shot string) (sum labSummary) {
	t.Helper()
	sum.Notebook = defaultNotebook
	sum.browsed = browse(t, logDir, labPageScript, shot, labRunTimeout, func(ctx context.Context, b *browserRun) error {
		return b.runLab(ctx, labURL, downloads, &sum)
	})
	return sum
}

// runLab goes through the steps one after the other; each waits for the
// state its action leads to before the next begins.
func (b *browserRun) runLab(ctx context.Context, labURL, downloads string, sum *labSummary) error {
	steps := []struct {
		name string
		do   func() error
	}{
		{"open", func() (err error) {
			sum.KernelName, sum.KernelDisplayName, err = b.labOpen(ctx, labURL, sum.Notebook)
			return err
		}},
		{"language", func() error { return b.labLanguage(ctx, sum) }},
		{"run all", func() error { return b.labRunAll(ctx, sum) }},
		{"complete", func() error { return b.labComplete(ctx, sum) }},
		{"inspect", func() error { return b.labInspect(ctx, sum) }},
		{"interrupt", func() error { return b.labInterrupt(ctx, sum) }},
		{"restart", func() error { return b.labRestart(ctx, sum) }},
		{"export", func() error { return b.labExport(ctx, downloads, sum) }},
	}
	for _, s := range steps {
		if err := s.do(); err != nil {
			sum.FailedAtStep = s.name
			return fmt.Errorf("%s: %w", s.name, err)
		}
	}
	return nil
}

// labOpen opens notebook (a path in JupyterLab's root) and waits for
// JupyterLab to show it with its kernel started and idle; it returns the
// kernel's name and display name. A labURL that names the notebook
// (labRun.url) opens it; at JupyterLab's page with nothing open
// (labRun.home) the notebook is opened as a user does, with a double click
// on it in the file browser.
func (b *browserRun) labOpen(ctx context.Context, labURL, notebook string) (name, displayName string, err error) {
	b.log("opening %s", strings.SplitN(labURL, "?", 2)[0])
	if err := chromedp.Do(ctx, chromedp.Navigate(labURL)); err != nil {
		return "", "", fmt.Errorf("opening JupyterLab: %w", err)
	}
	if err := b.eval(ctx, fmt.Sprintf("atonceProbe.open(%q)", notebook)); err != nil {
		return "", "", err
	}
	if !strings.Contains(labURL, "/lab/tree/") {
		at, err := waitFor[struct {
			probeState
			X float64 `json:"x"`
			Y float64 `json:"y"`
		}](ctx, b, "for "+notebook+" in the file browser", fmt.Sprintf("atonceProbe.target(%q, %q)", ".jp-DirListing-item .jp-DirListing-itemText", notebook))
		if err != nil {
			return "", "", err
		}
		if err := chromedp.Do(ctx, chromedp.MouseEvent(chromedp.MouseMoved, at.X, at.Y), chromedp.MouseClickXY(at.X, at.Y), chromedp.MouseClickXY(at.X, at.Y, chromedp.ClickCount(2))); err != nil {
			return "", "", fmt.Errorf("double-clicking %s in the file browser: %w", notebook, err)
		}
		b.log("double-clicked %s in the file browser", notebook)
	}
	ready, err := waitFor[struct {
		probeState
		KernelName        string `json:"kernelName"`
		KernelDisplayName string `json:"kernelDisplayName"`
	}](ctx, b, "for JupyterLab, the notebook and an idle kernel", "atonceProbe.ready()")
	if err != nil {
		return "", "", err
	}
	b.log("kernel idle: %s (%s)", ready.KernelDisplayName, ready.KernelName)
	return ready.KernelName, ready.KernelDisplayName, nil
}

// labLanguage reads the language_info JupyterLab got and how the first code
// cell's editor colours its tokens.
func (b *browserRun) labLanguage(ctx context.Context, sum *labSummary) error {
	info, err := chromedp.Run(ctx, chromedp.Evaluate[labLanguageInfo]("atonceProbe.languageInfo()", chromedp.EvalAwaitPromise))
	if err != nil {
		return fmt.Errorf("reading language_info: %w", err)
	}
	sum.LanguageInfo = info
	tokens, err := jsonArg(labHighlightTokens)
	if err != nil {
		return err
	}
	hl, err := waitFor[struct {
		probeState
		labHighlight
	}](ctx, b, "for the first code cell's editor", "atonceProbe.highlight("+tokens+")")
	if err != nil {
		return err
	}
	sum.Highlight = hl.labHighlight
	b.log("language_info: %v; editors: %v", info.Kernel, info.MimeTypes)
	for _, tok := range hl.Tokens {
		b.log("highlighted %s: %s (theme's %s colour %s; plain text %s)", tok.Text, tok.Colour, tok.Kind, tok.ThemeColour, hl.PlainColour)
	}
	return nil
}

// labRunAll clears all outputs (Edit menu) and runs all cells (Run menu),
// then reads what the page shows.
func (b *browserRun) labRunAll(ctx context.Context, sum *labSummary) error {
	if err := b.clickMenuItems(ctx, menuItem{".lm-MenuBar-item", "Edit"}, menuItem{`.lm-Menu-item[data-command="editmenu:clear-all"]`, ""}); err != nil {
		return err
	}
	if _, err := waitFor[probeState](ctx, b, "for the outputs to clear", "atonceProbe.cleared()"); err != nil {
		return err
	}
	if err := b.eval(ctx, "atonceProbe.recordReplies()"); err != nil {
		return err
	}
	if err := b.clickMenuItems(ctx, menuItem{".lm-MenuBar-item", "Run"}, menuItem{`.lm-Menu-item[data-command="runmenu:run-all"]`, ""}); err != nil {
		return err
	}
	b.log("clicked Run → Run All Cells")
	var err error
	sum.allRan, err = b.waitAllRan(ctx)
	return err
}

// labComplete types fmt.Spr in a new cell and presses Tab.
func (b *browserRun) labComplete(ctx context.Context, sum *labSummary) error {
	if _, err := b.newCell(ctx, labCompleteCode); err != nil {
		return err
	}
	if err := chromedp.Do(ctx, chromedp.KeyEvent(kb.Tab)); err != nil {
		return err
	}
	list, err := waitFor[struct {
		probeState
		Items []string `json:"items"`
	}](ctx, b, "for the completer's list", "atonceProbe.completer()")
	if err != nil {
		return err
	}
	sum.Completions = list.Items
	b.log("completions of %s: %v", labCompleteCode, list.Items)
	// Escape closes the list, a second one leaves the editor.
	return chromedp.Do(ctx, chromedp.KeyEvent(kb.Escape), chromedp.KeyEvent(kb.Escape))
}

// labInspect types fmt.Println in a new cell and presses Shift-Tab.
func (b *browserRun) labInspect(ctx context.Context, sum *labSummary) error {
	if _, err := b.newCell(ctx, labInspectCode); err != nil {
		return err
	}
	if err := chromedp.Do(ctx, chromedp.KeyEvent(kb.Tab, chromedp.KeyModifiers(chromedp.ModifierShift))); err != nil {
		return err
	}
	tip, err := waitFor[struct {
		probeState
		Text string `json:"text"`
	}](ctx, b, "for the tooltip", "atonceProbe.tooltip()")
	if err != nil {
		return err
	}
	sum.Tooltip = tip.Text
	b.log("tooltip of %s: %s", labInspectCode, truncate(strings.ReplaceAll(tip.Text, "\n", " | "), 200))
	return chromedp.Do(ctx, chromedp.KeyEvent(kb.Escape), chromedp.KeyEvent(kb.Escape))
}

// labInterrupt runs for {} in a new cell, clicks the toolbar's interrupt
// button once the cell runs, and then runs one more cell.
func (b *browserRun) labInterrupt(ctx context.Context, sum *labSummary) error {
	loop, err := b.newCell(ctx, labLoopCode)
	if err != nil {
		return err
	}
	if err := b.eval(ctx, "atonceProbe.recordReplies()"); err != nil {
		return err
	}
	if err := chromedp.Do(ctx, runCellKey); err != nil {
		return err
	}
	if _, err := waitFor[probeState](ctx, b, "for the for {} cell to run", fmt.Sprintf("atonceProbe.running(%d)", loop)); err != nil {
		return err
	}
	b.log("for {} runs; clicking the toolbar's interrupt button")
	if err := b.click(ctx, `.jp-NotebookPanel-toolbar [data-jp-item-name="interrupt"]`, ""); err != nil {
		return err
	}
	if sum.Loop, err = b.waitCellRun(ctx, loop); err != nil {
		return fmt.Errorf("after the interrupt: %w", err)
	}
	sum.Loop.Reply = b.lastReply(ctx)
	b.log("for {} ended: reply %s, count %v, outputs:\n%s", sum.Loop.Reply, deref(sum.Loop.Count), sum.Loop.text())

	if sum.AfterLoop, err = b.runNewCell(ctx, labAfterLoopCode); err != nil {
		return err
	}
	b.log("the next cell ran: count %v, outputs:\n%s", deref(sum.AfterLoop.Count), sum.AfterLoop.text())
	return nil
}

// labRestart clicks the toolbar's restart button, accepts JupyterLab's
// question, waits for the kernel to restart and runs a cell.
func (b *browserRun) labRestart(ctx context.Context, sum *labSummary) error {
	if err := b.eval(ctx, "atonceProbe.recordReplies()"); err != nil {
		return err
	}
	if err := b.click(ctx, `.jp-NotebookPanel-toolbar [data-jp-item-name="restart"]`, ""); err != nil {
		return err
	}
	if _, err := waitFor[probeState](ctx, b, "for the restart question", `atonceProbe.dialog("Restart")`); err != nil {
		return err
	}
	if err := b.click(ctx, ".jp-Dialog .jp-Dialog-button.jp-mod-accept", ""); err != nil {
		return err
	}
	restarted, err := waitFor[struct {
		probeState
		Statuses []string `json:"statuses"`
	}](ctx, b, "for the kernel to restart", "atonceProbe.restarted()")
	if err != nil {
		return err
	}
	sum.Restarted = restarted.Statuses
	b.log("kernel restarted: %v", restarted.Statuses)
	if _, err := waitFor[probeState](ctx, b, "for the dialog to close", "atonceProbe.noDialog()"); err != nil {
		return err
	}
	if sum.Restart, err = b.runNewCell(ctx, labRestartCode); err != nil {
		return err
	}
	b.log("a cell ran after the restart: count %v, outputs:\n%s", deref(sum.Restart.Count), sum.Restart.text())
	return nil
}

// labExport clicks File → Save and Export Notebook As → Executable Script
// and waits for the download in downloads.
func (b *browserRun) labExport(ctx context.Context, downloads string, sum *labSummary) error {
	if _, err := chromedp.CallBrowser(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
		Behavior:     browser.SetDownloadBehaviorBehaviorAllow,
		DownloadPath: downloads,
	}); err != nil {
		return fmt.Errorf("letting Chromium download: %w", err)
	}
	if err := b.clickMenuItems(ctx,
		menuItem{".lm-MenuBar-item", "File"},
		menuItem{`.lm-Menu-item[data-type="submenu"]`, "Save and Export Notebook As"},
		menuItem{`.lm-Menu-item[data-command="notebook:export-to-format"]`, "Executable Script"},
	); err != nil {
		return err
	}
	b.log("clicked File → Save and Export Notebook As → Executable Script")
	// The download is whole when its file has its own name (Chromium
	// writes to NAME.crdownload until then).
	var name string
	err := waitUntil(ctx, b, "for the download", func() (bool, string) {
		ents, _ := os.ReadDir(downloads)
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		done := len(names) == 1 && !strings.HasSuffix(names[0], ".crdownload")
		if done {
			name = names[0]
		}
		return done, fmt.Sprint(names)
	})
	if err != nil {
		return err
	}
	text, err := os.ReadFile(filepath.Join(downloads, name))
	if err != nil {
		return err
	}
	sum.Export, sum.ExportText = name, string(text)
	b.log("downloaded %s (%d bytes)", name, len(text))
	return nil
}

// newCell adds a code cell below the last one and types code into it, as
// a user does: a click on the last cell's prompt selects it, B adds a cell
// below, a click into the new cell's editor edits it. It returns the new
// cell's index.
func (b *browserRun) newCell(ctx context.Context, code string) (int, error) {
	if err := b.click(ctx, ".jp-Notebook .jp-Cell:last-child .jp-InputPrompt", ""); err != nil {
		return 0, err
	}
	before, err := chromedp.Run(ctx, chromedp.Evaluate[struct {
		Count int `json:"count"`
	}]("atonceProbe.active()"))
	if err != nil {
		return 0, err
	}
	index := before.Count
	if err := chromedp.Do(ctx, chromedp.KeyEvent(kb.Escape), chromedp.KeyEvent("b")); err != nil {
		return 0, err
	}
	if _, err := waitFor[probeState](ctx, b, "for a new cell", fmt.Sprintf(`(a => ({done: a.index === %d && a.count === %d, ...a}))(atonceProbe.active())`, index, index+1)); err != nil {
		return 0, err
	}
	// A click into its editor, not Enter: the Enter key's character would
	// reach the editor once Enter has focused it.
	if err := b.click(ctx, ".jp-Notebook .jp-Cell:last-child .jp-InputArea-editor", ""); err != nil {
		return 0, err
	}
	if _, err := waitFor[probeState](ctx, b, "for the new cell's editor", fmt.Sprintf(`atonceProbe.editing(%d, "")`, index)); err != nil {
		return 0, err
	}
	if _, err := chromedp.Call(ctx, input.InsertText, input.InsertTextParams{Text: code}); err != nil {
		return 0, err
	}
	want, err := jsonArg(code)
	if err != nil {
		return 0, err
	}
	if _, err := waitFor[probeState](ctx, b, "for the typed code", fmt.Sprintf("atonceProbe.editing(%d, %s)", index, want)); err != nil {
		return 0, err
	}
	return index, nil
}

// runCellKey is Ctrl-Enter, which runs the cell being edited.
var runCellKey = chromedp.KeyEvent(kb.Enter, chromedp.KeyModifiers(chromedp.ModifierCtrl))

// runNewCell adds a cell with code (newCell), runs it with Ctrl-Enter and
// waits for it to have run.
func (b *browserRun) runNewCell(ctx context.Context, code string) (labCellRun, error) {
	index, err := b.newCell(ctx, code)
	if err != nil {
		return labCellRun{}, err
	}
	if err := chromedp.Do(ctx, runCellKey); err != nil {
		return labCellRun{}, err
	}
	return b.waitCellRun(ctx, index)
}

// waitCellRun waits for the cell at index, which had no execution count,
// to have run, and the kernel to be idle.
func (b *browserRun) waitCellRun(ctx context.Context, index int) (labCellRun, error) {
	r, err := waitFor[struct {
		probeState
		labCellRun
	}](ctx, b, fmt.Sprintf("for cell %d to run", index), fmt.Sprintf("atonceProbe.cellRun(%d, null)", index))
	return r.labCellRun, err
}

// lastReply is the status of the only execute reply recorded since
// recordReplies, or what was recorded.
func (b *browserRun) lastReply(ctx context.Context) string {
	counts, err := chromedp.Run(ctx, chromedp.Evaluate[map[string]int]("atonceProbe.replies()"))
	if err != nil {
		return err.Error()
	}
	if len(counts) == 1 {
		for s, n := range counts {
			if n == 1 {
				return s
			}
		}
	}
	return fmt.Sprint(counts)
}

// menuItem is an element to click: the first that sel matches and, unless
// text is "", whose text is text.
type menuItem struct{ sel, text string }

// clickMenuItems clicks menu items one after the other like a user: the
// mouse moves onto each (so a submenu opens) and clicks it.
func (b *browserRun) clickMenuItems(ctx context.Context, items ...menuItem) error {
	for _, it := range items {
		if err := b.click(ctx, it.sel, it.text); err != nil {
			return err
		}
	}
	return nil
}

// click waits for the element (see menuItem) to show and clicks its centre.
func (b *browserRun) click(ctx context.Context, sel, text string) error {
	expr := fmt.Sprintf("atonceProbe.target(%q)", sel)
	what := sel
	if text != "" {
		expr = fmt.Sprintf("atonceProbe.target(%q, %q)", sel, text)
		what = fmt.Sprintf("%s %q", sel, text)
	}
	return b.clickAt(ctx, expr, what)
}

// clickAt clicks where the probe call expr (a wait answering x and y)
// says, once it is done: the mouse moves there and clicks.
func (b *browserRun) clickAt(ctx context.Context, expr, what string) error {
	at, err := waitFor[struct {
		probeState
		X float64 `json:"x"`
		Y float64 `json:"y"`
	}](ctx, b, "for "+what+" to show", expr)
	if err != nil {
		return err
	}
	if err := chromedp.Do(ctx, chromedp.MouseEvent(chromedp.MouseMoved, at.X, at.Y), chromedp.MouseClickXY(at.X, at.Y)); err != nil {
		return fmt.Errorf("clicking %s: %w", what, err)
	}
	b.log("clicked %s at (%.0f, %.0f)", what, at.X, at.Y)
	return nil
}

// eval evaluates a probe call whose answer does not matter.
func (b *browserRun) eval(ctx context.Context, expr string) error {
	if err := chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](expr)); err != nil {
		return fmt.Errorf("%s: %w", expr, err)
	}
	return nil
}

// waitUntil calls check every 250 ms until it reports done or ctx ends;
// every 15 s it logs what check reports.
func waitUntil(ctx context.Context, b *browserRun, what string, check func() (bool, string)) error {
	start, lastLog := time.Now(), time.Now()
	for {
		done, state := check()
		if done {
			return nil
		}
		if time.Since(lastLog) > 15*time.Second {
			lastLog = time.Now()
			b.log("waiting %s: %s", what, state)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("timed out after %v waiting %s; last state: %s", time.Since(start).Round(time.Second), what, state)
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// reportLab logs what the run found.
func reportLab(t *testing.T, sum *labSummary) {
	t.Helper()
	t.Logf("%s in JupyterLab with kernel %q (%s): %d code cells, %d ran, %d empty; %d images, %d task-stream charts, %d errors; %.1fs in the browser",
		sum.Notebook, sum.KernelDisplayName, sum.KernelName, sum.CodeCells, sum.Ran, sum.EmptyCells, sum.Images, len(sum.Charts), len(sum.Errors), sum.Seconds)
	sum.allRan.report(t)
	sum.browsed.report(t, labScreenshot)
}

// checkLab fails the test for what the run found wrong.
func checkLab(t *testing.T, sum *labSummary) {
	t.Helper()
	if sum.Failure != "" {
		// The steps before the one that failed are still checked below.
		t.Errorf("the JupyterLab run failed at step %q: %s", sum.FailedAtStep, sum.Failure)
	}
	reached := func(step string) bool {
		order := []string{"open", "language", "run all", "complete", "inspect", "interrupt", "restart", "export"}
		return sum.FailedAtStep == "" || slices.Index(order, step) < slices.Index(order, sum.FailedAtStep)
	}
	if !reached("open") {
		return
	}
	if sum.KernelName != "atonce" {
		t.Errorf("the notebook ran on kernel %q (%s), want atonce", sum.KernelName, sum.KernelDisplayName)
	}
	if reached("language") {
		checkLabLanguage(t, sum)
	}
	if reached("run all") {
		sum.allRan.check(t)
	}
	if reached("complete") && !slices.Contains(sum.Completions, labCompleteWant) {
		t.Errorf("%s + Tab listed %v, want %s among them", labCompleteCode, sum.Completions, labCompleteWant)
	}
	if reached("inspect") && (!strings.Contains(sum.Tooltip, labInspectWant) || !strings.Contains(sum.Tooltip, "Println formats")) {
		t.Errorf("%s + Shift-Tab showed %q, want its documentation (%s, then its doc comment: Println formats ...)", labInspectCode, sum.Tooltip, labInspectWant)
	}
	if reached("interrupt") {
		if sum.Loop.Reply != "error" {
			t.Errorf("the interrupted for {} cell's execute reply is %q, want error; outputs:\n%s", sum.Loop.Reply, sum.Loop.text())
		}
		if !strings.Contains(sum.AfterLoop.text(), "the cell after the interrupt ran") {
			t.Errorf("the cell after the interrupted one shows:\n%s\nwant its line printed", sum.AfterLoop.text())
		}
	}
	if reached("restart") {
		if sum.Restart.Count == nil || *sum.Restart.Count != 1 {
			t.Errorf("the first cell run after the restart has execution count %v, want 1 (a new kernel)", deref(sum.Restart.Count))
		}
		if !strings.Contains(sum.Restart.text(), "the kernel restarted") {
			t.Errorf("the cell run after the restart shows:\n%s\nwant its line printed", sum.Restart.text())
		}
	}
	if reached("export") {
		if sum.Export != "00-tour.go" {
			t.Errorf("the export as an executable script downloaded %q, want 00-tour.go (language_info.file_extension)", sum.Export)
		}
		if !strings.Contains(sum.ExportText, "func fib(n int) int {") {
			t.Errorf("the exported script does not hold the tour's Go code; it starts:\n%s", truncate(sum.ExportText, 600))
		}
	}
	if sum.Screenshot != "" {
		checkScreenshot(t, sum.Screenshot)
	}
}

// checkLabLanguage checks that kernel_info's language_info gives JupyterLab
// Go: the codemirror mode and MIME type reach the notebook and its editors,
// and the editor colours Go's keywords and strings as the theme says.
func checkLabLanguage(t *testing.T, sum *labSummary) {
	t.Helper()
	li := sum.LanguageInfo
	for _, tt := range []struct{ key, want string }{
		{"name", "go"},
		{"codemirror_mode", "go"},
		{"mimetype", "text/x-go"},
		{"file_extension", ".go"},
	} {
		if got := fmt.Sprint(li.Kernel[tt.key]); got != tt.want {
			t.Errorf("kernel_info language_info.%s = %q, want %q", tt.key, got, tt.want)
		}
		if tt.key != "codemirror_mode" {
			if got := fmt.Sprint(li.Metadata[tt.key]); got != tt.want {
				t.Errorf("the notebook's metadata.language_info.%s = %q in JupyterLab, want %q", tt.key, got, tt.want)
			}
		}
	}
	if !slices.Equal(li.MimeTypes, []string{"text/x-go"}) {
		t.Errorf("the code cells' editors have MIME types %v, want [text/x-go]", li.MimeTypes)
	}
	hl := sum.Highlight
	if len(hl.Tokens) != len(labHighlightTokens) {
		t.Errorf("highlighting: got %d tokens, want %d", len(hl.Tokens), len(labHighlightTokens))
		return
	}
	for _, tok := range hl.Tokens {
		switch {
		case !tok.Found:
			t.Errorf("highlighting: %s is not a token of its own in the editor (not highlighted as Go)", tok.Text)
		case tok.Colour != tok.ThemeColour:
			t.Errorf("highlighting: %s is %s, want %s (the theme's %s colour)", tok.Text, tok.Colour, tok.ThemeColour, tok.Kind)
		case tok.Colour == hl.PlainColour:
			t.Errorf("highlighting: %s has the plain text's colour %s", tok.Text, tok.Colour)
		}
	}
}

// jsonArg is v as a JavaScript literal, for a probe call's argument.
func jsonArg(v any) (string, error) {
	b, err := json.Marshal(v)
	return string(b), err
}

func deref(p *int) any {
	if p == nil {
		return nil
	}
	return *p
}
