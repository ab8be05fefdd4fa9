package broker

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"atonce/models/broker/natsserver"
)

// natsServerBin returns Debian's nats-server, or skips the test when it
// is not installed.
func natsServerBin(t testing.TB) string {
	t.Helper()
	if bin, err := exec.LookPath("nats-server"); err == nil {
		return bin
	}
	for _, bin := range []string{"/usr/bin/nats-server", "/usr/sbin/nats-server"} {
		if _, err := os.Stat(bin); err == nil {
			return bin
		}
	}
	t.Skip("nats-server is not installed; install it with `sudo apt-get install -y nats-server` (or run install/setup-deps.sh)")
	return ""
}

// freePort returns a loopback TCP port nobody listens on now.
func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// natsNode is one nats-server process the test started.
type natsNode struct {
	name   string
	addr   string // the clients' host:port
	config string // its configuration file
	bin    string

	mu     sync.Mutex
	cmd    *exec.Cmd
	out    *bytes.Buffer
	exited chan struct{}
}

// start starts the node's process (again, after stop).
func (n *natsNode) start(t testing.TB) {
	t.Helper()
	n.mu.Lock()
	defer n.mu.Unlock()
	n.out = &bytes.Buffer{}
	n.cmd = exec.Command(n.bin, "-c", n.config)
	n.cmd.Stdout, n.cmd.Stderr = n.out, n.out
	if err := n.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	cmd := n.cmd
	go func() { cmd.Wait(); close(exited) }()
	n.exited = exited
}

// kill kills the node's process (SIGKILL: it says goodbye to nobody) and
// waits for it.
func (n *natsNode) kill() {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.cmd == nil {
		return
	}
	n.cmd.Process.Signal(syscall.SIGKILL)
	<-n.exited
	n.cmd = nil
}

// output is what the node's process has printed.
func (n *natsNode) output() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.out == nil {
		return ""
	}
	select {
	case <-n.exited:
		return n.out.String()
	default:
		return "(still running)"
	}
}

// natsCluster is a cluster of Debian nats-server processes with
// JetStream, on loopback, with a token.
type natsCluster struct {
	nodes []*natsNode
	token string
}

// startNATSCluster starts n clustered nats-server nodes, each with its
// configuration, random loopback ports and a store in the test's
// temporary directory, and returns once the cluster can place a stream
// on n servers. They are killed when the test ends.
func startNATSCluster(t *testing.T, n int) *natsCluster {
	t.Helper()
	bin := natsServerBin(t)
	token, err := natsserver.NewToken()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	c := &natsCluster{token: token}
	routes := make([]string, n)
	clusterPorts := make([]int, n)
	for i := range n {
		clusterPorts[i] = freePort(t)
		routes[i] = fmt.Sprintf("nats-route://127.0.0.1:%d", clusterPorts[i])
	}
	for i := range n {
		name := fmt.Sprintf("n%d", i+1)
		node := &natsNode{name: name, addr: fmt.Sprintf("127.0.0.1:%d", freePort(t)), bin: bin,
			config: filepath.Join(dir, name+".conf")}
		conf := fmt.Sprintf("server_name: %s\nlisten: %q\nauthorization { token: %q }\n"+
			"jetstream { store_dir: %q }\n"+
			"cluster { name: atonce-test\n listen: \"127.0.0.1:%d\"\n routes: [%s] }\n",
			name, node.addr, token, filepath.Join(dir, name), clusterPorts[i], strings.Join(routes, ", "))
		if err := os.WriteFile(node.config, []byte(conf), 0o600); err != nil {
			t.Fatal(err)
		}
		c.nodes = append(c.nodes, node)
	}
	// Registered first: the nodes started go also when a later one fails.
	t.Cleanup(func() {
		for _, node := range c.nodes {
			node.kill()
		}
		if t.Failed() {
			for _, node := range c.nodes {
				t.Logf("nats-server %s:\n%s", node.name, node.output())
			}
		}
	})
	for _, node := range c.nodes {
		node.start(t)
	}
	c.waitPlaces(t, n)
	return c
}

// URL lists every node's URL, the token in the first.
func (c *natsCluster) URL() string {
	urls := make([]string, len(c.nodes))
	for i, n := range c.nodes {
		urls[i] = "nats://" + n.addr
	}
	urls[0] = "nats://" + c.token + "@" + c.nodes[0].addr
	return strings.Join(urls, ",")
}

// waitPlaces waits until the cluster places a stream on replicas servers:
// every node has joined its JetStream group.
func (c *natsCluster) waitPlaces(t *testing.T, replicas int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	var last error
	for time.Now().Before(deadline) {
		last = c.tryPlace(replicas)
		if last == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("the NATS cluster could not place a stream on %d servers within 30 s: %v", replicas, last)
}

func (c *natsCluster) tryPlace(replicas int) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := Connect(ctx, c.URL(), "", WithMaxReconnects(0))
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.js.CreateStream(ctx, jetstream.StreamConfig{Name: "PROBE", Subjects: []string{"probe"},
		Storage: jetstream.MemoryStorage, Replicas: replicas}); err != nil {
		return err
	}
	return conn.js.DeleteStream(ctx, "PROBE")
}

// leader returns the node that leads stream.
func (c *natsCluster) leader(ctx context.Context, conn *Conn, stream string) (*natsNode, error) {
	s, err := conn.js.Stream(ctx, stream)
	if err != nil {
		return nil, err
	}
	info, err := s.Info(ctx)
	if err != nil {
		return nil, err
	}
	if info.Cluster == nil || info.Cluster.Leader == "" {
		return nil, fmt.Errorf("stream %s has no leader", stream)
	}
	for _, n := range c.nodes {
		if n.name == info.Cluster.Leader {
			return n, nil
		}
	}
	return nil, fmt.Errorf("stream %s is led by %q, not a node of the test", stream, info.Cluster.Leader)
}

