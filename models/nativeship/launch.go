package nativeship

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"atonce/internal/childproc"
	"atonce/internal/scratch"
	"atonce/models/broker"
	"atonce/models/workermsg"
)

// TokenEnv names the environment variable a native worker reads its NATS
// token from (never its command line, which other users of the machine
// can read).
const TokenEnv = "ATONCE_NATS_TOKEN"

// fetchWait bounds fetching one binary from the server.
const fetchWait = 5 * time.Minute

// stopGrace is how long a native worker asked to stop (SIGTERM) may take
// before it is killed.
const stopGrace = 2 * time.Second

// LaunchOptions say which announcements a [Launcher] follows and how its
// native workers reach the kernel: as the launcher itself does.
type LaunchOptions struct {
	// Queue is the kernel's work queue, which the launcher serves: it
	// follows the announcements on workermsg.NativeSubject(Queue).
	Queue string
	// Worker is the launcher's worker id, as the announcements name it.
	Worker string
	// URL, Token and TLSFingerprint are how the launcher reached the
	// server; its native workers are given the same, the token in their
	// environment ([TokenEnv]), not on their command line.
	URL, Token, TLSFingerprint string
	// Dir is where binaries are written; "" means a new directory in this
	// process's scratch directory (internal/scratch), removed when Run
	// returns.
	Dir    string
	Logger *slog.Logger
}

// Launcher runs the native programs a kernel announces, one worker
// process of the current build at a time: create it with [NewLauncher],
// then call [Launcher.Run], which owns the process and the binaries.
type Launcher struct {
	opt      LaunchOptions
	conn     *broker.Conn
	log      *slog.Logger
	sub      *nats.Subscription
	msgs     chan *nats.Msg
	dir      string
	madeDir  bool
	host     string
	platform string
	cur      *build // the current build's binary and process; nil when none
}

// build is the native program of one build on this machine.
type build struct {
	source string
	bin    workermsg.NativeBinary
	path   string          // the binary written
	proc   *childproc.Proc // the native worker; nil when none runs
	// died is the last native worker of the build that died, until an
	// announcement's answer tells it.
	died *workermsg.NativeExit
}

// NewLauncher subscribes to the announcements of opt.Queue on conn, so
// that none is missed once it returns; [Launcher.Run] serves them.
func NewLauncher(conn *broker.Conn, opt LaunchOptions) (*Launcher, error) {
	if opt.Worker == "" || opt.Queue == "" {
		return nil, errors.New("a launcher of native programs needs its worker id and queue")
	}
	log := opt.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	host, _ := os.Hostname()
	l := &Launcher{
		opt: opt, conn: conn, log: log.With("launcher", opt.Worker),
		msgs: make(chan *nats.Msg, 64), host: host,
		platform: Platform(runtime.GOOS, runtime.GOARCH),
	}
	sub, err := conn.NATS().ChanSubscribe(workermsg.NativeSubject(opt.Queue), l.msgs)
	if err != nil {
		return nil, fmt.Errorf("listening for the kernel's native programs: %w", err)
	}
	l.sub = sub
	return l, nil
}

// Run serves the announcements until ctx is done, then stops the native
// worker it runs, removes the binaries it wrote and stops listening.
func (l *Launcher) Run(ctx context.Context) {
	defer l.close()
	for {
		var exited <-chan struct{}
		if l.cur != nil && l.cur.proc != nil {
			exited = l.cur.proc.Exited()
		}
		select {
		case <-ctx.Done():
			return
		case m := <-l.msgs:
			l.handle(ctx, m)
		case <-exited:
			l.exited()
		}
	}
}

// close is Run's end.
func (l *Launcher) close() {
	_ = l.sub.Unsubscribe()
	l.drop()
	if l.madeDir {
		if err := os.RemoveAll(l.dir); err != nil {
			l.log.Warn("could not remove the native programs' directory", "dir", l.dir, "err", err)
		}
	}
}

