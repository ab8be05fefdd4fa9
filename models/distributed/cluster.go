package distributed

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"atonce/internal/childproc"
	"atonce/internal/cputime"
	"atonce/models/broker"
	"atonce/models/broker/natsserver"
	"atonce/models/workermsg"
	"atonce/models/workerpool"
)

// ClusterOptions say where distributed tasks run.
type ClusterOptions struct {
	// URL of an existing NATS server or cluster (nats://[TOKEN@]HOST:PORT)
	// with JetStream; empty starts an embedded server.
	URL string
	// Token is the secret of URL when not in it, or the one the embedded
	// server requires (empty: a fresh one).
	Token string
	// TLSFingerprint pins the certificate of the server at URL (its
	// SHA-256), for a server with a self-signed one.
	TLSFingerprint string
	// Listen, TLSCert and TLSKey configure the embedded server: by default
	// it listens on a random loopback port. Listening beyond loopback
	// needs TLS: without a certificate, a self-signed one is made and
	// its fingerprint pinned in the join command.
	Listen          string
	TLSCert, TLSKey string
	// Queue is the work queue's name; empty means broker.DefaultQueue.
	Queue string
	// StateDir, if set, is where the cluster keeps what a restarted
	// engine needs to bring it back the same for the workers that joined
	// (see SavedCluster): the embedded server's address and token, its
	// self-signed certificate, its store. Empty keeps nothing, and a
	// self-signed certificate is removed on Close.
	StateDir string
	// Version is the kernel's version, which workers must match.
	Version string
	// WorkerCommand starts a local worker: the flags -nats URL, -queue
	// and -tls-fingerprint are appended, the token goes in the
	// environment (ATONCE_NATS_TOKEN), not on the command line.
	WorkerCommand []string
	Logger        *slog.Logger
}

// Cluster is the distributed model's world: a NATS server (embedded, or
// an existing one), the kernel's connection to it, and the workers it
// started on this machine. Workers on other machines join with
// JoinCommand.
type Cluster struct {
	opt    ClusterOptions
	server *natsserver.Server // nil when on an external server
	conn   *broker.Conn
	url    string // without the token
	token  string
	fp     string // the TLS fingerprint to pin, if any
	log    *slog.Logger
	// stopWatch ends the goroutine that records workers announcing
	// themselves, and watching waits for it.
	stopWatch context.CancelFunc
	watching  sync.WaitGroup
	// local owns the worker processes started on this machine.
	local *workerpool.Pool
	host  string // this machine's host name
	// tlsDir holds a self-signed certificate made for this cluster,
	// removed on Close (none with a StateDir).
	tlsDir string
	// serverTLS is the embedded server's certificate and key files.
	serverTLS [2]string

	mu    sync.Mutex
	known map[string]broker.WorkerInfo // workers that announced themselves, by ID
	// announced holds the announcements of this machine's workers by
	// process id, and changed is closed (and replaced) at each one.
	announced map[int]broker.WorkerInfo
	changed   chan struct{}
	started   map[int]bool    // process ids of the local workers started
	states    map[string]bool // queue and state key (NUL between) of states stored on the server
	closed    bool

	// clocks are the workers' clock offsets (clock.go), and stopClocks
	// ends the measurements in progress.
	clocks     clocks
	stopClocks context.CancelFunc
	// nat is the native program the cluster's native runs use now (nil
	// before the first), and exits the native workers on other machines
	// that died, as their launchers reported (see native.go).
	nat      *nativeState
	exits    []workermsg.NativeExit
	exitMsgs chan *nats.Msg // the launchers' reports, not taken yet
}