// current reports whether every replica of stream is current.
func current(ctx context.Context, conn *Conn, stream string, replicas int) error {
	s, err := conn.js.Stream(ctx, stream)
	if err != nil {
		return err
	}
	info, err := s.Info(ctx)
	if err != nil {
		return err
	}
	if info.Cluster == nil || info.Cluster.Leader == "" {
		return errors.New("no leader")
	}
	n := 0
	for _, p := range info.Cluster.Replicas {
		if p.Current && !p.Offline {
			n++
		}
	}
	if n+1 < replicas {
		return fmt.Errorf("%d of %d followers current", n, replicas-1)
	}
	return nil
}

// TestCluster runs a queue on three clustered nats-server nodes, reached
// through a list of their URLs with the token given once: the queue, its
// results and the notebook state are kept on all three, and a run goes
// on, each result exactly once, when one node is killed, and then (with
// that one back: a stream lives while two of its three copies do) the
// node that leads the task stream. Each kill happens mid-run: the tasks
// after it wait until it is done.
func TestCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("three nats-server processes and two elections: skipped with -short")
	}
	cl := startNATSCluster(t, 3)
	kernel := connect(t, cl.URL(), "")
	if got := kernel.Replicas(); got != 3 {
		t.Errorf("Replicas through the list of three URLs got %d, want 3", got)
	}
	// One URL: the cluster tells of the others.
	if got := connect(t, "nats://"+cl.nodes[1].addr, cl.token).Replicas(); got != 3 {
		t.Errorf("Replicas through one node's URL got %d, want 3", got)
	}
	q, results := newQueue(t, kernel, QueueOptions{})
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	large := bytes.Repeat([]byte("x"), int(kernel.NATS().MaxPayload())+1)
	for key, data := range map[string][]byte{"small": []byte("v"), "large": large} {
		if err := PutState(ctx, kernel, q.Name(), key, data); err != nil {
			t.Fatalf("PutState(%s): %v", key, err)
		}
	}
	for _, name := range []string{TasksStream(q.Name()), ResultsStream(q.Name()), "KV_" + StateBucket(q.Name()), "OBJ_" + LargeStateBucket(q.Name())} {
		s, err := kernel.js.Stream(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		if got := s.CachedInfo().Config.Replicas; got != 3 {
			t.Errorf("stream %s is kept on %d servers, want 3", name, got)
		}
	}

	const n = 300
	// Tasks from n/4 on wait for the first kill, from n/2 on for the
	// second, so each comes while tasks are still queued.
	gates := []struct {
		from   int
		opened chan struct{}
	}{{n / 4, make(chan struct{})}, {n / 2, make(chan struct{})}}
	for _, id := range []string{"a", "b"} {
		startWorker(t, connect(t, cl.URL(), ""), q.Name(), id, func(ctx context.Context, task string, p []byte, d int) ([]byte, error) {
			var i int
			if _, err := fmt.Sscanf(task, "t%d", &i); err != nil {
				return nil, err
			}
			for _, g := range gates {
				if i >= g.from {
					select {
					case <-g.opened:
					case <-ctx.Done():
						return nil, ctx.Err()
					}
				}
			}
			return p, nil
		})
	}
	tasks := ids("t", n)
	publish(t, q, tasks...)

	// look retries one look at the cluster while nodes come and go.
	look := func(f func(context.Context) error) error {
		var err error
		for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			octx, cancel := context.WithTimeout(ctx, 2*time.Second)
			err = f(octx)
			cancel()
			if err == nil {
				return nil
			}
		}
		return err
	}
	leader := func() *natsNode {
		var lead *natsNode
		if err := look(func(ctx context.Context) (err error) {
			lead, err = cl.leader(ctx, kernel, TasksStream(q.Name()))
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return lead
	}
	got := map[string]Result{}
	killed := map[string]string{}
	for len(got) < n {
		var r Result
		select {
		case r = <-results:
		case <-ctx.Done():
			t.Fatalf("only %d of %d results; killed %v", len(got), n, killed)
		}
		if _, dup := got[r.TaskID]; dup {
			t.Fatalf("task %s reported twice", r.TaskID)
		}
		got[r.TaskID] = r
		switch len(got) {
		case gates[0].from:
			// A node that does not lead the task stream goes, and
			// comes back.
			other := cl.nodes[0]
			if other == leader() {
				other = cl.nodes[1]
			}
			other.kill()
			killed["follower"] = other.name
			other.start(t)
			for _, s := range []string{TasksStream(q.Name()), ResultsStream(q.Name())} {
				if err := look(func(ctx context.Context) error { return current(ctx, kernel, s, 3) }); err != nil {
					t.Fatalf("after %s came back, stream %s: %v", other.name, s, err)
				}
			}
			close(gates[0].opened)
		case gates[1].from:
			lead := leader()
			lead.kill()
			killed["leader"] = lead.name
			close(gates[1].opened)
		}
	}
	for _, id := range tasks {
		if r, ok := got[id]; !ok || string(r.Payload) != "payload of "+id {
			t.Errorf("task %s: %+v, want its payload back", id, r)
		}
	}
	expectNoMore(t, results, 200*time.Millisecond)
	// Deleting the queue needs the cluster's metadata leader, which the
	// cluster may still be electing: the servers go with the test anyway.
	q.Release()
	st := q.Stats()
	t.Logf("killed %v; stats %+v", killed, st)
	if st.Results != n || st.Failed != 0 || st.Errors != 0 || st.Duplicates != 0 {
		t.Errorf("stats %+v, want %d results, none failed, none twice", st, n)
	}
}
