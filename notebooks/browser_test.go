package notebooks

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"image/png"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"atonce/install/installtest"
)

// Files and limits of TestBrowserTour.
const (
	chromiumPath      = "/usr/bin/chromium"
	defaultNotebook   = "00-tour.ipynb"
	pageScript        = "testdata/notebook_page.js"
	repoScreenshot    = "testdata/browser-tour.png"
	browserRunTimeout = 5 * time.Minute // for running all cells
	windowWidth       = 1280
	windowHeight      = 900
	maxShotHeight     = 16000 // Chromium's largest texture is 16384 pixels
)

// chromiumFlags are the flags Debian's Chromium runs with here: headless
// and as root (so without its sandbox), with nothing that reaches the
// network on its own. chromedp adds its DevTools pipe and a fresh
// --user-data-dir of its own, which it removes afterwards.
var chromiumFlags = []string{
	"headless",
	"no-sandbox",
	"disable-gpu",
	"disable-quic",
	"no-first-run",
	"disable-background-networking",
	"disable-component-update",
	"disable-sync",
}

// browserSummary is what the browser run found in the page.
type browserSummary struct {
	Notebook   string
	Kernel     string // the kernel's display name in the page
	KernelName string // the kernelspec's name
	RunAll     string // how all cells were run ("menu")
	// ChartChanges are the changes of chart outputs the page showed, in
	// order (notebook_page.js's watchCharts).
	ChartChanges []chartShown
	allRan
	browsed
}

// browsed is what a browser run (browse) leaves besides what it found:
// how it ended, the screenshot, what the page did on its own.
type browsed struct {
	PageErrors []string
	Dialogs    []string
	Screenshot string
	Seconds    float64
	Failure    string // why the run itself could not be completed
}

// allRan is what running all cells of a notebook did: the probes'
// finished() and shown().
type allRan struct {
	CodeCells  int
	Ran        int
	NotRun     []int
	EmptyCells int
	Replies    map[string]int // execute replies by status
	pageShown
}

// pageShown is what the probes' shown() reports (notebook_page.js,
// lab_page.js).
type pageShown struct {
	Images int `json:"images"`
	Charts []struct {
		Cell    int    `json:"cell"`
		Output  int    `json:"output"`
		Kind    string `json:"kind"`
		Width   int    `json:"width"`
		Height  int    `json:"height"`
		Texts   int    `json:"texts"`
		Summary string `json:"summary"`
	} `json:"charts"`
	Errors []struct {
		Cell int    `json:"cell"`
		Kind string `json:"kind"`
		Text string `json:"text"`
	} `json:"errors"`
	Stderr []struct {
		Cell int    `json:"cell"`
		Text string `json:"text"`
	} `json:"stderr"`
}

// TestBrowserTour opens a notebook in Debian's Jupyter Notebook with
// Debian's Chromium, headless, driven from Go through the DevTools
// protocol (chromedp; install/setup-deps.sh --test installs Jupyter
// Notebook and Chromium). It runs all cells from the Cell menu as a user
// would and checks the page: every code cell ran, the task-stream chart is
// drawn (and a run's charts showed while it went, then changed in place),
// no cell shows an error; and it saves a screenshot of the whole
// notebook.
//
// Environment:
//
//	ATONCE_REQUIRE_BROWSER    when set, missing Chromium or Jupyter
//	                          Notebook fails the test instead of skipping
//	                          it (`make test` sets it)
//	ATONCE_BROWSER_NOTEBOOK   the notebook to open, relative to notebooks/
//	                          or absolute (default 00-tour.ipynb)
//	ATONCE_BROWSER_SCREENSHOT when set, the screenshot is also copied to
//	                          notebooks/testdata/browser-tour.png
func TestBrowserTour(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Jupyter Notebook and Chromium: skipped with -short")
	}
	nbPath := os.Getenv("ATONCE_BROWSER_NOTEBOOK")
	if nbPath == "" {
		nbPath = defaultNotebook
	}
	if _, err := os.Stat(nbPath); err != nil {
		t.Fatalf("the browser test opens %s, which is missing (%v); set ATONCE_BROWSER_NOTEBOOK to another notebook to try it", nbPath, err)
	}
	notebookCmd := browserDeps(t)
	env := installtest.KernelEnv(t)
	env = setEnv(env, "PATH", "/usr/bin:"+os.Getenv("PATH"))

	// Jupyter serves a copy of the notebooks, so autosave and the run's
	// outputs never touch the repository.
	nbDir := t.TempDir()
	copyNotebooks(t, nbPath, nbDir)

	keepDir := keepOnFailure(t, "atonce-browser-*", "Jupyter")
	shot := filepath.Join(keepDir, "browser-tour.png")

	srv := startNotebookServer(t, notebookCmd, nbDir, keepDir, env)

	nbURL := fmt.Sprintf("%s/notebooks/%s?token=%s", srv.base, url.PathEscape(filepath.Base(nbPath)), srv.token)
	sum := runBrowser(t, nbURL, keepDir, shot)

	t.Logf("%s with kernel %q (%s): %d code cells, %d ran, %d empty; %d images, %d task-stream charts, %d errors; run all via %s; %.1fs in the browser",
		sum.Notebook, sum.Kernel, sum.KernelName, sum.CodeCells, sum.Ran, sum.EmptyCells, sum.Images, len(sum.Charts), len(sum.Errors), sum.RunAll, sum.Seconds)
	sum.allRan.report(t)
	sum.browsed.report(t, repoScreenshot)

	if sum.Failure != "" {
		t.Fatalf("the browser run failed: %s", sum.Failure)
	}
	if sum.KernelName != "atonce" {
		t.Errorf("the notebook ran on kernel %q (%s), want atonce", sum.KernelName, sum.Kernel)
	}
	sum.allRan.check(t)
	// A %%models run's charts show while it goes and change in place.
	live := liveCharts(sum.ChartChanges)
	for _, l := range live {
		t.Logf("chart drawn while its run went: %s", l)
	}
	if len(sum.Charts) > 0 && len(live) == 0 {
		t.Errorf("no chart was shown while its cell ran and changed after (%d chart changes seen): want a %%%%models run's charts drawn as drafts while it goes, then finished in place", len(sum.ChartChanges))
	}
	checkScreenshot(t, sum.Screenshot)
}