// StartCluster starts the embedded server (or connects to opt.URL) and
// connects the kernel to it.
func StartCluster(ctx context.Context, opt ClusterOptions) (*Cluster, error) {
	if opt.Queue == "" {
		opt.Queue = broker.DefaultQueue
	}
	log := opt.Logger
	if log == nil {
		log = slog.Default()
	}
	host, _ := os.Hostname()
	c := &Cluster{opt: opt, log: log, host: host, states: map[string]bool{},
		announced: map[int]broker.WorkerInfo{}, changed: make(chan struct{}), started: map[int]bool{}}
	c.local = workerpool.New(localLauncher{c: c, command: opt.WorkerCommand, queue: opt.Queue})
	c.clocks.workers = map[string]*workerClock{}
	c.clocks.ctx, c.stopClocks = context.WithCancel(context.Background())
	if opt.URL != "" {
		c.url, c.token = broker.SplitToken(opt.URL, opt.Token)
		c.fp = opt.TLSFingerprint
	} else {
		so, err := c.serverOptions()
		if err != nil {
			c.shutdownServer()
			return nil, err
		}
		srv, err := natsserver.Start(so)
		if err != nil {
			c.shutdownServer()
			return nil, fmt.Errorf("starting the NATS server: %w", err)
		}
		c.server, c.url, c.token, c.fp = srv, srv.URL(), srv.Token(), srv.TLSFingerprint()
	}
	var copts []broker.ConnectOption
	copts = append(copts, broker.WithName("atonce kernel"), broker.WithLogger(log))
	if c.fp != "" {
		copts = append(copts, broker.WithTLSFingerprint(c.fp))
	}
	conn, err := broker.Connect(ctx, c.dialURL(), c.token, copts...)
	if err != nil {
		c.shutdownServer()
		return nil, err
	}
	c.conn = conn
	c.known = map[string]broker.WorkerInfo{}
	watchCtx, stopWatch := context.WithCancel(context.Background())
	c.stopWatch = stopWatch
	hellos, err := broker.WatchWorkers(watchCtx, conn)
	if err != nil {
		c.Close()
		return nil, err
	}
	c.watching.Go(func() {
		for w := range hellos {
			c.remember(w)
		}
	})
	if err := c.watchNativeExits(); err != nil {
		c.Close()
		return nil, err
	}
	// Create the work queue now, so that workers find it the moment they
	// connect instead of polling for it when the first run creates it.
	if q, err := broker.NewQueue(ctx, conn, opt.Queue, queueOptions); err == nil {
		q.Release()
	} else {
		log.Warn("distributed: creating the work queue", "err", err)
	}
	// Workers that were connected before the kernel (an external server,
	// or an engine that crashed).
	if ws, err := broker.PingWorkers(ctx, conn, opt.Version, 100*time.Millisecond); err == nil {
		for _, w := range ws {
			c.remember(w)
		}
	}
	if opt.StateDir != "" {
		if err := c.save(); err != nil {
			log.Warn("distributed: workers that join will not survive an engine crash", "err", err)
		}
	}
	return c, nil
}

// remember records a worker that announced itself, unless it serves
// another queue (another kernel's, on a shared server). changed is closed
// (and replaced) at each.
func (c *Cluster) remember(w broker.WorkerInfo) {
	if !c.ours(w) {
		return
	}
	// A native program's worker has its build's version, not the kernel's.
	w.VersionMismatch = !c.nativeQueue(w.Queue) && w.Version != c.opt.Version
	c.mu.Lock()
	c.known[w.ID] = w
	if w.Host == c.host {
		c.announced[w.PID] = w
	}
	close(c.changed)
	c.changed = make(chan struct{})
	c.mu.Unlock()
	if !w.VersionMismatch {
		c.measure(w.ID) // in the background, ready for the next run
	}
}

// ours reports whether w serves this cluster's queue (a worker that does
// not say is taken to) or one of its native programs' queues.
func (c *Cluster) ours(w broker.WorkerInfo) bool {
	return w.Queue == "" || w.Queue == c.opt.Queue || c.nativeQueue(w.Queue)
}

// Ready returns the workers that can take tasks: those that announced
// themselves with the kernel's version, less local ones that exited.
// Workers on other machines that vanish silently stay listed until
// %workers asks them (Workers); tasks they held go to the others.
func (c *Cluster) Ready() []broker.WorkerInfo { return c.ready(c.opt.Queue, c.opt.Version) }

// ready returns the workers of queue with version, less local ones that
// exited.
func (c *Cluster) ready(queue, version string) []broker.WorkerInfo {
	c.takeExits()
	live := map[int]bool{}
	for _, pid := range c.LocalPIDs() {
		live[pid] = true
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []broker.WorkerInfo
	for _, w := range c.known {
		q := w.Queue
		if q == "" {
			q = c.opt.Queue
		}
		gone := w.Host == c.host && c.started[w.PID] && !live[w.PID]
		if q != queue || w.Version != version || gone {
			continue
		}
		out = append(out, w)
	}
	return out
}

// BeyondLoopback tells whether listen ("host:port") reaches beyond this
// machine.
func BeyondLoopback(listen string) bool {
	if listen == "" {
		return false
	}
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		host = listen
	}
	if host == "localhost" {
		return false
	}
	ip := net.ParseIP(host)
	return ip == nil || !ip.IsLoopback()
}

