// Command atonce is a Jupyter kernel for Go that runs a notebook's
// functions under many concurrency models.
//
//	atonce kernel -f CONNECTION_FILE   serve a Jupyter client (Jupyter runs this)
//	atonce install [--user|--sys-prefix|--prefix DIR] [--uninstall]
//	atonce assign NOTEBOOK [-o OUT]   the student version of an exercise notebook
//	atonce grade NOTEBOOK [-json]     run a submitted notebook and score its graded cells
//	atonce version
//
// The kernel starts `atonce engine` itself: that process runs the cells.
// This file parses the command line and wires the packages together.
package main

import (
	"bufio"
	"context"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"syscall"

	"atonce/install"
	"atonce/internal/cellpath"
	"atonce/internal/childproc"
	"atonce/internal/enginemsg"
	"atonce/internal/scratch"
	"atonce/internal/statedir"
	"atonce/interp/engine"
	"atonce/interp/worker"
	"atonce/kernel"
	"atonce/kernel/supervisor"
	"atonce/kernel/wire"
	"atonce/models/broker"
	"atonce/notebooks/assign"
	"atonce/notebooks/grade"
	"atonce/notebooks/ipynb"
)

// version is the atonce version; engines and workers must match it.
// withBuild adds what identifies the build, so workers from another
// build are told apart.
var version = "0.1.0-dev"

func init() { version = withBuild(version) }

// sourceDir is atonce's source directory, set at build time (make build
// passes -ldflags "-X main.sourceDir=..."): %%models -race builds its
// race-detector worker from it. When unset, the repository the binary
// sits in (bin/atonce) is used if it is one.
var sourceDir string

// findSource returns sourceDir, or the directory above the executable
// when it holds atonce's go.mod, or "".
func findSource(exe string) string {
	if sourceDir != "" {
		return sourceDir
	}
	dir := filepath.Dir(filepath.Dir(exe))
	b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err == nil && strings.HasPrefix(string(b), "module atonce\n") {
		return dir
	}
	return ""
}

// withBuild appends what identifies this build: the commit it was built
// from when the build recorded one, else the Go build ID of the
// executable, so that a worker from any other build is told apart (replay
// needs identical symbol tables). A version that already carries a build
// ("+...", as a race-detector worker is given) is kept.
func withBuild(v string) string {
	if strings.Contains(v, "+") {
		return v
	}
	if info, ok := debug.ReadBuildInfo(); ok {
		var rev, dirty string
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				if s.Value == "true" {
					dirty = "-dirty"
				}
			}
		}
		if rev != "" && dirty == "" {
			return v + "+" + rev[:min(len(rev), 12)]
		}
	}
	if id := buildID(); id != "" {
		return v + "+" + id
	}
	return v
}

// buildID returns a short hash of the executable's Go build ID (its ELF
// note), or "" where it cannot be read.
func buildID() string {
	exe, err := os.Executable()
	if err != nil {
		return ""
	}
	f, err := elf.Open(exe)
	if err != nil {
		return ""
	}
	defer f.Close()
	sec := f.Section(".note.go.buildid")
	if sec == nil {
		return ""
	}
	data, err := sec.Data()
	if err != nil || len(data) == 0 {
		return ""
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:6])
}