// report logs the charts and the stderr the page shows.
func (r allRan) report(t *testing.T) {
	t.Helper()
	for _, c := range r.Charts {
		texts := ""
		if c.Kind == "svg" {
			texts = fmt.Sprintf(", %d text elements", c.Texts)
		}
		t.Logf("task-stream chart: cell %d output %d, %s %dx%d%s: %s", c.Cell, c.Output, c.Kind, c.Width, c.Height, texts, c.Summary)
	}
	for _, s := range r.Stderr {
		t.Logf("cell %d stderr: %s", s.Cell, s.Text)
	}
}

// check fails the test unless every non-empty code cell ran and was
// answered ok, a task-stream chart shows as an image and no cell shows an
// error.
func (r allRan) check(t *testing.T) {
	t.Helper()
	if r.Ran == 0 || len(r.NotRun) > 0 || r.Ran != r.CodeCells-r.EmptyCells || r.Replies["ok"] != r.Ran {
		t.Errorf("%d of %d non-empty code cells ran (execute replies: %v); cells that did not run (index among all cells): %v", r.Ran, r.CodeCells-r.EmptyCells, r.Replies, r.NotRun)
	}
	if len(r.Charts) == 0 {
		t.Errorf("no task-stream chart is shown as an image (%d images in all): want an output whose text/plain starts with \"Task stream:\" shown as an image", r.Images)
	}
	for _, e := range r.Errors {
		t.Errorf("cell %d shows an error (%s):\n%s", e.Cell, e.Kind, e.Text)
	}
}

// report logs what the page did on its own and where the screenshot is,
// and copies it to repoCopy (see copyScreenshot) unless repoCopy is "".
// Messages that came many times are
// logged once, with their count: JupyterLab's debugger sidebar throws the
// same error at every execute reply of a kernel without a debugger.
func (r browsed) report(t *testing.T, repoCopy string) {
	t.Helper()
	for _, e := range countSame(r.PageErrors) {
		t.Logf("JavaScript error in the page: %s", e)
	}
	for _, d := range countSame(r.Dialogs) {
		t.Logf("browser dialog dismissed: %s", d)
	}
	if r.Screenshot == "" {
		return
	}
	t.Logf("screenshot: %s", r.Screenshot)
	if repoCopy != "" {
		copyScreenshot(t, r.Screenshot, repoCopy)
	}
}

// copyScreenshot copies the screenshot at path to repoCopy (relative to
// notebooks/) when ATONCE_BROWSER_SCREENSHOT is set.
func copyScreenshot(t *testing.T, path, repoCopy string) {
	t.Helper()
	if os.Getenv("ATONCE_BROWSER_SCREENSHOT") == "" {
		return
	}
	if err := copyFile(path, repoCopy); err != nil {
		t.Errorf("copying the screenshot to %s: %v", repoCopy, err)
	} else {
		t.Logf("screenshot copied to notebooks/%s", repoCopy)
	}
}

