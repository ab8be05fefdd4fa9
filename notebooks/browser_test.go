package notebooks

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"atonce/install/installtest"
)

// Files and limits of TestBrowserTour.
const (
	chromiumPath      = "/usr/bin/chromium"
	defaultNotebook   = "00-tour.ipynb"
	browserScript     = "testdata/browser.mjs"
	repoScreenshot    = "testdata/browser-tour.png"
	browserRunTimeout = 5 * time.Minute // for running all cells, inside browser.mjs
)

// browserSummary is the JSON object browser.mjs prints.
type browserSummary struct {
	Notebook   string         `json:"notebook"`
	Kernel     string         `json:"kernel"`
	KernelName string         `json:"kernelName"`
	RunAll     string         `json:"runAll"`
	CodeCells  int            `json:"codeCells"`
	Ran        int            `json:"ran"`
	NotRun     []int          `json:"notRun"`
	EmptyCells int            `json:"emptyCells"`
	Replies    map[string]int `json:"replies"`
	Images     int            `json:"images"`
	Charts     []struct {
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
	PageErrors []string `json:"pageErrors"`
	Dialogs    []string `json:"dialogs"`
	Screenshot string   `json:"screenshot"`
	Seconds    float64  `json:"seconds"`
	Failure    string   `json:"failure"`
}

// TestBrowserTour opens a notebook in Debian's Jupyter Notebook with
// Debian's Chromium, headless, driven by testdata/browser.mjs through the
// npm package playwright-core (install/setup-deps.sh --browser installs
// all three). It runs all cells from the Cell menu as a user would and
// checks the page: every code cell ran, the task-stream chart is drawn,
// no cell shows an error.
//
// Environment:
//
//	ATONCE_REQUIRE_BROWSER    when set, missing Chromium, Node.js,
//	                          playwright-core or Jupyter Notebook fails the
//	                          test instead of skipping it (`make test` sets it)
//	ATONCE_BROWSER_NOTEBOOK   the notebook to open, relative to notebooks/
//	                          or absolute (default 00-tour.ipynb)
//	ATONCE_BROWSER_SCREENSHOT when set, the screenshot is also copied to
//	                          notebooks/testdata/browser-tour.png
//	ATONCE_CACHE, XDG_CACHE_HOME, NODE_PATH
//	                          where playwright-core is looked for, as in
//	                          install/setup-deps.sh
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
	node, nodePath, notebookCmd := browserDeps(t)
	env := installtest.KernelEnv(t)
	env = setEnv(env, "PATH", "/usr/bin:"+os.Getenv("PATH"))

	// Jupyter serves a copy of the notebooks, so autosave and the run's
	// outputs never touch the repository.
	nbDir := t.TempDir()
	copyNotebooks(t, nbPath, nbDir)

	// The screenshot and Jupyter's log are kept when the test fails.
	keepDir, err := os.MkdirTemp("", "atonce-browser-*")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("kept the screenshot and Jupyter's log in %s", keepDir)
			return
		}
		os.RemoveAll(keepDir)
	})
	shot := filepath.Join(keepDir, "browser-tour.png")

	srv := startNotebookServer(t, notebookCmd, nbDir, keepDir, env)

	nbURL := fmt.Sprintf("%s/notebooks/%s?token=%s", srv.base, url.PathEscape(filepath.Base(nbPath)), srv.token)
	sum := runBrowser(t, node, nodePath, nbURL, shot)

	t.Logf("%s with kernel %q (%s): %d code cells, %d ran, %d empty; %d images, %d task-stream charts, %d errors; run all via %s; %.1fs in the browser",
		sum.Notebook, sum.Kernel, sum.KernelName, sum.CodeCells, sum.Ran, sum.EmptyCells, sum.Images, len(sum.Charts), len(sum.Errors), sum.RunAll, sum.Seconds)
	for _, c := range sum.Charts {
		t.Logf("task-stream chart: cell %d output %d, %s %dx%d, %d text elements: %s", c.Cell, c.Output, c.Kind, c.Width, c.Height, c.Texts, c.Summary)
	}
	for _, s := range sum.Stderr {
		t.Logf("cell %d stderr: %s", s.Cell, s.Text)
	}
	for _, e := range sum.PageErrors {
		t.Logf("JavaScript error in the page: %s", e)
	}
	for _, d := range sum.Dialogs {
		t.Logf("browser dialog dismissed: %s", d)
	}
	if sum.Screenshot != "" {
		t.Logf("screenshot: %s", sum.Screenshot)
		if os.Getenv("ATONCE_BROWSER_SCREENSHOT") != "" {
			if err := copyFile(sum.Screenshot, repoScreenshot); err != nil {
				t.Errorf("copying the screenshot to %s: %v", repoScreenshot, err)
			} else {
				t.Logf("screenshot copied to notebooks/%s", repoScreenshot)
			}
		}
	}

	if sum.Failure != "" {
		t.Fatalf("the browser run failed: %s", sum.Failure)
	}
	if sum.KernelName != "atonce" {
		t.Errorf("the notebook ran on kernel %q (%s), want atonce", sum.KernelName, sum.Kernel)
	}
	if sum.Ran == 0 || len(sum.NotRun) > 0 || sum.Ran != sum.CodeCells-sum.EmptyCells {
		t.Errorf("%d of %d non-empty code cells ran (execute replies: %v); cells that did not run (index among all cells): %v", sum.Ran, sum.CodeCells-sum.EmptyCells, sum.Replies, sum.NotRun)
	}
	if len(sum.Charts) == 0 {
		t.Errorf("no task-stream chart is drawn in the page (%d images in all): want an output whose text/plain starts with \"Task stream:\" shown as an image", sum.Images)
	}
	for _, e := range sum.Errors {
		t.Errorf("cell %d shows an error (%s):\n%s", e.Cell, e.Kind, e.Text)
	}
}

