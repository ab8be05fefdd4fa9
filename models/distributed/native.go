package distributed

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go"

	"atonce/models/broker"
	"atonce/models/nativeship"
	"atonce/models/workermsg"
	"atonce/models/workerpool"
)

// NativeProgram is a notebook's native program (native mode), whose
// workers a distributed run of it has instead of `atonce worker`s.
type NativeProgram struct {
	// Source is the program's source hash: it names the build, its work
	// queue and its binaries on the server.
	Source string
	// Binary is the program built for this machine: the cluster's local
	// workers run it.
	Binary string
	// Build builds the program for another platform (cross-compiled, cgo
	// off) and returns the binary's path, for the workers on other
	// machines; nil runs the program on this machine's platform only.
	Build func(ctx context.Context, goos, goarch string) (string, error)
}

// Native is the cluster as a native program's, to give a distributed run
// as Task.Remote.Cluster: the run's workers are the program, serving a
// queue of its own build (the workers of another build, or `atonce
// worker`s, never take its tasks), whose state has the program's version
// (Remote.State.Version: native.Version of its source). Its local
// workers run the program built for this machine; each worker that joined
// the cluster from another machine (a launcher) is sent the program built
// for its platform through the server and runs one worker of it
// (package nativeship), so that no worker machine needs a Go toolchain.
// Only the current build's workers run: a run of another build stops the
// old one's, here and on the launchers.
type Native struct {
	c *Cluster
	p NativeProgram
}

var _ interface{ LocalPIDs() []int } = (*Native)(nil)

// Native returns the cluster as p's, for a distributed run of p.
func (c *Cluster) Native(p NativeProgram) *Native { return &Native{c: c, p: p} }

// LocalPIDs returns the process ids of the cluster's workers on this
// machine (models.Cluster).
func (n *Native) LocalPIDs() []int { return n.c.LocalPIDs() }

// nativeState is the build the cluster's native runs use now.
type nativeState struct {
	source, binary, version string
	queue                   string            // its work queue
	pool                    *workerpool.Pool  // its workers on this machine
	exits                   int               // Cluster.exits told by its runs
	told                    map[int]bool      // native workers' deaths told, by pid
	shipped                 map[string]string // SHA-256 sent, by platform
}

// nativeQueueMark separates the kernel's queue from a build's source in
// the name of a native program's work queue, and nativeSourceLen is how
// much of the source the name keeps.
const (
	nativeQueueMark = "_n"
	nativeSourceLen = 16
)

// nativeQueuePrefix starts the name of every native build's work queue of
// the kernel whose queue is queue: within a queue name's 64 characters
// once the source is added.
func nativeQueuePrefix(queue string) string {
	return queue[:min(len(queue), 64-len(nativeQueueMark)-nativeSourceLen)] + nativeQueueMark
}

// nativeQueueName is the work queue of the build source of the kernel
// whose queue is queue.
func nativeQueueName(queue, source string) string {
	return nativeQueuePrefix(queue) + source[:min(len(source), nativeSourceLen)]
}

// nativeQueue tells whether q is the queue of one of this cluster's
// native builds.
func (c *Cluster) nativeQueue(q string) bool {
	prefix := nativeQueuePrefix(c.opt.Queue)
	return len(q) > len(prefix) && strings.HasPrefix(q, prefix)
}

// fleet is where a run's tasks go: the cluster's `atonce worker`s, or a
// native program's workers.
type fleet struct {
	queue    string
	ready    func() []broker.WorkerInfo
	addLocal func(ctx context.Context, n int) error
	// notes tell what getting the workers ready did (builds for other
	// platforms, binaries sent) and what went wrong (a launcher that runs
	// no worker of the build, and why).
	notes []string
	// died says which native workers on other machines died since the
	// build's last run (its launcher starts another when the build is
	// announced again).
	died func() []string
}

// fleet is the cluster's own: the `atonce worker`s of its queue.
func (c *Cluster) fleet() fleet {
	return fleet{queue: c.opt.Queue, ready: c.Ready, addLocal: c.AddLocal, died: func() []string { return nil }}
}

