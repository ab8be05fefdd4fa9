// Package native is native mode's runtime: the package a notebook's
// generated Go program imports (as __atonce) so that the notebook's code,
// compiled by the Go toolchain, runs under the same models, with the same
// reports, as the interpreted notebook.
//
// A generated program is
//
//	func main() { __atonce.Main(__atonce.Program{Funcs: ..., Vars: ..., Remake: ..., Source: ...}) }
//
// and the notebook's time.Sleep is rewritten to [Sleep]. [Main] makes the
// program a worker that speaks the engine's worker protocols
// (workerserve), as `atonce worker` does:
//
//	prog -pipe                                   serve the engine on fds 3 and 4
//	prog -nats URL -queue NAME [-tls-fingerprint SHA256]
//	                                             take tasks from a NATS work queue
//
// (the NATS token, if not in URL, from ATONCE_NATS_TOKEN). Over either it
// introduces itself with the version [Version](Program.Source): the
// engine makes the notebook's workermsg.State with that version, and the
// program refuses a state of any other (it was built from other cells).
// The state's Cells are ignored: the program is the cells. The state's
// Globals set the variables; a variable whose value does not cross as
// JSON (a channel, a func, a value whose JSON does not decode) is made
// anew by its declaration's initializer when Program.Remake has one, and
// otherwise starts from its value when the program started (the zero
// value, for a variable the generator declared by its type); the state's
// Ready notes say which.
//
// It then runs what it is asked:
//
//   - a workermsg.Task (the processes and distributed models): one call of
//     the named function, whose result and changed variables cross back
//     as JSON and whose panic is the task's error: "task 3 panicked:
//     VALUE", then a blank line and the stack from the panic down to the
//     task's function, whose positions are the cells' (the generator's
//     //line directives), also in a model's task records;
//   - a workermsg.Run (native sequential, eventloop, gil, threads): the
//     in-process model runs in this process, on compiled code, and
//     answers with its report, task states traced as in the engine
//     (models.RunInWorker is the engine's side); a runtime crash (a
//     `fatal error: concurrent map writes` under threads) ends this
//     process only;
//   - a workermsg.Race, in a program built with -race: the same run, with
//     the races the detector saw attributed to the notebook's variables.
//
// Over pipes, what the tasks print on standard output goes to the engine
// as workermsg.Output, before the answer of the task or run that printed
// it, as an interpreted worker's does; standard error stays the
// process's, where the runtime's last words must be for the engine to
// explain a crash.
//
// Stopping: a task's [Sleep] returns early when its run is stopped
// (StopRun, or the end of a model's run), as the interpreter's does. A
// compiled task busy on a CPU cannot be stopped from inside (Go offers no
// way to interrupt a goroutine): the engine kills the process, as it kills
// the processes model's workers when a run is interrupted.
package native

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"

	"atonce/internal/childproc"
	"atonce/models"
	"atonce/models/workermsg"
	"atonce/models/workerserve"
)

// Program is what a generated program hands to [Main]: the notebook,
// compiled.
type Program struct {
	// Funcs are the notebook's functions with a task shape
	// (models.Shapes), by name: func(), func(int), func(int) T,
	// func(int) (T, error), the int any integer type.
	Funcs map[string]any
	// Vars are pointers to the notebook's package-level variables, by
	// name (&x).
	Vars map[string]any
	// Remake, for a variable whose value cannot cross as JSON (a chan, a
	// func, a sync.Mutex ...), re-runs its declaration's initializer;
	// absent for a variable that has none.
	Remake map[string]func()
	// Source is a hash of the generated source: the program's [Version].
	Source string
}

// Version is the version a native program built from source (its
// Program.Source) introduces itself with, and the only version of state
// it loads: the engine gives the program's workers a workermsg.State made
// with it.
func Version(source string) string { return "native+" + source }

// current is the context the tasks' Sleep calls wait on: the task's in a
// workermsg.Task (done when StopRun stops it), the request's during a
// model's run (whose own stop Sleep also sees), else none.
var current atomic.Pointer[context.Context]