// browserDeps finds Node.js, playwright-core and Jupyter Notebook and
// checks for Chromium. What is missing skips the test, or fails it when
// ATONCE_REQUIRE_BROWSER is set.
func browserDeps(t *testing.T) (node, nodePath string, notebookCmd []string) {
	t.Helper()
	var missing []string
	if fi, err := os.Stat(chromiumPath); err != nil || fi.IsDir() {
		missing = append(missing, chromiumPath)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		if _, err := os.Stat("/usr/bin/node"); err == nil {
			node = "/usr/bin/node"
		} else {
			missing = append(missing, "node (Node.js)")
		}
	}
	nodePath = playwrightNodePath()
	if nodePath == "" {
		missing = append(missing, "the npm package playwright-core")
	}
	if _, err := os.Stat("/usr/bin/jupyter-notebook"); err == nil {
		notebookCmd = []string{"/usr/bin/jupyter-notebook"}
	} else if exec.Command(installtest.ExecPython, "-c", "import notebook").Run() == nil {
		notebookCmd = []string{installtest.ExecPython, "-m", "notebook"}
	} else {
		missing = append(missing, "Jupyter Notebook (/usr/bin/jupyter-notebook)")
	}
	if len(missing) > 0 {
		msg := fmt.Sprintf("the browser test needs %s; install with: bash install/setup-deps.sh --browser (make test does)", strings.Join(missing, ", "))
		if os.Getenv("ATONCE_REQUIRE_BROWSER") != "" {
			t.Fatalf("%s (ATONCE_REQUIRE_BROWSER is set, so this fails instead of skipping)", msg)
		}
		t.Skip(msg)
	}
	return node, nodePath, notebookCmd
}

// playwrightNodePath returns the node_modules directory holding
// playwright-core: one of $NODE_PATH's, or setup-deps.sh's cache
// directory; "" if none has it.
func playwrightNodePath() string {
	var dirs []string
	if p := os.Getenv("NODE_PATH"); p != "" {
		dirs = append(dirs, filepath.SplitList(p)...)
	}
	cache := os.Getenv("ATONCE_CACHE")
	if cache == "" {
		base := os.Getenv("XDG_CACHE_HOME")
		if base == "" {
			home := os.Getenv("HOME")
			if home == "" {
				home = "/tmp"
			}
			base = filepath.Join(home, ".cache")
		}
		cache = filepath.Join(base, "atonce")
	}
	dirs = append(dirs, filepath.Join(cache, "playwright", "node_modules"))
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "playwright-core", "package.json")); err == nil {
			return d
		}
	}
	return ""
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

// notebookServer is a running Jupyter Notebook.
type notebookServer struct {
	base  string // http://127.0.0.1:PORT
	token string
}

// startNotebookServer starts Jupyter Notebook on a free loopback port with
// a random token, serving dir and logging into logDir, and stops it, its kernels and everything
// they started when the test ends.
func startNotebookServer(t *testing.T, notebookCmd []string, dir, logDir string, env []string) *notebookServer {
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
		args := append(append([]string{}, notebookCmd[1:]...),
			"--no-browser", "--allow-root",
			"--ip=127.0.0.1", "--port="+strconv.Itoa(port), "--NotebookApp.port_retries=0",
			"--NotebookApp.token="+token, "--notebook-dir="+dir,
		)
		cmd := exec.Command(notebookCmd[0], args...)
		cmd.Env = env
		cmd.Dir = dir
		cmd.Stdout = logFile
		cmd.Stderr = logFile
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := cmd.Start(); err != nil {
			logFile.Close()
			t.Fatalf("starting %s: %v", strings.Join(notebookCmd, " "), err)
		}
		exited := make(chan struct{})
		go func() { cmd.Wait(); logFile.Close(); close(exited) }()
		srv := &notebookServer{base: fmt.Sprintf("http://127.0.0.1:%d", port), token: token}
		t.Cleanup(func() { srv.stop(t, cmd.Process.Pid, exited, logPath) })
		if err := srv.waitReady(exited, 90*time.Second); err != nil {
			lastErr = fmt.Errorf("%v\n%s", err, tail(logPath, 40))
			t.Logf("Jupyter Notebook did not start (attempt %d): %v", attempt, lastErr)
			continue
		}
		t.Logf("Jupyter Notebook %s on %s serving %s (log: %s)", notebookVersion(notebookCmd, env), srv.base, dir, logPath)
		return srv
	}
	t.Fatalf("Jupyter Notebook would not start: %v", lastErr)
	return nil
}

