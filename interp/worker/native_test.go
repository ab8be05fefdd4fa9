package worker_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"atonce/internal/childproc"
	"atonce/internal/leakcheck"
	"atonce/interp/modelrun"
	"atonce/interp/native"
	"atonce/models"
	"atonce/models/broker"
	"atonce/models/distributed"
	nativert "atonce/models/native"
	"atonce/models/nativeship"
	"atonce/models/workermsg"
)

// testVersion is the kernel's and the joined worker's version in these
// tests.
const testVersion = "nativeship-test"

// The notebook whose native program the tests ship: pid tells which
// process ran a task. The second build differs by a cell.
var (
	cells1 = []string{`import "os"`, "func pid(i int) int { return os.Getpid() }"}
	cells2 = append(slices.Clone(cells1), "const generation = 2")
)

// arm64ID is the worker id of the linux/arm64 machine the test plays.
const arm64ID = "arm64-machine-worker"

// TestNativeProgramShipped runs a notebook's native program on a worker
// that joined the kernel's cluster from a process with no Go toolchain:
// the program built for its platform goes through the NATS server's
// object store, is checked, and runs as its child; a linux/arm64 machine
// among the workers (played by the test, since none is here) is sent a
// cross-compiled program it checks; a re-run reuses what was sent; a
// binary that is not the one built is refused; a native worker that dies
// is told; a new build replaces the old one's processes and binaries; and
// nothing is left.
func TestNativeProgramShipped(t *testing.T) {
	if testing.Short() {
		t.Skip("builds native programs, one cross-compiled for linux/arm64")
	}
	if runtime.GOOS != "linux" || runtime.GOARCH == "arm64" {
		t.Skip("reads /proc, and plays a linux/arm64 machine for a cross-compiled program")
	}
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("native programs are built with the Go toolchain, and there is no `go` on PATH")
	}
	before := leakcheck.Goroutines()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	b := &native.Builder{SourceDir: root, CacheDir: t.TempDir()}
	build := func(cells []string) (*native.Program, *native.Binary) {
		t.Helper()
		p, err := b.Generate(ctx, cells, "pid")
		if err != nil {
			t.Fatal(err)
		}
		bin, err := b.Build(ctx, p, native.Options{})
		if err != nil {
			t.Fatal(err)
		}
		return p, bin
	}
	p1, bin1 := build(cells1)

	modelrun.Configure(modelrun.Config{Version: testVersion, Logger: testLogger()})
	c, err := modelrun.Cluster(ctx)
	if err != nil {
		t.Fatal(err)
	}
	queue := c.Queue()
	js := c.Conn().JetStream()

	// The worker joins with the command %workers join prints, from a
	// process whose PATH has no go and whose GOROOT is unset; its scratch
	// directory, where binaries go, is in tmp.
	tmp := t.TempDir()
	joined := startJoined(t, c.JoinCommand(), tmp)
	joinedID := awaitLauncher(t, c, joined.PID())

	// The linux/arm64 machine: its presence, and its answers to the
	// announcements, which check the binary it is sent and run nothing.
	arm64 := playArm64(t, ctx, c, queue)

	run := func(t *testing.T, p *native.Program, bin *native.Binary, workers int) models.Report {
		t.Helper()
		nc, err := modelrun.NativeCluster(ctx, b, p, bin)
		if err != nil {
			t.Fatal(err)
		}
		st := workermsg.NewState(nativert.Version(p.Hash), nil, nil)
		rep, err := distributed.Model{}.Run(ctx, models.Task{Name: "pid", N: 6,
			Remote: &models.Remote{Func: "pid", State: st, Cluster: nc}}, models.Options{Workers: workers})
		if err != nil || len(rep.Tasks) != 6 {
			t.Fatalf("got %d tasks, %v; want 6 tasks, no error (notes %q)\n%s", len(rep.Tasks), err, rep.Notes, joined.logs())
		}
		for _, n := range rep.Notes {
			t.Logf("note: %s", n)
		}
		return rep
	}
	// shipped is the native worker the joined worker runs: every task ran
	// there, it is the joined worker's child, its binary is in the joined
	// worker's scratch directory (0700), and it finds no toolchain either.
	shipped := func(t *testing.T, rep models.Report) int {
		t.Helper()
		pids := pidsOf(t, rep)
		if len(pids) != 1 {
			t.Fatalf("tasks ran in processes %v, want one: the shipped program", pids)
		}
		pid := pids[0]
		if kids := childrenOf(t, joined.PID()); !slices.Equal(kids, []int{pid}) {
			t.Errorf("the joined worker's children got %v, want the tasks' process %d", kids, pid)
		}
		exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(exe, tmp+string(filepath.Separator)) || !strings.HasPrefix(filepath.Base(exe), "notebook-") {
			t.Errorf("the shipped program runs from %s, want a notebook-* file in the joined worker's scratch directory under %s", exe, tmp)
		}
		if fi, err := os.Stat(exe); err != nil || fi.Mode().Perm() != 0o700 {
			t.Errorf("the shipped program's mode got %v (%v), want 0700", fi.Mode(), err)
		}
		env, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
		if err != nil {
			t.Fatal(err)
		}
		for _, kv := range strings.Split(string(env), "\x00") {
			if k, v, _ := strings.Cut(kv, "="); k == "GOROOT" || (k == "PATH" && goOn(v) != "") {
				t.Errorf("the shipped program's environment has %s", kv)
			}
		}
		return pid
	}

	var p1Pid int
	t.Run("shipped to a worker with no toolchain", func(t *testing.T) {
		rep := run(t, p1, bin1, 1)
		p1Pid = shipped(t, rep)
		wantNotes(t, rep, []string{
			"the native program for linux/amd64",
			"the native program for linux/arm64",
			"the worker on an-arm64-machine (pid 4242) runs no native worker: checked, not run",
		}, nil)
		want := []string{p1.Hash + "/linux-amd64", p1.Hash + "/linux-arm64"}
		if got := objects(t, ctx, js, queue); !slices.Equal(got, want) {
			t.Errorf("the object store holds %v, want %v", got, want)
		}
		if err := arm64.checked(p1.Hash); err != nil {
			t.Error(err)
		}
	})

	t.Run("a re-run reuses the program and its worker", func(t *testing.T) {
		rep := run(t, p1, bin1, 1)
		wantNotes(t, rep, nil, []string{"went to", "built for"})
		if pid := shipped(t, rep); pid != p1Pid {
			t.Errorf("the re-run ran in process %d, want the shipped worker %d still", pid, p1Pid)
		}
	})

	t.Run("a binary that is not the one built is refused", func(t *testing.T) {
		obs, err := js.ObjectStore(ctx, nativeship.Bucket(queue))
		if err != nil {
			t.Fatal(err)
		}
		name := p1.Hash + "/linux-amd64"
		info, err := obs.GetInfo(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		good, err := os.ReadFile(bin1.Path)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(good)
		if _, err := obs.PutBytes(ctx, name, bytes.Repeat([]byte("not the program\n"), 1000)); err != nil {
			t.Fatal(err)
		}
		// An announcement of a build whose binary is the object, as the
		// kernel built it: the joined worker fetches it and must refuse it.
		answers, err := nativeship.Announce(ctx, c.Conn(), queue, workermsg.NativeBuild{
			Source: "corrupted", Queue: queue + "_ncorrupted", Bucket: nativeship.Bucket(queue),
			Binaries:  map[string]workermsg.NativeBinary{"linux/amd64": {Object: name, Size: int64(info.Size), SHA256: hex.EncodeToString(sum[:])}},
			Launchers: []string{joinedID},
		}, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		a := answers[joinedID]
		if want := "the native program for linux/amd64 is not the one the kernel built: its SHA-256 is "; !strings.Contains(a.Err, want) ||
			!strings.Contains(a.Err, hex.EncodeToString(sum[:])) || !strings.HasSuffix(a.Err, "it was not run") || a.PID != 0 {
			t.Errorf("the joined worker's answer got %+v, want it refused: %q ... the kernel's %x ... it was not run", a, want, sum)
		}
		// The old build's worker stopped; no binary is left.
		if err := leakcheck.WaitGone(p1Pid, 10*time.Second); err != nil {
			t.Errorf("the old build's worker: %v", err)
		}
		if got := binaries(t, tmp); len(got) != 0 {
			t.Errorf("binaries left in the joined worker's scratch directory: %v", got)
		}
		// The kernel sees the object changed, and sends the program again.
		rep := run(t, p1, bin1, 1)
		wantNotes(t, rep, []string{"the native program for linux/amd64"}, nil)
		if p1Pid = shipped(t, rep); !slices.Contains(binaries(t, tmp), "notebook-"+p1.Hash[:16]) {
			t.Errorf("binaries got %v, want the program of build %s", binaries(t, tmp), p1.Hash[:16])
		}
	})

	t.Run("a native worker that died is told and replaced", func(t *testing.T) {
		if p1Pid <= 0 {
			t.Fatalf("no process to kill (pid %d)", p1Pid)
		}
		if err := syscall.Kill(p1Pid, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		if err := leakcheck.WaitGone(p1Pid, 10*time.Second); err != nil {
			t.Fatal(err)
		}
		rep := run(t, p1, bin1, 1)
		wantNotes(t, rep, []string{fmt.Sprintf("(pid %d) died since the last run: the native worker was killed by signal 9", p1Pid)}, nil)
		dead := p1Pid
		if p1Pid = shipped(t, rep); p1Pid == dead {
			t.Errorf("tasks ran in the dead worker %d", dead)
		}
	})

	// localNative checks that the cluster runs one local worker, the
	// program built here (not shipped), and that the tasks ran there or
	// in the joined worker's one; it returns the local worker.
	localNative := func(t *testing.T, rep models.Report, bin *native.Binary) int {
		t.Helper()
		local := c.LocalPIDs()
		if len(local) != 1 {
			t.Fatalf("local workers got %v, want one native worker", local)
		}
		if exe, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", local[0])); exe != bin.Path {
			t.Errorf("the local native worker runs %s, want the program built here, %s", exe, bin.Path)
		}
		kids := childrenOf(t, joined.PID())
		if len(kids) != 1 {
			t.Fatalf("the joined worker's children got %v, want its native worker", kids)
		}
		for _, pid := range pidsOf(t, rep) {
			if pid != kids[0] && pid != local[0] {
				t.Errorf("a task ran in process %d, want the shipped worker %d or the local one %d", pid, kids[0], local[0])
			}
		}
		return local[0]
	}

	t.Run("local workers run the program built here", func(t *testing.T) {
		rep := run(t, p1, bin1, 2)
		localNative(t, rep, bin1)
		if kids := childrenOf(t, joined.PID()); !slices.Equal(kids, []int{p1Pid}) {
			t.Errorf("the joined worker's children got %v, want its native worker %d still", kids, p1Pid)
		}
	})

	t.Run("a new build replaces the old one's workers", func(t *testing.T) {
		old := c.LocalPIDs()
		p2, bin2 := build(cells2)
		if p2.Hash == p1.Hash {
			t.Fatal("the second build has the first one's source")
		}
		rep := run(t, p2, bin2, 2)
		wantNotes(t, rep, []string{"the native program for linux/amd64", "the native program for linux/arm64"}, nil)
		localNative(t, rep, bin2)
		for _, pid := range append(old, p1Pid) {
			if err := leakcheck.WaitGone(pid, 10*time.Second); err != nil {
				t.Errorf("the old build's worker: %v", err)
			}
		}
		if got, want := binaries(t, tmp), []string{"notebook-" + p2.Hash[:16]}; !slices.Equal(got, want) {
			t.Errorf("binaries got %v, want %v", got, want)
		}
		want := []string{p2.Hash + "/linux-amd64", p2.Hash + "/linux-arm64"}
		if got := objects(t, ctx, js, queue); !slices.Equal(got, want) {
			t.Errorf("the object store holds %v, want %v", got, want)
		}
		if err := arm64.checked(p2.Hash); err != nil {
			t.Error(err)
		}
	})

	// Nothing left: the joined worker stops its native worker and removes
	// its scratch directory; the kernel's cluster stops its local ones.
	kids := childrenOf(t, joined.PID())
	joined.Stop(5 * time.Second)
	if err := joined.Wait(); err != nil {
		t.Errorf("the joined worker exited with %v\n%s", err, joined.logs())
	}
	for _, pid := range kids {
		if err := leakcheck.WaitGone(pid, 10*time.Second); err != nil {
			t.Errorf("the joined worker's native worker: %v", err)
		}
	}
	if left, _ := filepath.Glob(filepath.Join(tmp, "*")); len(left) != 0 {
		t.Errorf("the joined worker left %v", left)
	}
	arm64.stop()
	modelrun.Shutdown()
	if kids, err := leakcheck.Children(); err == nil && len(kids) > 0 {
		t.Errorf("processes left behind: %v", kids)
	}
	before.Check(t)
}

func testLogger() *slog.Logger {
	level := slog.LevelError
	if os.Getenv("ATONCE_TEST_DEBUG") != "" {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
}

// goOn returns the go command found in a PATH list, "" if none.
func goOn(path string) string {
	for _, dir := range filepath.SplitList(path) {
		if fi, err := os.Stat(filepath.Join(dir, "go")); err == nil && !fi.IsDir() {
			return filepath.Join(dir, "go")
		}
	}
	return ""
}

// joinedWorker is the test binary serving as a worker that joined.
type joinedWorker struct {
	*childproc.Proc
	mu  sync.Mutex
	log []string
}

func (w *joinedWorker) logs() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return "the joined worker's log:\n" + strings.Join(w.log, "\n")
}

// startJoined starts the test binary as the worker join (the command
// %workers join prints) makes, with no Go toolchain on its PATH, no
// GOROOT, and tmp as its temporary directory.
func startJoined(t *testing.T, join, tmp string) *joinedWorker {
	t.Helper()
	args, ok := strings.CutPrefix(join, "atonce worker ")
	if !ok {
		t.Fatalf("the join command %q is not atonce worker's", join)
	}
	var path []string
	for _, dir := range filepath.SplitList(os.Getenv("PATH")) {
		if goOn(dir) == "" {
			path = append(path, dir)
		}
	}
	env := slices.DeleteFunc(os.Environ(), func(kv string) bool {
		k, _, _ := strings.Cut(kv, "=")
		return k == "PATH" || k == "GOROOT" || k == "TMPDIR" || k == joinedWorkerEnv || k == "ATONCE_NATS_TOKEN"
	})
	env = append(env, "PATH="+strings.Join(path, string(filepath.ListSeparator)), "TMPDIR="+tmp, joinedWorkerEnv+"="+testVersion)
	w := &joinedWorker{}
	p, err := childproc.Start(childproc.Spec{
		Command: append([]string{os.Args[0]}, strings.Fields(args)...),
		Env:     env,
		Stderr: func(line string) bool {
			w.mu.Lock()
			defer w.mu.Unlock()
			w.log = append(w.log, line)
			return false
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	w.Proc = p
	t.Cleanup(func() { p.Stop(5 * time.Second) })
	return w
}

// awaitLauncher waits until the worker process pid has announced itself
// to the cluster as a launcher of native programs, and returns its id.
func awaitLauncher(t *testing.T, c *distributed.Cluster, pid int) string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		for _, w := range c.Ready() {
			if w.PID == pid {
				if !w.Launcher || w.GOOS != runtime.GOOS || w.GOARCH != runtime.GOARCH {
					t.Fatalf("the joined worker announced %+v, want a launcher on %s/%s", w, runtime.GOOS, runtime.GOARCH)
				}
				return w.ID
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("the joined worker (pid %d) did not announce itself", pid)
	return ""
}

// arm64Machine is a linux/arm64 worker the test plays: it announces
// itself a launcher, and answers each announcement naming it after
// checking the binary it is sent (from the object store: its SHA-256 is
// the announced one, and it is an arm64 ELF executable), without running
// it.
type arm64Machine struct {
	conn *broker.Conn
	sub  *nats.Subscription
	mu   sync.Mutex
	seen map[string]error // by build: what checking its binary found
}

func playArm64(t *testing.T, ctx context.Context, c *distributed.Cluster, queue string) *arm64Machine {
	t.Helper()
	_, token := broker.SplitToken(strings.Fields(c.JoinCommand())[3], "")
	conn, err := broker.Connect(ctx, c.URL(), token)
	if err != nil {
		t.Fatal(err)
	}
	m := &arm64Machine{conn: conn, seen: map[string]error{}}
	t.Cleanup(m.stop)
	m.sub, err = conn.NATS().Subscribe(workermsg.NativeSubject(queue), func(msg *nats.Msg) {
		var b workermsg.NativeBuild
		if json.Unmarshal(msg.Data, &b) != nil || !slices.Contains(b.Launchers, arm64ID) {
			return
		}
		err := checkArm64(conn, b)
		m.mu.Lock()
		m.seen[b.Source] = err
		m.mu.Unlock()
		ans := workermsg.NativeStarted{Worker: arm64ID, Source: b.Source, Host: "an-arm64-machine", Err: "checked, not run: the test plays a linux/arm64 machine"}
		if err != nil {
			ans.Err = err.Error()
		}
		data, _ := json.Marshal(ans)
		_ = msg.Respond(data)
	})
	if err != nil {
		t.Fatal(err)
	}
	info := broker.WorkerInfo{ID: arm64ID, Host: "an-arm64-machine", PID: 4242, CPUs: 1, GOOS: "linux", GOARCH: "arm64",
		Version: testVersion, Queue: queue, Launcher: true, Started: time.Now()}
	if err := broker.ServeWorkerInfo(ctx, conn, info); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !slices.ContainsFunc(c.Ready(), func(w broker.WorkerInfo) bool { return w.ID == arm64ID }) {
		if time.Now().After(deadline) {
			t.Fatal("the cluster did not see the linux/arm64 worker")
		}
		time.Sleep(20 * time.Millisecond)
	}
	return m
}

// checkArm64 fetches b's linux/arm64 binary and checks it.
func checkArm64(conn *broker.Conn, b workermsg.NativeBuild) error {
	bin, ok := b.Binaries["linux/arm64"]
	if !ok {
		return fmt.Errorf("no linux/arm64 binary announced, only %v", b.Binaries)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	obs, err := conn.JetStream().ObjectStore(ctx, b.Bucket)
	if err != nil {
		return err
	}
	data, err := obs.GetBytes(ctx, bin.Object)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(data)
	if hex.EncodeToString(sum[:]) != bin.SHA256 || int64(len(data)) != bin.Size {
		return fmt.Errorf("the linux/arm64 binary's SHA-256 is %x (%d bytes), the announced %s (%d bytes)", sum, len(data), bin.SHA256, bin.Size)
	}
	f, err := elf.NewFile(bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("the linux/arm64 binary is no ELF file: %w", err)
	}
	if f.Machine != elf.EM_AARCH64 || f.Type != elf.ET_EXEC {
		return fmt.Errorf("the linux/arm64 binary is a %s %s, want an EM_AARCH64 executable", f.Machine, f.Type)
	}
	return nil
}

// checked says how the check of build source's binary went; an error
// when none was sent.
func (m *arm64Machine) checked(source string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	err, ok := m.seen[source]
	if !ok {
		return fmt.Errorf("the linux/arm64 worker was sent no program of build %s", source)
	}
	return err
}

func (m *arm64Machine) stop() {
	if m.sub != nil {
		_ = m.sub.Unsubscribe()
	}
	m.conn.Close()
}

// pidsOf returns the distinct process ids the tasks of rep returned.
func pidsOf(t *testing.T, rep models.Report) []int {
	t.Helper()
	var pids []int
	for _, rec := range rep.Tasks {
		f, ok := rec.Result.(float64)
		if !ok || rec.Err != "" {
			t.Fatalf("task %d got %v (%s), want a process id", rec.Index, rec.Result, rec.Err)
		}
		if !slices.Contains(pids, int(f)) {
			pids = append(pids, int(f))
		}
	}
	slices.Sort(pids)
	return pids
}

// childrenOf returns the process ids whose parent is pid.
func childrenOf(t *testing.T, pid int) []int {
	t.Helper()
	kids, err := leakcheck.ChildrenOf(pid)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(kids)
	return kids
}

// binaries returns the native programs in the joined worker's scratch
// directories under tmp.
func binaries(t *testing.T, tmp string) []string {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(tmp, "atonce-*", "native-*", "*"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range paths {
		names = append(names, filepath.Base(p))
	}
	slices.Sort(names)
	return names
}

// objects returns the names of the binaries in queue's object store.
func objects(t *testing.T, ctx context.Context, js jetstream.JetStream, queue string) []string {
	t.Helper()
	obs, err := js.ObjectStore(ctx, nativeship.Bucket(queue))
	if err != nil {
		t.Fatal(err)
	}
	list, err := obs.List(ctx)
	if err != nil && !errors.Is(err, jetstream.ErrNoObjectsFound) {
		t.Fatal(err)
	}
	var names []string
	for _, o := range list {
		names = append(names, o.Name)
	}
	slices.Sort(names)
	return names
}

// wantNotes checks that rep's notes hold each of want and none of not.
func wantNotes(t *testing.T, rep models.Report, want, not []string) {
	t.Helper()
	all := strings.Join(rep.Notes, "\n")
	for _, w := range want {
		if !strings.Contains(all, w) {
			t.Errorf("the run's notes got %q, want one saying %q", rep.Notes, w)
		}
	}
	for _, n := range not {
		if strings.Contains(all, n) {
			t.Errorf("the run's notes got %q, want none saying %q", rep.Notes, n)
		}
	}
}
