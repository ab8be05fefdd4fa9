package distributed

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"atonce/models/broker"
	"atonce/models/broker/natsserver"
)

// joinedWorker is a worker that joined c the way `atonce worker` does,
// running in the test: it answers pings and echoes its tasks.
func joinedWorker(t *testing.T, c *Cluster, id string) {
	t.Helper()
	queueWorker(t, c, id, c.Queue())
}

// queueWorker is a worker of queue on c's server.
func queueWorker(t *testing.T, c *Cluster, id, queue string) {
	t.Helper()
	var opts []broker.ConnectOption
	if c.fp != "" {
		opts = append(opts, broker.WithTLSFingerprint(c.fp))
	}
	if os.Getenv("ATONCE_TEST_DEBUG") != "" {
		opts = append(opts, broker.WithLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	}
	conn, err := broker.Connect(t.Context(), c.dialURL(), c.token, opts...)
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	info := broker.NewWorkerInfo(c.opt.Version)
	info.ID, info.Queue = id, queue
	if err := broker.ServeWorkerInfo(ctx, conn, info); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		done <- broker.Consume(ctx, conn, queue, func(_ context.Context, _ string, p []byte, _ int) ([]byte, error) {
			return p, nil
		}, broker.WithWorkerID(id))
	}()
	t.Cleanup(func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("worker %s: %v", id, err)
		}
		conn.Close()
	})
}