// handle follows one announcement and answers it, if it names this
// launcher.
func (l *Launcher) handle(ctx context.Context, m *nats.Msg) {
	var b workermsg.NativeBuild
	if err := json.Unmarshal(m.Data, &b); err != nil {
		l.log.Warn("ignored an unreadable announcement of a native program", "err", err)
		return
	}
	if b.Source == "" || !slices.Contains(b.Launchers, l.opt.Worker) {
		if l.cur != nil {
			l.log.Info("stopping the native worker: the kernel's native build runs elsewhere", "source", l.cur.source)
		}
		l.drop()
		return
	}
	ans := l.start(ctx, b)
	if ans.Err != "" {
		l.log.Error("cannot run the kernel's native program", "source", b.Source, "err", ans.Err)
	}
	if m.Reply == "" {
		return
	}
	data, _ := json.Marshal(ans)
	if err := m.Respond(data); err != nil {
		l.log.Debug("could not answer the kernel's announcement", "err", err)
	}
}

// start makes a native worker of b run here, fetching its binary unless
// it was fetched already, and says which process runs or why none does.
func (l *Launcher) start(ctx context.Context, b workermsg.NativeBuild) workermsg.NativeStarted {
	ans := workermsg.NativeStarted{Worker: l.opt.Worker, Source: b.Source, Host: l.host}
	fail := func(err error) workermsg.NativeStarted {
		ans.Err = err.Error()
		return ans
	}
	if l.cur != nil && l.cur.source != b.Source {
		l.drop() // an old build's
	}
	if l.cur != nil && l.cur.proc != nil {
		select {
		case <-l.cur.proc.Exited(): // and Run has not seen it yet
			l.exited()
		default:
			ans.PID = l.cur.proc.PID()
			return ans
		}
	}
	if l.cur != nil {
		ans.Died, l.cur.died = l.cur.died, nil
	}
	bin, ok := b.Binaries[l.platform]
	if !ok {
		built := slices.Sorted(maps.Keys(b.Binaries))
		return fail(fmt.Errorf("the kernel built its native program for %s, not for this worker's %s", strings.Join(built, ", "), l.platform))
	}
	if l.cur == nil || l.cur.bin != bin {
		l.drop()
		path, err := l.fetch(ctx, b, bin)
		if err != nil {
			return fail(err)
		}
		l.cur = &build{source: b.Source, bin: bin, path: path}
	} else if err := verify(l.cur.path, bin, l.platform); err != nil {
		// The binary a native worker that died ran: still the one built?
		l.drop()
		return fail(err)
	}
	proc, err := l.spawn(l.cur.path, b)
	if err != nil {
		return fail(err)
	}
	l.cur.proc = proc
	ans.PID = proc.PID()
	l.log.Info("native worker started", "source", b.Source, "queue", b.Queue, "pid", ans.PID)
	return ans
}

// fetch writes the binary of b for this platform to the launcher's
// directory, 0700, and returns its path once its SHA-256 is the one the
// kernel announced; otherwise nothing is left of it.
func (l *Launcher) fetch(ctx context.Context, b workermsg.NativeBuild, bin workermsg.NativeBinary) (string, error) {
	dir, err := l.directory()
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(ctx, fetchWait)
	defer cancel()
	obs, err := l.conn.JetStream().ObjectStore(ctx, b.Bucket)
	if err != nil {
		return "", fmt.Errorf("the kernel's store of native programs (%s) is not on the NATS server: %w", b.Bucket, err)
	}
	r, err := obs.Get(ctx, bin.Object)
	if err != nil {
		return "", fmt.Errorf("fetching the native program for %s from the NATS server: %w", l.platform, err)
	}
	defer r.Close()
	name := "notebook-" + b.Source[:min(len(b.Source), 16)]
	if runtime.GOOS == "windows" {
		name += ".exe"
	}
	path := filepath.Join(dir, name)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o700)
	if err != nil {
		return "", fmt.Errorf("writing the native program: %w", err)
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, h), r)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(path, 0o700) // whatever the umask took
	}
	if err != nil {
		os.Remove(path)
		if errors.Is(err, jetstream.ErrDigestMismatch) {
			return "", fmt.Errorf("the native program for %s arrived damaged from the NATS server (its SHA-256 is not the one the server recorded): it was not run", l.platform)
		}
		return "", fmt.Errorf("fetching the native program for %s from the NATS server: %w", l.platform, err)
	}
	if err := matches(hex.EncodeToString(h.Sum(nil)), n, bin, l.platform); err != nil {
		os.Remove(path)
		return "", err
	}
	l.log.Debug("native program fetched", "source", b.Source, "bytes", n, "path", path)
	return path, nil
}