// dialURL is the URL this machine's clients use: the server's own, which
// reaches a server listening on all interfaces on loopback and one
// listening on one address (127.0.0.2:4222, say) there.
func (c *Cluster) dialURL() string { return c.url }

// Conn is the kernel's connection to the NATS server.
func (c *Cluster) Conn() *broker.Conn { return c.conn }

// Listen is the address the embedded server was asked to listen on
// ("" for a random loopback port).
func (c *Cluster) Listen() string { return c.opt.Listen }

// Queue is the name of the work queue.
func (c *Cluster) Queue() string { return c.opt.Queue }

// Embedded tells whether the cluster runs its own NATS server.
func (c *Cluster) Embedded() bool { return c.server != nil }

// URL is the server's address, without the token.
func (c *Cluster) URL() string { return c.url }

// JoinCommand is the one command that joins a worker on another machine
// to this cluster; it holds the token, so show it only to the user.
func (c *Cluster) JoinCommand() string {
	u := c.url
	if c.server != nil {
		host, _, _ := net.SplitHostPort(c.opt.Listen)
		if host == "" || host == "0.0.0.0" || host == "::" {
			host = publicHost()
		}
		if c.opt.Listen == "" {
			host = "127.0.0.1"
		}
		u = fmt.Sprintf("nats://%s", net.JoinHostPort(host, fmt.Sprint(c.server.Port())))
	}
	if i := strings.Index(u, "://"); i >= 0 && c.token != "" {
		u = u[:i+3] + c.token + "@" + u[i+3:]
	}
	cmd := "atonce worker -nats " + u
	if c.fp != "" {
		cmd += " -tls-fingerprint " + c.fp
	}
	if c.opt.Queue != broker.DefaultQueue {
		cmd += " -queue " + c.opt.Queue
	}
	return cmd
}

// publicHost guesses the address other machines reach this one by: the
// first non-loopback IPv4 address, else the host name.
func publicHost() string {
	addrs, err := net.InterfaceAddrs()
	if err == nil {
		for _, a := range addrs {
			if ipn, ok := a.(*net.IPNet); ok && !ipn.IP.IsLoopback() && ipn.IP.To4() != nil {
				return ipn.IP.String()
			}
		}
	}
	host, _ := os.Hostname()
	return host
}

// Workers asks every connected worker of this cluster's queue who it is
// (waiting briefly for the answers), and forgets those that do not
// answer.
func (c *Cluster) Workers(ctx context.Context) ([]broker.WorkerInfo, error) {
	ws, err := broker.PingWorkers(ctx, c.conn, c.opt.Version, 150*time.Millisecond)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.known = map[string]broker.WorkerInfo{}
	c.mu.Unlock()
	mine := ws[:0]
	for _, w := range ws {
		c.remember(w)
		if c.ours(w) && !c.nativeQueue(w.Queue) {
			mine = append(mine, w)
		}
	}
	return mine, nil
}

// AddLocal starts n workers on this machine and returns once they have
// announced themselves, or an error saying why not.
func (c *Cluster) AddLocal(ctx context.Context, n int) error {
	if len(c.opt.WorkerCommand) == 0 && n > 0 {
		return errors.New("no command to start a local worker")
	}
	return c.addLocal(ctx, c.local, n)
}

// addLocal starts n workers of pool on this machine (AddLocal's, or a
// native program's).
func (c *Cluster) addLocal(ctx context.Context, pool *workerpool.Pool, n int) error {
	if n <= 0 {
		return nil
	}
	c.mu.Lock()
	closed := c.closed
	c.mu.Unlock()
	if closed {
		return errors.New("the cluster is shut down")
	}
	_, err := pool.StartN(ctx, n, workerpool.StartOptions{Name: "a local worker"})
	switch {
	case err == nil:
		return nil
	case ctx.Err() != nil:
		return ctx.Err()
	case workerpool.IsRefused(err):
		return err
	}
	return fmt.Errorf("a local worker did not start: %w", err)
}

// announceWait bounds how long a local worker may take to announce
// itself.
const announceWait = 15 * time.Second

// localLauncher starts this machine's distributed workers: the worker
// command (`atonce worker`, or a native program) pointed at the cluster's
// server and a queue. A worker greets by announcing itself on the server.
type localLauncher struct {
	c       *Cluster
	command []string
	queue   string
}