const usage = `atonce: a Jupyter kernel for Go

usage:
  atonce install [--user | --sys-prefix | --prefix DIR] [--uninstall]
                                      install the kernelspec where Jupyter finds it
  atonce kernel -f CONNECTION_FILE [-listen ADDR [-tls-cert FILE -tls-key FILE]]
                                      run the kernel (Jupyter starts this for you); -listen lets
                                      workers on other machines reach its NATS server (with TLS)
  atonce worker -nats nats://TOKEN@HOST:PORT [-tls-fingerprint SHA256] [-queue NAME]
                                      join a kernel's distributed workers (%workers join prints this)
  atonce assign NOTEBOOK [-o OUT]     write the student version of a notebook with nbgrader's
                                      metadata and markers (default OUT: NAME-student.ipynb)
  atonce grade NOTEBOOK [-json] [-source TEACHER.ipynb] [-timeout 5m] [-o OUT]
                                      run a submitted notebook in a fresh engine and report the
                                      points of its graded cells; -source puts the teacher's
                                      tests back (hidden ones too), -o writes it with its outputs
  atonce version                      print the version
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "kernel":
		return runKernel(args[1:], stderr)
	case "engine":
		return runEngine(args[1:], stderr)
	case "worker":
		return runWorker(args[1:], stderr)
	case "install":
		return install.Main(args[1:], stdout, stderr)
	case "assign":
		return runAssign(args[1:], stdout, stderr)
	case "grade":
		return runGrade(args[1:], stdout, stderr)
	case "version", "--version", "-version":
		fmt.Fprintf(stdout, "atonce %s (%s, yaegi v0.16.1)\n", version, runtime.Version())
		return 0
	case "help", "-h", "--help", "-help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "atonce: unknown command %q\n\n%s", args[0], usage)
	return 2
}

// logger logs at Info and above (everything with ATONCE_DEBUG set).
func logger(w io.Writer) *slog.Logger { return loggerAt(w, slog.LevelInfo) }

// loggerAt logs at level and above (everything with ATONCE_DEBUG set).
func loggerAt(w io.Writer, level slog.Level) *slog.Logger {
	if os.Getenv("ATONCE_DEBUG") != "" {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))
}

func runKernel(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("atonce kernel", flag.ContinueOnError)
	fs.SetOutput(stderr)
	connFile := fs.String("f", "", "the Jupyter connection file")
	listen := fs.String("listen", "", "address the distributed model's NATS server listens on, beyond loopback (default: a random loopback port)")
	tlsCert := fs.String("tls-cert", "", "TLS certificate (PEM) for the NATS server; with -listen and no certificate, a self-signed one is made")
	tlsKey := fs.String("tls-key", "", "the TLS certificate's key (PEM)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if (*tlsCert == "") != (*tlsKey == "") {
		fmt.Fprintln(stderr, "atonce kernel: -tls-cert and -tls-key go together")
		return 2
	}
	// The engine, which runs the NATS server, reads these.
	for name, v := range map[string]string{"ATONCE_NATS_LISTEN": *listen, "ATONCE_NATS_TLS_CERT": *tlsCert, "ATONCE_NATS_TLS_KEY": *tlsKey} {
		if v != "" {
			os.Setenv(name, v)
		}
	}
	if *connFile == "" && fs.NArg() == 1 {
		*connFile = fs.Arg(0)
	}
	if *connFile == "" {
		fmt.Fprintln(stderr, "atonce kernel: no connection file: run it as `atonce kernel -f FILE` (Jupyter does this for you)")
		return 2
	}
	conn, err := wire.ReadConnection(*connFile)
	if err != nil {
		fmt.Fprintf(stderr, "atonce kernel: %v\n", err)
		return 2
	}
	log := logger(stderr)
	exe, err := os.Executable()
	if err != nil {
		fmt.Fprintf(stderr, "atonce kernel: cannot find its own binary to start the engine: %v\n", err)
		return 1
	}
	// What must outlive an engine (the distributed cluster's address,
	// token and certificate, for the workers that joined it) lives in the
	// kernel's state directory; engines find it in the environment.
	debugDir := "" // the kernel makes its own
	if state, err := statedir.Create(""); err != nil {
		log.Warn("workers that join will not survive an engine crash", "err", err)
	} else {
		// The debugger's dumped cells live with the kernel's state.
		debugDir = filepath.Join(state.Path(), cellpath.DirMarker+"cells")
		defer func() {
			if err := state.Remove(); err != nil {
				log.Warn("removing the kernel's state", "err", err)
			}
		}()
		os.Setenv(statedir.Env, state.Path())
	}

	var k *kernel.Kernel
	sup, err := supervisor.New(supervisor.Options{
		Command:    []string{exe, "engine"},
		Background: func(ev enginemsg.Event) { k.Background(ev) },
		Debug:      func(ev json.RawMessage) { k.DebugEvent(ev) },
		Started:    func() { k.EngineStarted() },
		Logger:     log,
	})
	if err != nil {
		fmt.Fprintf(stderr, "atonce kernel: %v\n", err)
		return 1
	}
	defer sup.Close() // before the state directory goes
	k, err = kernel.New(kernel.Options{Connection: conn, Engine: sup, Info: kernelInfo(), Logger: log, DebugDir: debugDir})
	if err != nil {
		fmt.Fprintf(stderr, "atonce kernel: %v\n", err)
		return 2
	}

	ctx, cancel := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGHUP)
	defer cancel()
	sigint := make(chan os.Signal, 1)
	signal.Notify(sigint, os.Interrupt)
	defer signal.Stop(sigint)
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-sigint:
				log.Info("SIGINT: interrupting the running cell")
				k.Interrupt()
			case <-ctx.Done():
				return
			}
		}
	}()

	sup.StartAsync(ctx)
	if err := k.Run(ctx); err != nil {
		log.Error("kernel stopped", "err", err)
		cancel()
		return 1
	}
	cancel()
	return 0
}

func kernelInfo() kernel.Info {
	return kernel.Info{
		Implementation:        "atonce",
		ImplementationVersion: version,
		LanguageInfo: map[string]any{
			"name":               "go",
			"version":            "1.22",
			"mimetype":           "text/x-go",
			"file_extension":     ".go",
			"pygments_lexer":     "go",
			"codemirror_mode":    "go",
			"nbconvert_exporter": "",
		},
		Banner: "atonce " + version + ": Go cells interpreted by yaegi v0.16.1, run under every concurrency model.",
		HelpLinks: []map[string]string{
			{"text": "Go standard library", "url": "https://pkg.go.dev/std"},
		},
	}
}

// runEngine is the engine process the kernel starts: requests arrive on
// fd 3, events leave on fd 4, the log goes to stderr with a prefix the
// supervisor recognises.
func runEngine(args []string, stderr io.Writer) int {
	if len(args) != 0 {
		fmt.Fprintln(stderr, "atonce engine takes no arguments; the kernel starts it")
		return 2
	}
	requests, events, err := childproc.ChildPipes()
	if err != nil {
		fmt.Fprintln(stderr, "atonce engine: started without its pipes; the kernel starts the engine, not you")
		return 2
	}
	log := logger(&prefixWriter{w: stderr, prefix: supervisor.EngineLogPrefix})
	// What an engine killed before it could clean up left behind (its
	// NATS store, TLS key, race logs) goes now; this one's goes when it
	// ends.
	if removed, err := scratch.Sweep(); err != nil {
		log.Warn("removing what dead engines left", "err", err)
	} else if len(removed) > 0 {
		log.Info("removed what dead engines left", "dirs", removed)
	}
	defer scratch.Remove()
	exe, err := os.Executable()
	if err != nil {
		log.Error("cannot find the atonce binary to start workers", "err", err)
		exe = os.Args[0]
	}
	err = engine.Serve(context.Background(), engine.Options{
		Requests: requests, Events: events, Version: version, Logger: log,
		WorkerCommand: []string{workerBinary(exe), "worker", "-pipe"},
		SourceDir:     findSource(exe),
		OwnFD1:        true,
		StateDir:      os.Getenv(statedir.Env),
	})
	if err != nil {
		log.Error("engine stopped", "err", err)
		return 1
	}
	return 0
}

// workerBinary is the binary workers are started from: on Linux the
// engine's own image (/proc/self/exe), which stays the same build even
// when bin/atonce is rebuilt while the kernel runs; elsewhere exe.
func workerBinary(exe string) string {
	if runtime.GOOS == "linux" {
		if _, err := os.Stat("/proc/self/exe"); err == nil {
			return "/proc/self/exe"
		}
	}
	return exe
}

// prefixWriter starts every line it writes with prefix.
type prefixWriter struct {
	mu     sync.Mutex
	w      io.Writer
	prefix string
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var sb strings.Builder
	sc := bufio.NewScanner(strings.NewReader(string(b)))
	for sc.Scan() {
		sb.WriteString(p.prefix)
		sb.WriteString(sc.Text())
		sb.WriteByte('\n')
	}
	if _, err := io.WriteString(p.w, sb.String()); err != nil {
		return 0, err
	}
	return len(b), nil
}

// runWorker is a worker process: with -pipe, one the processes model
// starts, serving requests on fd 3 and answering on fd 4; with -nats, a
// distributed worker taking tasks from a kernel's NATS server.
func runWorker(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("atonce worker", flag.ContinueOnError)
	fs.SetOutput(stderr)
	pipe := fs.Bool("pipe", false, "serve the engine over fds 3 and 4 (the engine starts workers this way)")
	natsURL := fs.String("nats", "", "the kernel's NATS server, nats://TOKEN@HOST:PORT (as %workers join prints it)")
	queue := fs.String("queue", "", "the work queue (default: the kernel's default)")
	fingerprint := fs.String("tls-fingerprint", "", "the SHA-256 fingerprint of the server's TLS certificate, to pin it")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	log := logger(stderr)
	switch {
	case *pipe && *natsURL != "":
		fmt.Fprintln(stderr, "atonce worker: choose -pipe or -nats, not both")
		return 2
	case *natsURL != "":
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		// The native programs the kernel ships this worker go in its
		// scratch directory; those of a worker killed before it could
		// remove them go now.
		if _, err := scratch.Sweep(); err != nil {
			log.Debug("removing what dead workers left", "err", err)
		}
		defer scratch.Remove()
		q := *queue
		if q == "" {
			q = broker.DefaultQueue
		}
		err := worker.ServeNATS(ctx, worker.NATSOptions{
			URL: *natsURL, Token: os.Getenv("ATONCE_NATS_TOKEN"), Queue: q,
			TLSFingerprint: *fingerprint, Version: version, Logger: log,
		})
		if err != nil {
			fmt.Fprintf(stderr, "atonce worker: %v\n", err)
			return 1
		}
		return 0
	case !*pipe:
		fmt.Fprintln(stderr, "atonce worker: say how to reach the kernel: -nats nats://TOKEN@HOST:PORT (see %workers join in the notebook)")
		return 2
	}
	requests, answers, err := childproc.ChildPipes()
	if err != nil {
		fmt.Fprintln(stderr, "atonce worker -pipe: started without its pipes; the engine starts pipe workers, not you")
		return 2
	}
	if err := worker.ServePipe(context.Background(), requests, answers, version); err != nil {
		log.Error("worker stopped", "err", err)
		return 1
	}
	return 0
}

// parseWithArgs parses fs from args, flags allowed after the positional
// arguments too (atonce grade NOTEBOOK -json), and returns the positional
// arguments.
func parseWithArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// runAssign writes the student version of a notebook.
func runAssign(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("atonce assign", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("o", "", "where to write the student version; - for standard output (default: NAME-student.ipynb beside NOTEBOOK)")
	pos, err := parseWithArgs(fs, args)
	if err != nil {
		return 2
	}
	if len(pos) != 1 {
		fmt.Fprintln(stderr, "usage: atonce assign NOTEBOOK [-o OUT]")
		return 2
	}
	in := pos[0]
	if *out == "" {
		*out = strings.TrimSuffix(in, ".ipynb") + "-student.ipynb"
	}
	if abs(*out) == abs(in) {
		fmt.Fprintf(stderr, "atonce assign: %s is the teacher's notebook; write the student version elsewhere (-o)\n", in)
		return 2
	}
	nb, err := ipynb.Read(in)
	if err != nil {
		fmt.Fprintf(stderr, "atonce assign: %v\n", err)
		return 1
	}
	student, err := assign.Release(nb)
	if err != nil {
		fmt.Fprintf(stderr, "atonce assign: %s: %v\n", in, err)
		return 1
	}
	if *out == "-" {
		b, err := student.Marshal()
		if err == nil {
			_, err = stdout.Write(b)
		}
		if err != nil {
			fmt.Fprintf(stderr, "atonce assign: %v\n", err)
			return 1
		}
		return 0
	}
	if err := student.Write(*out); err != nil {
		fmt.Fprintf(stderr, "atonce assign: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "wrote the student version of %s to %s\n", in, *out)
	return 0
}

// abs is path made absolute, or path when that fails.
func abs(path string) string {
	if a, err := filepath.Abs(path); err == nil {
		return a
	}
	return path
}

// runGrade grades a submitted notebook in a fresh engine.
func runGrade(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("atonce grade", flag.ContinueOnError)
	fs.SetOutput(stderr)
	asJSON := fs.Bool("json", false, "report as JSON")
	source := fs.String("source", "", "the teacher's version: its graded and locked cells (hidden tests too) replace the submission's")
	timeout := fs.Duration("timeout", grade.DefaultCellTimeout, "the longest one cell may run before it is interrupted and fails")
	out := fs.String("o", "", "also write the submission as it ran, with its outputs, here")
	pos, err := parseWithArgs(fs, args)
	if err != nil {
		return 2
	}
	if len(pos) != 1 {
		fmt.Fprintln(stderr, "usage: atonce grade NOTEBOOK [-json] [-source TEACHER.ipynb] [-timeout 5m] [-o OUT]")
		return 2
	}
	nb, err := ipynb.Read(pos[0])
	if err != nil {
		fmt.Fprintf(stderr, "atonce grade: %v\n", err)
		return 1
	}
	opt := grade.Options{CellTimeout: *timeout, Logger: loggerAt(stderr, slog.LevelWarn)} // the user reads the grade, not the engine's start-up
	if *source != "" {
		if opt.Source, err = ipynb.Read(*source); err != nil {
			fmt.Fprintf(stderr, "atonce grade: %v\n", err)
			return 1
		}
	}
	exe, err := os.Executable()
	if err != nil {
		fmt.Fprintf(stderr, "atonce grade: cannot find its own binary to start the engine: %v\n", err)
		return 1
	}
	opt.EngineCommand = []string{exe, "engine"}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, err := grade.Run(ctx, nb, opt)
	if err != nil {
		fmt.Fprintf(stderr, "atonce grade: %s: %v\n", pos[0], err)
		return 1
	}
	if *out != "" {
		if err := res.Notebook.Write(*out); err != nil {
			fmt.Fprintf(stderr, "atonce grade: %v\n", err)
			return 1
		}
	}
	if !*asJSON {
		fmt.Fprint(stdout, res.Text(pos[0]))
		return 0
	}
	b, err := res.JSON(pos[0])
	if err != nil {
		fmt.Fprintf(stderr, "atonce grade: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "%s\n", b)
	return 0
}