// countSame lists each distinct message once, in the order they first
// came, with how many times it came when more than once.
func countSame(msgs []string) []string {
	n := map[string]int{}
	var order []string
	for _, m := range msgs {
		if n[m] == 0 {
			order = append(order, m)
		}
		n[m]++
	}
	for i, m := range order {
		if n[m] > 1 {
			order[i] = fmt.Sprintf("(%d times) %s", n[m], m)
		}
	}
	return order
}

// checkScreenshot fails the test unless path holds a PNG of the whole
// window's width, at least the window's height.
func checkScreenshot(t *testing.T, path string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Errorf("the screenshot: %v", err)
		return
	}
	defer f.Close()
	cfg, err := png.DecodeConfig(f)
	if err != nil {
		t.Errorf("the screenshot %s is not a PNG: %v", path, err)
		return
	}
	if cfg.Width != windowWidth || cfg.Height < windowHeight {
		t.Errorf("the screenshot is %dx%d, want %d wide and at least %d high", cfg.Width, cfg.Height, windowWidth, windowHeight)
	}
}

// browserDeps finds Jupyter Notebook and checks for Chromium. What is
// missing skips the test, or fails it when ATONCE_REQUIRE_BROWSER is set.
func browserDeps(t *testing.T) (notebookCmd []string) {
	t.Helper()
	var missing []string
	if fi, err := os.Stat(chromiumPath); err != nil || fi.IsDir() {
		missing = append(missing, chromiumPath)
	}
	if _, err := os.Stat("/usr/bin/jupyter-notebook"); err == nil {
		notebookCmd = []string{"/usr/bin/jupyter-notebook"}
	} else if exec.Command(installtest.ExecPython, "-c", "import notebook").Run() == nil {
		notebookCmd = []string{installtest.ExecPython, "-m", "notebook"}
	} else {
		missing = append(missing, "Jupyter Notebook (/usr/bin/jupyter-notebook)")
	}
	skipWithout(t, missing)
	return notebookCmd
}

// skipWithout skips the test when something it needs is missing, or fails
// it when ATONCE_REQUIRE_BROWSER is set.
func skipWithout(t *testing.T, missing []string) {
	t.Helper()
	if len(missing) == 0 {
		return
	}
	msg := fmt.Sprintf("the browser test needs %s; install with: bash install/setup-deps.sh --test (make test does)", strings.Join(missing, ", "))
	if os.Getenv("ATONCE_REQUIRE_BROWSER") != "" {
		t.Fatalf("%s (ATONCE_REQUIRE_BROWSER is set, so this fails instead of skipping)", msg)
	}
	t.Skip(msg)
}

// keepOnFailure makes a directory (os.MkdirTemp's pattern) for the
// screenshot and the logs of the server (named server) and Chromium, kept
// when the test fails and removed when it passes.
func keepOnFailure(t *testing.T, pattern, server string) string {
	t.Helper()
	dir, err := os.MkdirTemp("", pattern)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("kept the screenshot and the logs of %s and Chromium in %s", server, dir)
			return
		}
		os.RemoveAll(dir)
	})
	return dir
}

// copyNotebooks copies every notebook of this directory, and nbPath, into dir.
func copyNotebooks(t *testing.T, nbPath, dir string) {
	t.Helper()
	paths, _ := filepath.Glob("*.ipynb")
	paths = append(paths, nbPath)
	for _, p := range paths {
		if err := copyFile(p, filepath.Join(dir, filepath.Base(p))); err != nil {
			t.Fatal(err)
		}
	}
}

func copyFile(from, to string) error {
	b, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	return os.WriteFile(to, b, 0o644)
}

// setEnv returns env with name set to value.
func setEnv(env []string, name, value string) []string {
	out := make([]string, 0, len(env)+1)
	for _, kv := range env {
		if !strings.HasPrefix(kv, name+"=") {
			out = append(out, kv)
		}
	}
	return append(out, name+"="+value)
}

// jupyterServer is a running Jupyter server: Jupyter Notebook, or
// jupyter-server serving JupyterLab.
type jupyterServer struct {
	name  string // what it is, for the log: "Jupyter Notebook", "JupyterLab"
	base  string // http://127.0.0.1:PORT
	token string
}