// fleet makes the native program's workers ready for a run whose state
// has version: it switches the cluster to the program's build (stopping
// an old build's workers), builds and stores the program for the
// launchers' platforms, and announces it to them, waiting for the
// workers they start to announce themselves.
func (n *Native) fleet(ctx context.Context, version string) (fleet, error) {
	c, p := n.c, n.p
	if p.Source == "" || p.Binary == "" {
		return fleet{}, errors.New("no native program to run: its source and binary are needed")
	}
	st := c.useBuild(ctx, p, version)
	f := fleet{
		queue:    st.queue,
		ready:    func() []broker.WorkerInfo { return c.ready(st.queue, version) },
		addLocal: func(ctx context.Context, k int) error { return c.addLocal(ctx, st.pool, k) },
	}
	notes, err := n.ship(ctx, st)
	if err != nil {
		return fleet{}, err
	}
	f.notes = notes
	f.died = func() []string { return c.died(st) }
	return f, nil
}

// useBuild makes p's build the cluster's current one: when it is another
// than the current, the old one's local workers stop, its queue goes and
// its workers are forgotten.
func (c *Cluster) useBuild(ctx context.Context, p NativeProgram, version string) *nativeState {
	c.mu.Lock()
	old := c.nat
	if old != nil && old.source == p.Source && old.binary == p.Binary && old.version == version {
		c.mu.Unlock()
		return old
	}
	st := &nativeState{source: p.Source, binary: p.Binary, version: version,
		queue: nativeQueueName(c.opt.Queue, p.Source), shipped: map[string]string{}, exits: len(c.exits), told: map[int]bool{}}
	st.pool = workerpool.New(localLauncher{c: c, command: []string{p.Binary}, queue: st.queue})
	c.nat = st
	if old != nil {
		for id, w := range c.known {
			if w.Queue == old.queue {
				delete(c.known, id)
			}
		}
	}
	c.mu.Unlock()
	if old != nil {
		old.pool.Close()
		if old.queue != st.queue {
			if err := broker.DeleteQueue(ctx, c.conn, old.queue); err != nil {
				c.log.Warn("distributed: removing an old native build's queue", "err", err)
			}
		}
	}
	// Create the queue now, so that the build's workers find it the moment
	// they connect instead of polling for it.
	if q, err := broker.NewQueue(ctx, c.conn, st.queue, queueOptions); err == nil {
		q.Release()
	} else {
		c.log.Warn("distributed: creating a native build's queue", "err", err)
	}
	return st
}

// launchers returns the workers that joined from elsewhere (not started
// by the cluster) and run the native programs they are sent.
func (c *Cluster) launchers() []broker.WorkerInfo {
	ws := c.Ready()
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.DeleteFunc(ws, func(w broker.WorkerInfo) bool {
		return !w.Launcher || (w.Host == c.host && c.started[w.PID])
	})
}

// nativeAnswerWait bounds how long the launchers may take to fetch the
// program and start it (answering the announcement).
const nativeAnswerWait = nativeship.DefaultAnnounceWait