func setCurrent(ctx context.Context) { current.Store(&ctx) }

// Sleep is the notebook's time.Sleep in a native program, rewritten: the
// await point of the models (models.Sleep). In an eventloop run it hands
// the loop to the next coroutine; in a gil run it lets another goroutine
// run; in every run it returns early when the run or the task is stopped.
func Sleep(d time.Duration) {
	ctx := context.Background()
	if p := current.Load(); p != nil {
		ctx = *p
	}
	_ = models.Sleep(ctx, d)
}

// Main runs the program as a worker, as the package comment says, and
// exits: 0 when the engine closed its pipe or the queue's server sent it
// away, 1 on a failure, 2 on bad arguments or a malformed Program (the
// generator's mistake). It never returns.
func Main(p Program) {
	os.Exit(run(p, os.Args[1:], os.Stderr))
}

const usage = `a notebook's native program, built by atonce: the engine starts it.

usage:
  %[1]s -pipe
  %[1]s -nats nats://[TOKEN@]HOST:PORT -queue NAME [-tls-fingerprint SHA256]
`

func run(p Program, args []string, stderr io.Writer) int {
	name := "native program"
	if len(os.Args) > 0 {
		name = os.Args[0]
	}
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprintf(stderr, usage, name) }
	pipe := fs.Bool("pipe", false, "serve the engine over fds 3 and 4")
	natsURL := fs.String("nats", "", "the kernel's NATS server, nats://[TOKEN@]HOST:PORT")
	queue := fs.String("queue", "", "the work queue of this program's tasks")
	fingerprint := fs.String("tls-fingerprint", "", "the SHA-256 fingerprint of the server's TLS certificate, to pin it")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	switch {
	case fs.NArg() > 0:
		fmt.Fprintf(stderr, "%s: unexpected arguments %q\n", name, fs.Args())
		fs.Usage()
		return 2
	case *pipe && *natsURL != "":
		fmt.Fprintf(stderr, "%s: choose -pipe or -nats, not both\n", name)
		return 2
	case !*pipe && *natsURL == "":
		fs.Usage()
		return 2
	case *natsURL != "" && *queue == "":
		fmt.Fprintf(stderr, "%s: -nats needs -queue: a native program takes only the tasks of its own build, from the queue the engine names\n", name)
		return 2
	}
	r, err := newRunner(p)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
		return 2
	}
	// The processes model's setting for a worker's collector, so that a
	// native worker is measured as an interpreted one is.
	models.TuneWorker()
	if *pipe {
		requests, answers, err := childproc.ChildPipes()
		if err != nil {
			fmt.Fprintf(stderr, "%s -pipe: started without its pipes; the engine starts a native program, not you\n", name)
			return 2
		}
		conn := workermsg.NewConn(requests, answers)
		// What the tasks print goes to the engine, as an interpreted
		// worker's does; not their stderr, where the runtime's last words
		// must stay for the engine to explain a crash.
		rl, err := relayStdout(func(o workermsg.Output) {
			_, _ = conn.Send(workermsg.Message{Kind: workermsg.KindOutput, Output: &o})
		})
		if err != nil {
			fmt.Fprintf(stderr, "%s: what the tasks print will not be shown: %v\n", name, err)
		} else {
			defer rl.Close()
			r.flush = rl.Sync
		}
		if err := workerserve.Pipe(context.Background(), conn, r); err != nil {
			fmt.Fprintf(stderr, "%s: %v\n", name, err)
			return 1
		}
		return 0
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err = workerserve.NATS(ctx, workerserve.NATSOptions{
		URL: *natsURL, Token: os.Getenv("ATONCE_NATS_TOKEN"), Queue: *queue,
		TLSFingerprint: *fingerprint, Logger: slog.New(slog.NewTextHandler(stderr, nil)),
	}, r)
	if err != nil && ctx.Err() == nil {
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
		return 1
	}
	return 0
}