// startServer starts the server whose command line argv gives for a free
// loopback port and a random token, in dir, logging into logDir, and stops
// it, its kernels and everything they started when the test ends. A server
// that does not answer is tried again on another port, twice.
func startServer(t *testing.T, name string, argv func(port int, token string) []string, dir, logDir string, env []string) *jupyterServer {
	t.Helper()
	var lastErr error
	for attempt := 1; attempt <= 3; attempt++ {
		port, err := freePort()
		if err != nil {
			t.Fatal(err)
		}
		token := randomHex(t, 24)
		logPath := filepath.Join(logDir, fmt.Sprintf("jupyter-%d.log", attempt))
		logFile, err := os.Create(logPath)
		if err != nil {
			t.Fatal(err)
		}
		args := argv(port, token)
		cmd := exec.Command(args[0], args[1:]...)
		cmd.Env = env
		cmd.Dir = dir
		cmd.Stdout = logFile
		cmd.Stderr = logFile
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := cmd.Start(); err != nil {
			logFile.Close()
			t.Fatalf("starting %s (%s): %v", name, strings.Join(args, " "), err)
		}
		exited := make(chan struct{})
		go func() { cmd.Wait(); logFile.Close(); close(exited) }()
		srv := &jupyterServer{name: name, base: fmt.Sprintf("http://127.0.0.1:%d", port), token: token}
		t.Cleanup(func() { srv.stop(t, cmd.Process.Pid, exited, logPath) })
		if err := srv.waitReady(exited, 90*time.Second); err != nil {
			lastErr = fmt.Errorf("%v\n%s", err, tail(logPath, 40))
			t.Logf("%s did not start (attempt %d): %v", name, attempt, lastErr)
			continue
		}
		t.Logf("%s on %s serving %s (log: %s)", name, srv.base, dir, logPath)
		return srv
	}
	t.Fatalf("%s would not start: %v", name, lastErr)
	return nil
}

// startNotebookServer starts Jupyter Notebook (notebookCmd) serving dir.
func startNotebookServer(t *testing.T, notebookCmd []string, dir, logDir string, env []string) *jupyterServer {
	t.Helper()
	srv := startServer(t, "Jupyter Notebook", func(port int, token string) []string {
		return append(append([]string{}, notebookCmd...),
			"--no-browser", "--allow-root",
			"--ip=127.0.0.1", "--port="+strconv.Itoa(port), "--NotebookApp.port_retries=0",
			"--NotebookApp.token="+token, "--notebook-dir="+dir,
		)
	}, dir, logDir, env)
	t.Logf("Jupyter Notebook %s", notebookVersion(notebookCmd, env))
	return srv
}

func notebookVersion(notebookCmd []string, env []string) string {
	cmd := exec.Command(notebookCmd[0], append(append([]string{}, notebookCmd[1:]...), "--version")...)
	cmd.Env = env
	out, _ := cmd.Output()
	return strings.TrimSpace(string(out))
}

// waitReady polls /api/status until the server answers, it exits or the
// timeout passes.
func (s *jupyterServer) waitReady(exited <-chan struct{}, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	client := &http.Client{Timeout: 5 * time.Second}
	for {
		resp, err := client.Get(s.base + "/api/status?token=" + s.token)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("GET /api/status: %s", resp.Status)
		}
		select {
		case <-exited:
			return fmt.Errorf("%s exited", s.name)
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not answering after %v: %v", timeout, err)
		}
	}
}