// ship sends st's program to the launchers: built for each of their
// platforms, stored on the server once, announced; it waits for the
// workers they start to announce themselves. What a launcher could not do
// is a note, not an error: the run goes on with the other workers. The
// error is ctx's.
func (n *Native) ship(ctx context.Context, st *nativeState) ([]string, error) {
	c, p := n.c, n.p
	var notes []string
	byPlatform := map[string][]broker.WorkerInfo{}
	for _, w := range c.launchers() {
		if w.GOOS == "" || w.GOARCH == "" {
			notes = append(notes, fmt.Sprintf("%s did not say its platform: it runs no native worker", workerName(w)))
			continue
		}
		pl := nativeship.Platform(w.GOOS, w.GOARCH)
		byPlatform[pl] = append(byPlatform[pl], w)
	}
	b := workermsg.NativeBuild{Source: st.source, Queue: st.queue, Bucket: nativeship.Bucket(c.opt.Queue),
		Binaries: map[string]workermsg.NativeBinary{}}
	launchers := map[string]broker.WorkerInfo{}
	for _, pl := range slices.Sorted(maps.Keys(byPlatform)) {
		ws := byPlatform[pl]
		goos, goarch, _ := strings.Cut(pl, "/")
		path := p.Binary
		if pl != nativeship.Platform(runtime.GOOS, runtime.GOARCH) {
			if p.Build == nil {
				notes = append(notes, fmt.Sprintf("the native program is not built for %s: %s run(s) none of it", pl, workerNames(ws)))
				continue
			}
			t0 := time.Now()
			var err error
			if path, err = p.Build(ctx, goos, goarch); err != nil {
				if ctx.Err() != nil {
					return nil, ctx.Err()
				}
				notes = append(notes, fmt.Sprintf("the native program could not be built for %s, so %s run(s) none of it: %v", pl, workerNames(ws), err))
				continue
			}
			if d := time.Since(t0); d > time.Second {
				notes = append(notes, fmt.Sprintf("the native program was built for %s in %.1f s", pl, d.Seconds()))
			}
		}
		nb, stored, err := nativeship.Store(ctx, c.conn, c.opt.Queue, nativeship.Binary{Source: st.source, GOOS: goos, GOARCH: goarch, Path: path})
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			notes = append(notes, fmt.Sprintf("%s run(s) no native worker: %v", workerNames(ws), err))
			continue
		}
		if stored || st.shipped[pl] != nb.SHA256 {
			notes = append(notes, fmt.Sprintf("the native program for %s (%.1f MB) went to %s through the NATS server", pl, float64(nb.Size)/(1<<20), workerNames(ws)))
			st.shipped[pl] = nb.SHA256
		}
		b.Binaries[pl] = nb
		for _, w := range ws {
			b.Launchers = append(b.Launchers, w.ID)
			launchers[w.ID] = w
		}
	}
	if err := nativeship.Prune(ctx, c.conn, c.opt.Queue, st.source); err != nil {
		c.log.Warn("distributed: removing old native programs from the server", "err", err)
	}
	// Announced even to no launcher: those running an old build stop.
	answers, err := nativeship.Announce(ctx, c.conn, c.opt.Queue, b, nativeAnswerWait)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return append(notes, fmt.Sprintf("the native program could not be announced to the workers: %v", err)), nil
	}
	expect := map[string]workermsg.NativeStarted{}
	for _, id := range b.Launchers {
		w := launchers[id]
		a, ok := answers[id]
		switch {
		case !ok:
			notes = append(notes, fmt.Sprintf("%s did not answer within %v: it runs no native worker", workerName(w), nativeAnswerWait))
		case a.Err != "":
			notes = append(notes, fmt.Sprintf("%s runs no native worker: %s", workerName(w), a.Err))
		default:
			expect[id] = a
		}
		if d := a.Died; ok && d != nil && !st.told[d.PID] {
			c.mu.Lock()
			st.told[d.PID] = true
			c.mu.Unlock()
			notes = append(notes, fmt.Sprintf("the native worker on %s (pid %d) died since the last run: %s", d.Host, d.PID, d.Reason))
		}
	}
	for _, a := range c.awaitNative(ctx, st, expect) {
		notes = append(notes, fmt.Sprintf("the native worker on %s (pid %d) did not announce itself within %v", a.Host, a.PID, announceWait))
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	return notes, nil
}

// awaitNative waits until the native workers the launchers started have
// announced themselves on st's queue, for announceWait at most, and
// returns those that did not.
func (c *Cluster) awaitNative(ctx context.Context, st *nativeState, expect map[string]workermsg.NativeStarted) []workermsg.NativeStarted {
	timeout := time.NewTimer(announceWait)
	defer timeout.Stop()
	for {
		var missing []workermsg.NativeStarted
		c.mu.Lock()
		for _, a := range expect {
			if !c.knownAt(a.Host, a.PID, st.queue) {
				missing = append(missing, a)
			}
		}
		changed := c.changed
		c.mu.Unlock()
		if len(missing) == 0 {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return missing
		case <-timeout.C:
			return missing
		}
	}
}