// waitReady waits until c counts the worker id as ready.
func waitReady(t *testing.T, c *Cluster, id string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		for _, w := range c.Ready() {
			if w.ID == id {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("worker %s is not ready; ready: %+v", id, c.Ready())
}

// runsOn publishes a task on c's queue and checks worker id answers it.
func runsOn(t *testing.T, c *Cluster, id string) {
	t.Helper()
	q, err := broker.NewQueue(t.Context(), c.Conn(), c.Queue(), queueOptions)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Release()
	results, err := q.Results(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if err := q.Publish(t.Context(), "t1", []byte("hello")); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-results:
		if r.Worker != id || string(r.Payload) != "hello" {
			t.Errorf("result %+v, want hello from %s", r, id)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("no result")
	}
}

func mode(t *testing.T, path string) os.FileMode {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

// TestClusterKeptAcrossEngines starts a cluster with a state directory,
// joins a worker, stops the cluster the way a crashed engine's goes (no
// chance to forget anything), and brings it back from what it saved: the
// same join command, and the same worker takes its tasks.
func TestClusterKeptAcrossEngines(t *testing.T) {
	for _, tt := range []struct {
		name, listen string
		tls          bool
	}{
		{"loopback", "127.0.0.1:0", false},
		{"another loopback address", "127.0.0.2:0", false},
		{"beyond loopback", "0.0.0.0:0", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			base := ClusterOptions{Version: "test", StateDir: dir}
			opt := base
			opt.Listen = tt.listen
			first, err := StartCluster(t.Context(), opt)
			if err != nil {
				t.Fatal(err)
			}
			if got := first.fp != ""; got != tt.tls {
				t.Fatalf("TLS got %v, want %v", got, tt.tls)
			}
			files := map[string]os.FileMode{filepath.Join(dir, clusterFile): 0o600, filepath.Join(dir, storeDirName): 0o700}
			if tt.tls {
				files[filepath.Join(dir, tlsDirName)] = 0o700
				files[first.serverTLS[0]] = 0o600
				files[first.serverTLS[1]] = 0o600
			}
			for f, want := range files {
				if got := mode(t, f); got != want {
					t.Errorf("%s: mode got %v, want %v", f, got, want)
				}
			}
			join := first.JoinCommand()
			joinedWorker(t, first, "joined")
			waitReady(t, first, "joined")
			runsOn(t, first, "joined")
			first.Close()

			opt, ok, err := SavedCluster(dir, base)
			if err != nil || !ok {
				t.Fatalf("SavedCluster got %v, %v; want the saved cluster", ok, err)
			}
			second, err := StartCluster(t.Context(), opt)
			if err != nil {
				t.Fatal(err)
			}
			defer second.Close()
			if got := second.JoinCommand(); got != join {
				t.Errorf("join command got %q, want %q", got, join)
			}
			waitReady(t, second, "joined")
			runsOn(t, second, "joined")

			if err := ForgetCluster(dir); err != nil {
				t.Fatal(err)
			}
			if _, ok, err := SavedCluster(dir, base); ok || err != nil {
				t.Errorf("after ForgetCluster, SavedCluster got %v, %v; want nothing", ok, err)
			}
			for _, f := range []string{clusterFile, tlsDirName} {
				if _, err := os.Stat(filepath.Join(dir, f)); !os.IsNotExist(err) {
					t.Errorf("%s survived ForgetCluster: %v", f, err)
				}
			}
		})
	}
}

// TestClusterRemovesItsCertificate checks that a cluster without a state
// directory removes its self-signed certificate and key, and the server's
// store, when it closes.
func TestClusterRemovesItsCertificate(t *testing.T) {
	c, err := StartCluster(t.Context(), ClusterOptions{Version: "test", Listen: "0.0.0.0:0"})
	if err != nil {
		t.Fatal(err)
	}
	if c.tlsDir == "" || c.fp == "" {
		t.Fatalf("no self-signed certificate: dir %q, fingerprint %q", c.tlsDir, c.fp)
	}
	for _, f := range c.serverTLS {
		if got, want := mode(t, f), os.FileMode(0o600); got != want {
			t.Errorf("%s: mode got %v, want %v", f, got, want)
		}
	}
	c.Close()
	if _, err := os.Stat(c.tlsDir); !os.IsNotExist(err) {
		t.Errorf("the certificate's directory survived Close: %v", err)
	}
}

func TestSavedClusterErrors(t *testing.T) {
	unreadable := t.TempDir()
	if err := os.WriteFile(filepath.Join(unreadable, clusterFile), []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name, dir string
		wantErr   bool
	}{
		{"no state directory", "", false},
		{"nothing saved", t.TempDir(), false},
		{"unreadable", unreadable, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, ok, err := SavedCluster(tt.dir, ClusterOptions{})
			if ok || (err != nil) != tt.wantErr {
				t.Errorf("SavedCluster got %v, %v; want false, error %v", ok, err, tt.wantErr)
			}
		})
	}
}

// TestJoinCommandOfExternalServer checks the join command holds the
// token of an external server, whichever way it was given, and the
// cluster's URL does not.
func TestJoinCommandOfExternalServer(t *testing.T) {
	srv, err := natsserver.Start(natsserver.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	for _, tt := range []struct {
		name       string
		opt        ClusterOptions
		wantInJoin string
		wantURL    string // default srv.URL()
	}{
		{"token in the URL", ClusterOptions{URL: srv.ClientURL()}, srv.ClientURL(), ""},
		{"token apart", ClusterOptions{URL: srv.URL(), Token: srv.Token()}, srv.ClientURL(), ""},
		{"another queue", ClusterOptions{URL: srv.ClientURL(), Queue: "other"}, srv.ClientURL() + " -queue other", ""},
		// A cluster's servers (here the one server twice): the token once,
		// which the worker uses for each.
		{"a list of servers", ClusterOptions{URL: srv.URL() + "," + srv.URL(), Token: srv.Token()},
			srv.ClientURL() + "," + srv.URL(), srv.URL() + "," + srv.URL()},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tt.opt.Version = "test"
			c, err := StartCluster(t.Context(), tt.opt)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if got, want := c.JoinCommand(), "atonce worker -nats "+tt.wantInJoin; got != want {
				t.Errorf("JoinCommand got %q, want %q", got, want)
			}
			want := srv.URL()
			if tt.wantURL != "" {
				want = tt.wantURL
			}
			if got := c.URL(); got != want {
				t.Errorf("URL got %q, want %q", got, want)
			}
		})
	}
}

// TestClusterCountsItsQueuesWorkers joins a worker of the cluster's queue
// and one of another kernel's queue on the same server: the cluster lists
// and counts its own only.
func TestClusterCountsItsQueuesWorkers(t *testing.T) {
	c, err := StartCluster(t.Context(), ClusterOptions{Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	queueWorker(t, c, "theirs", "another-kernel")
	joinedWorker(t, c, "mine")
	waitReady(t, c, "mine")
	ws, err := c.Workers(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		got  []broker.WorkerInfo
	}{
		{"Workers", ws},
		{"Ready", c.Ready()},
	} {
		var ids []string
		for _, w := range tt.got {
			ids = append(ids, w.ID)
		}
		if len(ids) != 1 || ids[0] != "mine" {
			t.Errorf("%s got %v, want [mine]", tt.name, ids)
		}
	}
}

// TestNativeQueueName checks a native build's queue: a valid queue name
// for any kernel queue, told apart from the kernel's and from another
// kernel's.
func TestNativeQueueName(t *testing.T) {
	queueName := regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
	long := strings.Repeat("q", 64)
	for _, tt := range []struct {
		queue, source, want string
	}{
		{"atonce", "0123456789abcdef0123", "atonce_n0123456789abcdef"},
		{"atonce-1a2b3c4d", "ff", "atonce-1a2b3c4d_nff"},
		{long, "0123456789abcdef0123", long[:46] + "_n0123456789abcdef"},
	} {
		t.Run(tt.queue[:min(len(tt.queue), 16)], func(t *testing.T) {
			got := nativeQueueName(tt.queue, tt.source)
			if got != tt.want || !queueName.MatchString(got) {
				t.Errorf("nativeQueueName(%q, %q) = %q, want %q (1 to 64 letters, digits, '-' or '_')", tt.queue, tt.source, got, tt.want)
			}
			c := &Cluster{opt: ClusterOptions{Queue: tt.queue}}
			if !c.nativeQueue(got) || c.nativeQueue(tt.queue) {
				t.Errorf("nativeQueue(%q) = %t and nativeQueue(%q) = %t; want true, false", got, c.nativeQueue(got), tt.queue, c.nativeQueue(tt.queue))
			}
			other := &Cluster{opt: ClusterOptions{Queue: tt.queue + "x"}}
			if tt.queue != long && other.nativeQueue(got) {
				t.Errorf("the kernel of queue %qx takes %q for its own", tt.queue, got)
			}
		})
	}
}