// verify checks that the binary at path is still bin.
func verify(path string, bin workermsg.NativeBinary, platform string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("the native program fetched before is gone: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return fmt.Errorf("reading the native program fetched before: %w", err)
	}
	return matches(hex.EncodeToString(h.Sum(nil)), n, bin, platform)
}

// matches refuses a binary whose SHA-256 or size is not the one the
// kernel built.
func matches(sum string, size int64, bin workermsg.NativeBinary, platform string) error {
	if sum == bin.SHA256 && size == bin.Size {
		return nil
	}
	return fmt.Errorf("the native program for %s is not the one the kernel built: its SHA-256 is %s (%d bytes), the kernel's %s (%d bytes); it was not run",
		platform, sum, size, bin.SHA256, bin.Size)
}

// directory returns where binaries go, made on first use.
func (l *Launcher) directory() (string, error) {
	if l.dir != "" {
		return l.dir, nil
	}
	if l.opt.Dir != "" {
		if err := os.MkdirAll(l.opt.Dir, 0o700); err != nil {
			return "", fmt.Errorf("making a directory for the native programs: %w", err)
		}
		l.dir = l.opt.Dir
		return l.dir, nil
	}
	dir, err := scratch.MkdirTemp("native-")
	if err != nil {
		return "", fmt.Errorf("making a directory for the native programs: %w", err)
	}
	l.dir, l.madeDir = dir, true
	return dir, nil
}

// spawn starts the binary at path as a native worker of b's queue, with
// the launcher's server, token and TLS pin. It dies with the launcher
// (internal/childproc).
func (l *Launcher) spawn(path string, b workermsg.NativeBuild) (*childproc.Proc, error) {
	u, token := broker.SplitToken(l.opt.URL, l.opt.Token)
	cmd := []string{path, "-nats", u, "-queue", b.Queue}
	if l.opt.TLSFingerprint != "" {
		cmd = append(cmd, "-tls-fingerprint", l.opt.TLSFingerprint)
	}
	env := slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, TokenEnv+"=") })
	if token != "" {
		env = append(env, TokenEnv+"="+token)
	}
	log := l.log.With("source", b.Source)
	spec := childproc.Spec{
		Command: cmd, Env: env, Dir: l.dir, Group: true,
		Stderr: func(line string) bool {
			log.Debug("native worker", "says", line)
			return false // kept, to explain its death
		},
	}
	for attempt := 0; ; attempt++ {
		proc, err := childproc.Start(spec)
		// A binary just written can be busy for a moment: another process
		// forked while it was open for writing holds it until it execs.
		if errors.Is(err, syscall.ETXTBSY) && attempt < 20 {
			time.Sleep(25 * time.Millisecond)
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("could not start the native program for %s: %w", l.platform, err)
		}
		return proc, nil
	}
}

// drop stops the native worker, if one runs, and removes its binary.
func (l *Launcher) drop() {
	if l.cur == nil {
		return
	}
	p := l.cur.proc
	if p != nil {
		p.Stop(stopGrace)
		l.log.Info("native worker stopped", "source", l.cur.source, "pid", p.PID())
	}
	if err := os.Remove(l.cur.path); err != nil && !errors.Is(err, os.ErrNotExist) {
		l.log.Warn("could not remove an old native program", "path", l.cur.path, "err", err)
	}
	if p != nil { // once it is gone with its binary
		l.report(workermsg.NativeExit{Worker: l.opt.Worker, Source: l.cur.source, Host: l.host, PID: p.PID(), Stopped: true, Reason: "stopped by its launcher"})
	}
	l.cur = nil
}

// exited reports that the native worker exited unasked; its binary stays
// for the next announcement of the build to start another.
func (l *Launcher) exited() {
	p := l.cur.proc
	l.cur.proc = nil
	reason, _ := p.Explain("the native worker")
	p.Reap()
	l.log.Warn("native worker exited", "source", l.cur.source, "pid", p.PID(), "reason", reason)
	e := workermsg.NativeExit{Worker: l.opt.Worker, Source: l.cur.source, Host: l.host, PID: p.PID(), Reason: reason}
	l.cur.died = &e
	l.report(e)
}

// report tells the kernel a native worker exited.
func (l *Launcher) report(e workermsg.NativeExit) {
	data, _ := json.Marshal(e)
	if err := l.conn.NATS().Publish(workermsg.NativeExitSubject(l.opt.Queue), data); err != nil {
		l.log.Debug("could not report the native worker's exit", "err", err)
	}
}