// knownAt tells whether the worker process pid on host announced itself
// serving queue. c.mu is held.
func (c *Cluster) knownAt(host string, pid int, queue string) bool {
	for _, w := range c.known {
		if w.Host == host && w.PID == pid && w.Queue == queue {
			return true
		}
	}
	return false
}

// exitBuffer bounds the launchers' reports of native workers that exited
// and were not taken yet (takeExits).
const exitBuffer = 1024

// watchNativeExits listens for the launchers' reports of native workers
// that exited. They are taken (takeExits) when the cluster counts its
// workers, not by a goroutine of their own: a report a launcher sent
// before it answered an announcement is in the channel when the answer
// is read, so a run never counts a worker its launcher said is gone.
func (c *Cluster) watchNativeExits() error {
	c.exitMsgs = make(chan *nats.Msg, exitBuffer)
	if _, err := c.conn.NATS().ChanSubscribe(workermsg.NativeExitSubject(c.opt.Queue), c.exitMsgs); err != nil {
		return fmt.Errorf("listening for the native workers' deaths: %w", err)
	}
	return nil
}

// takeExits takes the reports of native workers that exited: they are
// forgotten, and those that died are kept for a run to tell (died).
func (c *Cluster) takeExits() {
	for {
		var m *nats.Msg
		select {
		case m = <-c.exitMsgs:
		default:
			return
		}
		var e workermsg.NativeExit
		if json.Unmarshal(m.Data, &e) != nil || e.PID == 0 {
			continue
		}
		if !e.Stopped {
			c.log.Warn("distributed: a native worker died", "host", e.Host, "pid", e.PID, "reason", e.Reason)
		}
		c.mu.Lock()
		for id, w := range c.known {
			if w.Host == e.Host && w.PID == e.PID {
				delete(c.known, id)
			}
		}
		if !e.Stopped {
			c.exits = append(c.exits, e)
		}
		c.mu.Unlock()
	}
}

// died says which native workers of st's build died since its last
// run said.
func (c *Cluster) died(st *nativeState) []string {
	c.takeExits()
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, e := range c.exits[st.exits:] {
		if e.Source == st.source && !st.told[e.PID] {
			st.told[e.PID] = true
			out = append(out, fmt.Sprintf("the native worker on %s (pid %d) died: %s", e.Host, e.PID, e.Reason))
		}
	}
	st.exits = len(c.exits)
	return out
}

// closeNative stops the native workers: this machine's, and the
// launchers' (told that no build runs now); the build's queue and
// binaries leave the server.
func (c *Cluster) closeNative() {
	c.mu.Lock()
	st := c.nat
	c.nat = nil
	c.mu.Unlock()
	if st == nil {
		return
	}
	st.pool.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if _, err := nativeship.Announce(ctx, c.conn, c.opt.Queue, workermsg.NativeBuild{}, time.Millisecond); err != nil {
		c.log.Debug("distributed: telling the launchers to stop their native workers", "err", err)
	}
	if err := broker.DeleteQueue(ctx, c.conn, st.queue); err != nil {
		c.log.Debug("distributed", "err", err)
	}
	if err := nativeship.DeleteBucket(ctx, c.conn, c.opt.Queue); err != nil {
		c.log.Debug("distributed", "err", err)
	}
}

// workerName names a worker in a note.
func workerName(w broker.WorkerInfo) string {
	return fmt.Sprintf("the worker on %s (pid %d)", w.Host, w.PID)
}

// workerNames names workers in a note.
func workerNames(ws []broker.WorkerInfo) string {
	names := make([]string, len(ws))
	for i, w := range ws {
		names[i] = workerName(w)
	}
	return strings.Join(names, ", ")
}