// stop shuts the server's kernels down through its API, then stops the
// server (SIGTERM to its process group, SIGKILL after a grace period),
// then kills whatever it had started that is still alive: kernels run in
// sessions of their own, so the process group does not reach them.
func (s *jupyterServer) stop(t *testing.T, pid int, exited <-chan struct{}, logPath string) {
	procs := descendants(pid)
	client := &http.Client{Timeout: 30 * time.Second}
	if resp, err := client.Get(s.base + "/api/kernels?token=" + s.token); err == nil {
		var kernels []struct {
			ID string `json:"id"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&kernels)
		resp.Body.Close()
		for _, k := range kernels {
			req, _ := http.NewRequest(http.MethodDelete, s.base+"/api/kernels/"+k.ID+"?token="+s.token, nil)
			if resp, err := client.Do(req); err == nil {
				resp.Body.Close()
			} else {
				t.Logf("shutting down kernel %s: %v", k.ID, err)
			}
		}
	}
	procs = append(procs, descendants(pid)...)
	_ = syscall.Kill(-pid, syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(20 * time.Second):
		t.Logf("%s did not stop on SIGTERM; killing it", s.name)
		_ = syscall.Kill(-pid, syscall.SIGKILL)
		<-exited
	}
	killAll(t, procs)
	if t.Failed() {
		t.Logf("%s log (%s):\n%s", s.name, logPath, tail(logPath, 60))
	}
}

// runBrowser starts Chromium, opens nbURL, runs all its cells through the
// Cell menu and reports what the page shows, saving a screenshot of the
// whole notebook to shot (see browse).
func runBrowser(t *testing.T, nbURL, logDir, shot string) (sum browserSummary) {
	t.Helper()
	if u, err := url.Parse(nbURL); err == nil {
		sum.Notebook, _ = url.PathUnescape(strings.TrimPrefix(u.Path, "/notebooks/"))
	}
	sum.browsed = browse(t, logDir, pageScript, shot, browserRunTimeout, func(ctx context.Context, b *browserRun) error {
		return b.run(ctx, nbURL, &sum)
	})
	return sum
}

// browse starts Chromium with the probe script at probe, calls run with
// the tab's context bounded by timeout, and then saves a screenshot of the
// whole notebook to shot. A step that cannot be completed (the page does
// not load, the kernel never goes idle, the deadline passes) makes run
// return an error, reported as Failure; the screenshot is still taken
// then. Chromium and everything it started are gone when browse returns.
func browse(t *testing.T, logDir, probe, shot string, timeout time.Duration, run func(context.Context, *browserRun) error) (res browsed) {
	t.Helper()
	started := time.Now()
	defer func() { res.Seconds = time.Since(started).Round(100 * time.Millisecond).Seconds() }()
	tab, chrome, err := startChromium(t, logDir, probe)
	if err != nil {
		res.Failure = err.Error()
		return res
	}
	defer func() { res.PageErrors, res.Dialogs = chrome.close(t, tab) }()

	b := &browserRun{t: t, started: started}
	running, cancelRun := context.WithTimeout(tab, runTimeout(t, timeout))
	err = run(running, b)
	cancelRun()
	if err != nil {
		res.Failure = err.Error()
		t.Logf("the browser run failed: %v", err)
	}

	shooting, cancelShot := context.WithTimeout(tab, time.Minute)
	defer cancelShot()
	if err := b.screenshot(shooting, shot); err != nil {
		t.Logf("screenshot failed: %v", err)
		if res.Failure == "" {
			res.Failure = fmt.Sprintf("screenshot: %v", err)
		}
	} else {
		res.Screenshot = shot
	}
	return res
}

// runTimeout is want, or less when go test's -timeout leaves less: a
// minute for the screenshot and for closing Chromium, and the test a minute
// to clean up.
func runTimeout(t *testing.T, want time.Duration) time.Duration {
	if d, ok := t.Deadline(); ok {
		if left := time.Until(d) - 2*time.Minute; left < want {
			return max(left, 30*time.Second)
		}
	}
	return want
}

// chromium is a headless Chromium with one tab, started by startChromium,
// and what the page did on its own: uncaught JavaScript errors and native
// dialogs (dismissed, so that a "leave page?" cannot hang the run).
type chromium struct {
	log           *os.File
	closeTab      context.CancelFunc
	stopAllocator context.CancelFunc
	readers       sync.WaitGroup // the goroutines reading the tab's events
	mu            sync.Mutex
	pageErrors    []string
	dialogs       []string
}

// startChromium starts Debian's Chromium, headless, logging into
// logDir/chromium.log, with the script at probePath installed in every
// document before the page's own scripts run (so a reload keeps it). It
// returns the tab's context; close ends Chromium.
func startChromium(t *testing.T, logDir, probePath string) (context.Context, *chromium, error) {
	t.Helper()
	probe, err := os.ReadFile(probePath)
	if err != nil {
		t.Fatal(err)
	}
	c := &chromium{}
	c.log, err = os.Create(filepath.Join(logDir, "chromium.log"))
	if err != nil {
		t.Fatal(err)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath),
		chromedp.WindowSize(windowWidth, windowHeight),
		chromedp.CombinedOutput(c.log),
	}
	for _, f := range chromiumFlags {
		opts = append(opts, chromedp.Flag(f, true))
	}
	allocCtx, stopAllocator := chromedp.NewExecAllocator(context.Background(), opts...)
	tab, closeTab := chromedp.NewContext(allocCtx)
	c.closeTab, c.stopAllocator = closeTab, stopAllocator

	exceptions := chromedp.Events(tab, runtime.ExceptionThrown)
	dialogs := chromedp.Events(tab, page.JavascriptDialogOpening)
	c.readers.Go(func() {
		for ev, err := range exceptions {
			if err != nil {
				return
			}
			msg := ev.ExceptionDetails.Text
			if e := ev.ExceptionDetails.Exception; e != nil && e.Description != "" {
				msg += " " + e.Description
			}
			c.mu.Lock()
			c.pageErrors = append(c.pageErrors, truncate(msg, 500))
			c.mu.Unlock()
		}
	})
	c.readers.Go(func() {
		for ev, err := range dialogs {
			if err != nil {
				return
			}
			c.mu.Lock()
			c.dialogs = append(c.dialogs, ev.Message)
			c.mu.Unlock()
			if _, err := chromedp.Call(tab, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: false}); err != nil {
				t.Logf("dismissing a dialog: %v", err)
			}
		}
	})

	t.Logf("launching %s --%s", chromiumPath, strings.Join(chromiumFlags, " --"))
	if _, err := chromedp.Call(tab, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: string(probe)}); err != nil {
		err = fmt.Errorf("starting Chromium: %v (its log: %s)", err, tail(c.log.Name(), 20))
		c.close(t, tab)
		return tab, c, err
	}
	return tab, c, nil
}

// close closes Chromium gracefully, then frees the allocator (it waits for
// Chromium to exit, kills what it left and removes its profile), and
// returns the page's uncaught errors and the dialogs it showed.
func (c *chromium) close(t *testing.T, tab context.Context) (pageErrors, dialogs []string) {
	closing, cancel := context.WithTimeout(tab, 30*time.Second)
	if err := chromedp.Cancel(closing); err != nil {
		t.Logf("closing Chromium: %v", err)
	}
	cancel()
	c.closeTab()
	c.stopAllocator()
	c.readers.Wait()
	c.log.Close()
	return c.pageErrors, c.dialogs
}

// browserRun drives one tab, each step bounded by the context it is given.
type browserRun struct {
	t       *testing.T
	started time.Time
}

// run opens the notebook, waits for its kernel, clears all outputs, runs
// all cells from the Cell menu (watching the execute replies and the
// charts' changes), waits until every code cell has run and reads what
// the page shows into sum.
func (b *browserRun) run(ctx context.Context, nbURL string, sum *browserSummary) error {
	b.log("opening %s", strings.SplitN(nbURL, "?", 2)[0])
	if err := chromedp.Do(ctx, chromedp.Navigate(nbURL)); err != nil {
		return fmt.Errorf("opening the notebook: %w", err)
	}

	// 1. The notebook is loaded and its kernel started and idle.
	ready, err := waitFor[struct {
		probeState
		Name       string `json:"name"`
		KernelName string `json:"kernelName"`
	}](ctx, b, "for the notebook and an idle kernel", "atonceProbe.ready()")
	if err != nil {
		return err
	}
	sum.Kernel, sum.KernelName = ready.Name, ready.KernelName
	b.log("kernel idle: %s", sum.Kernel)

	// 2. Cell → All Output → Clear, so a notebook saved with outputs and
	// execution counts cannot pass for one that ran. Then Cell → Run All.
	if err := b.clickMenuItems(ctx, menuItem{"#celllink", ""}, menuItem{"#all_outputs > a", ""}, menuItem{"#clear_all_output > a", ""}); err != nil {
		return err
	}
	if _, err := waitFor[probeState](ctx, b, "for the outputs to clear", "atonceProbe.cleared()"); err != nil {
		return err
	}
	if err := chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void]("atonceProbe.recordReplies()")); err != nil {
		return fmt.Errorf("watching the execute replies: %w", err)
	}
	if err := chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void]("atonceProbe.watchCharts()")); err != nil {
		return fmt.Errorf("watching the charts: %w", err)
	}
	if err := b.clickMenuItems(ctx, menuItem{"#celllink", ""}, menuItem{"#run_all_cells > a", ""}); err != nil {
		return err
	}
	sum.RunAll = "menu"
	b.log("clicked Cell → Run All")

	// 3. Every non-empty code cell has run (or was aborted) and the kernel
	// is idle; what the page shows then.
	if sum.allRan, err = b.waitAllRan(ctx); err != nil {
		return err
	}
	charts, err := chromedp.Run(ctx, chromedp.Evaluate[struct {
		Log []chartShown `json:"log"`
	}]("atonceProbe.charts()"))
	if err != nil {
		return fmt.Errorf("reading the charts' changes: %w", err)
	}
	sum.ChartChanges = charts.Log
	return nil
}

// waitAllRan waits until every non-empty code cell has run (or was
// aborted) and the kernel is idle (the probe's finished()), then reads
// what the page shows: images, the task-stream chart, errors.
func (b *browserRun) waitAllRan(ctx context.Context) (allRan, error) {
	var r allRan
	finished, err := waitFor[struct {
		probeState
		CodeCells int            `json:"codeCells"`
		Ran       int            `json:"ran"`
		Empty     int            `json:"empty"`
		NotRun    []int          `json:"notRun"`
		Statuses  map[string]int `json:"statuses"`
	}](ctx, b, "for all cells to run", "atonceProbe.finished()")
	if err != nil {
		return r, err
	}
	r.CodeCells, r.Ran, r.EmptyCells = finished.CodeCells, finished.Ran, finished.Empty
	r.NotRun, r.Replies = finished.NotRun, finished.Statuses
	b.log("%d code cells ran, %d did not; execute replies: %v", finished.Ran, len(finished.NotRun), finished.Statuses)

	r.pageShown, err = chromedp.Run(ctx, chromedp.Evaluate[pageShown]("atonceProbe.shown()"))
	if err != nil {
		return r, fmt.Errorf("reading the page: %w", err)
	}
	b.log("images: %d, task-stream charts: %d, errors: %d", r.Images, len(r.Charts), len(r.Errors))
	return r, nil
}

// chartShown is one change of a chart output that notebook_page.js's
// watchCharts saw.
type chartShown struct {
	Cell    int    `json:"cell"`
	Output  int    `json:"output"`
	Summary string `json:"summary"`
	Running bool   `json:"running"` // the cell's execute reply had not come
	PNG     bool   `json:"png"`     // the finished chart, not a draft
}

// liveCharts returns, for each chart output of the run that the page
// showed while its cell still ran and that changed afterwards, how it
// went: a draft of fewer models first, then the finished chart. A
// %%models run draws its charts after its first model and updates them in
// place; the finished chart names every model.
func liveCharts(changes []chartShown) (live []string) {
	bySlot := map[[2]int][]chartShown{}
	var slots [][2]int
	for _, c := range changes {
		k := [2]int{c.Cell, c.Output}
		if _, ok := bySlot[k]; !ok {
			slots = append(slots, k)
		}
		bySlot[k] = append(bySlot[k], c)
	}
	for _, k := range slots {
		cs := bySlot[k]
		first, last := cs[0], cs[len(cs)-1]
		lines := func(c chartShown) int { return strings.Count(c.Summary, "\n") }
		if len(cs) >= 2 && first.Running && !first.PNG && last.PNG && lines(first) < lines(last) {
			live = append(live, fmt.Sprintf("cell %d output %d: %d states, the first a draft of %d lines while the cell ran, the last the finished chart of %d lines",
				k[0], k[1], len(cs), lines(first)+1, lines(last)+1))
		}
	}
	return live
}

// probeState is what every wait of notebook_page.js reports besides its
// own details.
type probeState struct {
	Done bool   `json:"done"`
	Fail string `json:"fail"`
}

func (s probeState) state() probeState { return s }

// waitFor evaluates expr, a wait of notebook_page.js, every 250 ms until
// it reports done, and returns what it reported then; or until it reports
// a failure, Chromium goes away or ctx's deadline passes. It is a wait for a
// state, not a sleep: it returns as soon as the state holds. Every 15 s it
// logs the state it is waiting in.
func waitFor[T interface{ state() probeState }](ctx context.Context, b *browserRun, what, expr string) (T, error) {
	var last []byte
	start := time.Now()
	lastLog := start
	for {
		var v T
		raw, err := chromedp.Run(ctx, chromedp.Evaluate[[]byte](expr))
		if err == nil {
			last = raw
			if err := json.Unmarshal(raw, &v); err != nil {
				return v, fmt.Errorf("waiting %s: %s answered %s: %w", what, expr, raw, err)
			}
			if s := v.state(); s.Fail != "" {
				return v, fmt.Errorf("waiting %s: %s", what, s.Fail)
			} else if s.Done {
				return v, nil
			}
		}
		if cerr := ctx.Err(); errors.Is(cerr, context.DeadlineExceeded) {
			return v, fmt.Errorf("timed out after %v waiting %s; last state: %s", time.Since(start).Round(time.Second), what, last)
		} else if cerr != nil {
			return v, fmt.Errorf("waiting %s: Chromium went away (%v); last state: %s", what, err, last)
		}
		if time.Since(lastLog) > 15*time.Second {
			lastLog = time.Now()
			if err != nil {
				b.log("waiting %s: %s (last try: %v)", what, last, err)
			} else {
				b.log("waiting %s: %s", what, last)
			}
		}
		select {
		case <-ctx.Done():
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// screenshot saves the whole notebook as a PNG: the window is made as tall
// as the notebook first. Cells laid out for the first time in the taller
// window can change the notebook's height, so it is measured again until
// the window fits it (a few rounds at most).
func (b *browserRun) screenshot(ctx context.Context, path string) error {
	height := windowHeight
	for round := 1; ; round++ {
		dims, err := chromedp.Run(ctx, chromedp.Evaluate[struct {
			Header  int `json:"header"`
			Content int `json:"content"`
		}]("atonceProbe.height()"))
		if err != nil {
			return err
		}
		want := dims.Header + dims.Content + 20
		height = min(maxShotHeight, max(windowHeight, want))
		b.log("screenshot: the notebook is %d pixels high under %d of page; window %d high", dims.Content, dims.Header, height)
		if err := chromedp.Do(ctx, chromedp.EmulateViewport(windowWidth, int64(height))); err != nil {
			return err
		}
		if want > maxShotHeight {
			b.log("the notebook is taller than %d pixels; the screenshot shows its top", maxShotHeight)
			break
		}
		fit, err := waitFor[struct {
			probeState
			Fits bool `json:"fits"`
		}](ctx, b, "for the notebook to grow to the window", fmt.Sprintf("atonceProbe.fitted(%d)", dims.Content))
		if err != nil {
			return err
		}
		if fit.Fits {
			break
		}
		if round == 5 {
			return fmt.Errorf("the notebook's height kept changing as the window grew (last %d pixels)", dims.Content)
		}
	}
	buf, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, buf, 0o644); err != nil {
		return err
	}
	b.log("screenshot saved: %s (%dx%d)", path, windowWidth, height)
	return nil
}

// log logs msg with the seconds since the browser run started.
func (b *browserRun) log(format string, args ...any) {
	b.t.Helper()
	b.t.Logf("[browser %.1fs] %s", time.Since(b.started).Seconds(), fmt.Sprintf(format, args...))
}

// truncate cuts s to at most n bytes.
func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// A proc is one process, named by its pid and its start time so that a
// reused pid is never mistaken for it.
type proc struct {
	pid   int
	start string
}

// procStat returns the parent pid and start time of pid from /proc; ok
// is false for a process that is gone or dead (a zombie).
func procStat(pid int) (ppid int, start string, ok bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, "", false
	}
	// The command name (field 2) is in parentheses and may hold spaces.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, "", false
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state), f[1] field 4 (ppid), f[19] field 22 (starttime).
	if len(f) < 20 {
		return 0, "", false
	}
	if f[0] == "Z" || f[0] == "X" { // dead, only waiting to be reaped
		return 0, "", false
	}
	ppid, _ = strconv.Atoi(f[1])
	return ppid, f[19], true
}

// allPids lists the pids in /proc.
func allPids() []int {
	ents, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range ents {
		if pid, err := strconv.Atoi(e.Name()); err == nil {
			pids = append(pids, pid)
		}
	}
	return pids
}

// descendants returns every living process below pid.
func descendants(pid int) []proc {
	children := map[int][]proc{}
	for _, p := range allPids() {
		if ppid, start, ok := procStat(p); ok {
			children[ppid] = append(children[ppid], proc{p, start})
		}
	}
	var out []proc
	queue := []int{pid}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		for _, c := range children[p] {
			out = append(out, c)
			queue = append(queue, c.pid)
		}
	}
	return out
}

// killAll SIGKILLs those of procs that are still the same living process.
func killAll(t *testing.T, procs []proc) {
	seen := map[int]bool{}
	for _, p := range procs {
		if seen[p.pid] {
			continue
		}
		seen[p.pid] = true
		if _, start, ok := procStat(p.pid); ok && start == p.start {
			if err := syscall.Kill(p.pid, syscall.SIGKILL); err == nil {
				t.Logf("killed leftover process %d (%s)", p.pid, cmdName(p.pid))
			}
		}
	}
}

func cmdName(pid int) string {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	s := strings.ReplaceAll(strings.TrimRight(string(b), "\x00"), "\x00", " ")
	if len(s) > 120 {
		s = s[:120] + "…"
	}
	return s
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func randomHex(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// tail returns the last n lines of the file at path.
func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// TestLiveCharts checks the browser test's own reading of the charts'
// changes: a chart counts as drawn while its run went when it first
// showed as a draft of fewer models while its cell ran, and ended as the
// finished chart.
func TestLiveCharts(t *testing.T) {
	draft := chartShown{Cell: 9, Output: 2, Summary: "Task stream: …\nsequential: …", Running: true}
	more := chartShown{Cell: 9, Output: 2, Summary: "Task stream: …\nsequential: …\neventloop: …", Running: true}
	final := chartShown{Cell: 9, Output: 2, Summary: "Task stream: …\nsequential: …\neventloop: …\nthreads: …", PNG: true}
	static := final
	static.Cell = 3
	for _, tt := range []struct {
		name    string
		changes []chartShown
		want    int
	}{
		{"draft, update, finished", []chartShown{draft, more, final}, 1},
		{"draft then finished", []chartShown{draft, final}, 1},
		{"shown once, finished", []chartShown{static}, 0},
		{"first seen after the reply", []chartShown{{Cell: 9, Summary: draft.Summary}, final}, 0},
		{"never finished", []chartShown{draft, more}, 0},
	} {
		if got := liveCharts(tt.changes); len(got) != tt.want {
			t.Errorf("%s: liveCharts = %q, want %d", tt.name, got, tt.want)
		}
	}
}