// Spec implements workerpool.Launcher.
func (l localLauncher) Spec() childproc.Spec {
	c := l.c
	cmd := append(append([]string(nil), l.command...), "-nats", c.dialURL(), "-queue", l.queue)
	if c.fp != "" {
		cmd = append(cmd, "-tls-fingerprint", c.fp)
	}
	// The token goes in the environment, not on the command line.
	return childproc.Spec{Command: cmd, Env: append(os.Environ(), "ATONCE_NATS_TOKEN="+c.token)}
}

// Greet implements workerpool.Launcher: it waits for the worker's
// announcement on the server.
func (l localLauncher) Greet(ctx context.Context, w *workerpool.Worker) (workermsg.Hello, error) {
	c := l.c
	timeout := time.NewTimer(announceWait)
	defer timeout.Stop()
	for {
		c.mu.Lock()
		info, ok := c.announced[w.PID()]
		changed := c.changed
		if ok {
			c.started[w.PID()] = true
		}
		c.mu.Unlock()
		if ok {
			return workermsg.Hello{ID: info.ID, Version: info.Version, Host: info.Host, PID: info.PID, CPUs: info.CPUs}, nil
		}
		select {
		case <-changed:
		case <-w.Exited():
			return workermsg.Hello{}, errors.New("it exited before it announced itself")
		case <-ctx.Done():
			return workermsg.Hello{}, ctx.Err()
		case <-timeout.C:
			return workermsg.Hello{}, workerpool.Refuse(fmt.Errorf("a local worker did not announce itself within %v", announceWait))
		}
	}
}

// LocalPIDs returns the process ids of the local workers still running:
// `atonce worker`s and the current native program's.
func (c *Cluster) LocalPIDs() []int {
	var pids []int
	for _, w := range c.local.Live() {
		pids = append(pids, w.PID())
	}
	c.mu.Lock()
	nat := c.nat
	c.mu.Unlock()
	if nat != nil {
		for _, w := range nat.pool.Live() {
			pids = append(pids, w.PID())
		}
	}
	return pids
}

// localCPU returns the CPU time the local workers still running have
// used so far (workers on other machines are not counted).
func (c *Cluster) localCPU() time.Duration {
	var sum time.Duration
	for _, pid := range c.LocalPIDs() {
		sum += cputime.Process(pid)
	}
	return sum
}

// reportedCPU is the CPU time workers say they used, by worker ID: from
// their first task's start to their last task's end, as their results
// tell (workermsg.Result.CPUStart and CPUEnd).
type reportedCPU map[string][2]int64

// add counts result res of worker id.
func (r reportedCPU) add(id string, res workermsg.Result) {
	if res.CPUEnd <= 0 {
		return // the worker does not say
	}
	span, ok := r[id]
	if !ok {
		span = [2]int64{res.CPUStart, res.CPUEnd}
	}
	r[id] = [2]int64{min(span[0], res.CPUStart), max(span[1], res.CPUEnd)}
}

// remoteCPU returns the CPU time reported by the workers the cluster
// cannot read itself: all but those in info running on this machine
// with a process id in local (localCPU counts those).
func (c *Cluster) remoteCPU(r reportedCPU, info map[string]broker.WorkerInfo, local []int) time.Duration {
	var sum time.Duration
	for id, span := range r {
		if w, ok := info[id]; ok && w.Host == c.host && slices.Contains(local, w.PID) {
			continue
		}
		sum += time.Duration(max(span[1]-span[0], 0))
	}
	return sum
}

// putState stores the state's JSON under its key on the server for the
// workers of queue, once.
func (c *Cluster) putState(ctx context.Context, queue, key string, data []byte) error {
	c.mu.Lock()
	done := c.states[queue+"\x00"+key]
	c.mu.Unlock()
	if done {
		return nil
	}
	if err := broker.PutState(ctx, c.conn, queue, key, data); err != nil {
		return err
	}
	c.mu.Lock()
	c.states[queue+"\x00"+key] = true
	c.mu.Unlock()
	return nil
}

// Close stops the local workers, the connection and the embedded server.
func (c *Cluster) Close() {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	c.local.Close()
	c.closeNative()
	if c.stopWatch != nil {
		c.stopWatch()
		c.watching.Wait()
	}
	c.stopClocks()
	c.clocks.measuring.Wait()
	c.conn.Close()
	c.shutdownServer()
}

func (c *Cluster) shutdownServer() {
	if c.server != nil {
		c.server.Shutdown()
	}
	if c.tlsDir != "" {
		os.RemoveAll(c.tlsDir)
	}
}