func notebookVersion(notebookCmd []string, env []string) string {
	cmd := exec.Command(notebookCmd[0], append(append([]string{}, notebookCmd[1:]...), "--version")...)
	cmd.Env = env
	out, _ := cmd.Output()
	return strings.TrimSpace(string(out))
}

// waitReady polls /api/status until the server answers, it exits or the
// timeout passes.
func (s *notebookServer) waitReady(exited <-chan struct{}, timeout time.Duration) error {
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
			return errors.New("jupyter notebook exited")
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
func (s *notebookServer) stop(t *testing.T, pid int, exited <-chan struct{}, logPath string) {
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
		t.Logf("Jupyter Notebook did not stop on SIGTERM; killing it")
		_ = syscall.Kill(-pid, syscall.SIGKILL)
		<-exited
	}
	killAll(t, procs)
	if t.Failed() {
		t.Logf("Jupyter Notebook log (%s):\n%s", logPath, tail(logPath, 60))
	}
}

// runBrowser runs browser.mjs against nbURL and returns its summary. It
// fails the test if the script does not print one.
func runBrowser(t *testing.T, node, nodePath, nbURL, shot string) browserSummary {
	t.Helper()
	script, err := filepath.Abs(browserScript)
	if err != nil {
		t.Fatal(err)
	}
	runTimeout := browserRunTimeout
	// Leave the script a minute for Chromium to start and stop and the
	// screenshot, and the test a minute to clean up, within go test's -timeout.
	if d, ok := t.Deadline(); ok {
		if left := time.Until(d) - 2*time.Minute; left < runTimeout {
			runTimeout = max(left, 30*time.Second)
		}
	}
	userDataDir := t.TempDir()
	cmd := exec.Command(node, script,
		"--url", nbURL,
		"--user-data-dir", userDataDir,
		"--screenshot", shot,
		"--timeout-ms", strconv.FormatInt(runTimeout.Milliseconds(), 10),
		"--executable", chromiumPath,
	)
	cmd.Env = setEnv(os.Environ(), "NODE_PATH", nodePath)
	var stdout bytes.Buffer
	stderrR, stderrW := io.Pipe()
	cmd.Stdout = &stdout
	cmd.Stderr = stderrW
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.WaitDelay = 10 * time.Second // if a child still holds stdout open
	// Chromium is found again by its user-data dir if it outlives node.
	t.Cleanup(func() { killAll(t, chromiumProcs(userDataDir)) })
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", node, err)
	}
	logged := make(chan struct{})
	go func() {
		defer close(logged)
		sc := bufio.NewScanner(stderrR)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			t.Log(sc.Text())
		}
		io.Copy(io.Discard, stderrR)
	}()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait(); stderrW.Close() }()

	var waitErr error
	select {
	case waitErr = <-done:
	case <-time.After(runTimeout + 90*time.Second):
		procs := descendants(cmd.Process.Pid)
		t.Errorf("browser.mjs did not finish within %v; stopping it", runTimeout+90*time.Second)
		// SIGTERM lets playwright close Chromium (its own process group).
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case waitErr = <-done:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			waitErr = <-done
		}
		killAll(t, procs)
	}
	<-logged

	var sum browserSummary
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &sum); err != nil {
		t.Fatalf("browser.mjs (%v) printed no summary: %v\nstdout:\n%s", waitErr, err, stdout.String())
	}
	if waitErr != nil && sum.Failure == "" {
		sum.Failure = fmt.Sprintf("browser.mjs: %v", waitErr)
	}
	return sum
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

// chromiumProcs returns the processes started with userDataDir, which
// is a fresh temporary directory of this test: the Chromium it started.
func chromiumProcs(userDataDir string) []proc {
	var out []proc
	want := []byte("--user-data-dir=" + userDataDir)
	for _, p := range allPids() {
		cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", p))
		if err != nil || !bytes.Contains(cmdline, want) {
			continue
		}
		if _, start, ok := procStat(p); ok {
			out = append(out, proc{p, start})
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
