package natsserver

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"atonce/internal/scratch"
	"atonce/models/broker"
)

// TestMain removes the scratch directory the servers' stores were made
// in.
func TestMain(m *testing.M) {
	code := m.Run()
	scratch.Remove()
	os.Exit(code)
}

// startServer starts a server that stops when the test ends.
func startServer(t testing.TB, opt Options) *Server {
	t.Helper()
	s, err := Start(opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Shutdown)
	return s
}

// connect connects a client to url, closed when the test ends.
func connect(t testing.TB, url, token string) *broker.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := broker.Connect(ctx, url, token)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func TestStart(t *testing.T) {
	s := startServer(t, Options{})
	t.Logf("server start took %s", s.StartTime())
	if !regexp.MustCompile(`^nats://127\.0\.0\.1:\d+$`).MatchString(s.URL()) {
		t.Errorf("URL = %q", s.URL())
	}
	if !regexp.MustCompile(`^[0-9a-f]{48}$`).MatchString(s.Token()) {
		t.Errorf("token %q is not 192 bits of hex", s.Token())
	}
	if want := "nats://" + s.Token() + "@127.0.0.1:"; !strings.HasPrefix(s.ClientURL(), want) {
		t.Errorf("ClientURL = %q, want prefix %q", s.ClientURL(), want)
	}
	other := startServer(t, Options{})
	if other.Token() == s.Token() || other.Port() == s.Port() {
		t.Errorf("two servers share a token or port")
	}
	// The token embedded in the URL is enough.
	c := connect(t, s.ClientURL(), "")
	if c.Server() != s.URL() {
		t.Errorf("Conn.Server() = %q, want the URL without the token %q", c.Server(), s.URL())
	}
}

func TestStartTime(t *testing.T) {
	var times []time.Duration
	for range 5 {
		s, err := Start(Options{})
		if err != nil {
			t.Fatal(err)
		}
		times = append(times, s.StartTime())
		s.Shutdown()
	}
	t.Logf("server start times: %v", times)
}

func TestListen(t *testing.T) {
	s := startServer(t, Options{Listen: ":0"})
	if !strings.HasPrefix(s.URL(), "nats://127.0.0.1:") {
		t.Errorf("URL of a server on all interfaces = %q, want loopback", s.URL())
	}
	connect(t, s.URL(), s.Token())
	if _, err := Start(Options{Listen: "nonsense"}); err == nil {
		t.Error("a bad listen address was accepted")
	}
}

func TestStoreDirRemoved(t *testing.T) {
	given := filepath.Join(t.TempDir(), "nats")
	// What a server killed without Shutdown left there.
	if err := os.MkdirAll(filepath.Join(given, "jetstream", "leftover"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name, dir string
	}{
		{"temporary", ""},
		{"given", given},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Start(Options{StoreDir: tt.dir})
			if err != nil {
				t.Fatal(err)
			}
			dir := s.storeDir
			if tt.dir != "" && dir != tt.dir {
				t.Errorf("store dir got %s, want %s", dir, tt.dir)
			}
			fi, err := os.Stat(dir)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := fi.Mode().Perm(), os.FileMode(0o700); got != want {
				t.Errorf("store dir mode got %v, want %v", got, want)
			}
			if _, err := os.Stat(filepath.Join(dir, "jetstream", "leftover")); !os.IsNotExist(err) {
				t.Errorf("a dead server's leftover is still in the store dir: %v", err)
			}
			s.Shutdown()
			s.Shutdown()
			if _, err := os.Stat(dir); !os.IsNotExist(err) {
				t.Errorf("store dir %s still there after Shutdown: %v", dir, err)
			}
		})
	}
}

func TestNoDiskStreams(t *testing.T) {
	s := startServer(t, Options{})
	c := connect(t, s.URL(), s.Token())
	ctx := t.Context()
	st, err := c.JetStream().CreateStream(ctx, jetstream.StreamConfig{Name: "DISK", Subjects: []string{"disk"}, Storage: jetstream.FileStorage})
	if err != nil {
		t.Logf("file stream refused: %v", err)
		return
	}
	if _, err := c.JetStream().Publish(ctx, "disk", bytes.Repeat([]byte("x"), 100)); err == nil {
		info, _ := st.Info(ctx)
		t.Errorf("a file-backed stream stored a message: %+v", info.State)
	} else {
		t.Logf("file stream cannot store: %v", err)
	}
}

// BenchmarkStart measures starting (and stopping) an embedded server.
func BenchmarkStart(b *testing.B) {
	var start []time.Duration
	for b.Loop() {
		s, err := Start(Options{})
		if err != nil {
			b.Fatal(err)
		}
		start = append(start, s.StartTime())
		s.Shutdown()
	}
	slices.Sort(start)
	b.ReportMetric(float64(start[len(start)/2].Microseconds()), "start-p50-µs")
}
