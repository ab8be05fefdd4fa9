package kernel_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"atonce/install/installtest"
)

// TestHosts runs testdata/test_hosts.py on three hosts made of Linux
// network namespaces: the kernel (started by jupyter_client, which runs in
// host 1 too) listens beyond loopback as the README says, and hosts 2 and
// 3 run the command %workers join prints. Each host is also a UTS
// namespace with a host name of its own, so the report can name the host
// a worker ran on. The namespaces, links and every process in them go
// when the test ends, also when it fails or is interrupted; a run killed
// outright (a timeout's panic, SIGKILL) leaves them to the next run, which
// removes them first.
func TestHosts(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real kernels in network namespaces: skipped with -short")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	interrupted := make(chan os.Signal, 1)
	// Registered first, so it runs last: an interrupt stops the test and
	// its cleanups, then the process as the signal asked.
	t.Cleanup(func() {
		stop()
		select {
		case sig := <-interrupted:
			signal.Reset(sig)
			_ = syscall.Kill(os.Getpid(), sig.(syscall.Signal))
		default:
		}
	})
	signal.Notify(interrupted, os.Interrupt, syscall.SIGTERM)
	t.Cleanup(func() { signal.Stop(interrupted) })

	n := newNetwork(t) // first: it skips where namespaces are forbidden
	py := installtest.Python(t)
	env := installtest.KernelEnv(t)
	bin := installtest.Binary(t)
	if filepath.Base(bin) != "atonce" {
		t.Fatalf("the binary under test is %s; the join command runs `atonce`, so it must be named atonce", bin)
	}

	spec, err := json.Marshal(n.spec(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	// The join command names `atonce`: the worker hosts find the build
	// under test on PATH, as the README asks of another machine. What the
	// kernel and the workers keep in temporary directories (the kernel's
	// state, the workers' scratch) goes in the test's own, which goes
	// with it even when the processes are killed.
	env = append(env, "PATH="+filepath.Dir(bin)+string(os.PathListSeparator)+os.Getenv("PATH"),
		"TMPDIR="+t.TempDir(), "ATONCE_TEST_HOSTS="+string(spec))
	cmd := n.host(ctx, n.hosts[0], py, "-m", "unittest", "-v", "test_hosts")
	cmd.Dir = "testdata"
	cmd.Env = env
	// The output goes to a file, not a pipe: the kernel and the workers
	// hold it open, and an interrupted run must not wait for them.
	log, err := os.Create(filepath.Join(t.TempDir(), "test_hosts.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	cmd.Stdout, cmd.Stderr = log, log
	start := time.Now()
	err = cmd.Run()
	outb, rerr := os.ReadFile(log.Name())
	if rerr != nil {
		t.Fatal(rerr)
	}
	out := string(outb)
	if ctx.Err() != nil {
		t.Fatalf("interrupted; everything the test started is being removed\n%s", out)
	}
	if err != nil {
		t.Fatalf("test_hosts failed: %v\n%s", err, out)
	}
	if !strings.Contains(out, "\nOK") {
		t.Fatalf("test_hosts did not report OK:\n%s", out)
	}
	if strings.Contains(out, "skipped") {
		t.Fatalf("test_hosts skipped a test here, where the namespaces exist:\n%s", out)
	}
	t.Logf("test_hosts took %s\n%s", time.Since(start).Round(time.Second), lastLines(out, 5))
}

// nsPrefix starts every namespace this test makes; the number after it is
// the test process's id, by which a later run tells leftovers (their
// process is gone) from another run's (it is not).
const nsPrefix = "atonce-t"

// hostNet is one host: a network namespace (and, for the processes started
// in it, a UTS namespace) with one link into the switch.
type hostNet struct {
	NetNS    string `json:"netns"`    // the network namespace's name
	Hostname string `json:"hostname"` // the host name its processes see
	Addr     string `json:"addr"`     // its address, on eth0
	Link     string `json:"link"`     // its link's end in the switch, which a test sets down to cut the host off
}

// network is three hosts on one bridge; the bridge is in a namespace of
// its own (the switch), so nothing of the test is in the machine's own
// namespace, and the same addresses may be used by another run at once.
type network struct {
	ip    string // the ip command
	sw    string // the switch's namespace, which holds the bridge
	hosts []hostNet
}

// netSpec is what the Python suite is told, as JSON in ATONCE_TEST_HOSTS.
type netSpec struct {
	Switch  string    `json:"switch"`
	Kernel  hostNet   `json:"kernel"`
	Workers []hostNet `json:"workers"`
	Gates   string    `json:"gates"` // a directory the tasks and the test share, for the files that order them
}

func (n *network) spec(gates string) netSpec {
	return netSpec{Switch: n.sw, Kernel: n.hosts[0], Workers: n.hosts[1:], Gates: gates}
}

// newNetwork builds the hosts, or skips the test where the machine
// forbids network namespaces. Everything it makes goes in t.Cleanup.
func newNetwork(t *testing.T) *network {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("network namespaces need root: run as root to test hosts in namespaces")
	}
	ip, err := exec.LookPath("ip")
	if err != nil {
		t.Skip("no ip command (Debian's iproute2, which install/setup-deps.sh --test installs): cannot make network namespaces")
	}
	if _, err := exec.LookPath("unshare"); err != nil {
		t.Skip("no unshare command (util-linux): cannot give each host a host name of its own")
	}
	n := &network{ip: ip}
	n.sweep(t)
	prefix := fmt.Sprintf("%s%d-", nsPrefix, os.Getpid())
	n.sw = prefix + "sw"
	if out, err := exec.Command(ip, "netns", "add", n.sw).CombinedOutput(); err != nil {
		if bytes.Contains(out, []byte("Permission denied")) || bytes.Contains(out, []byte("Operation not permitted")) {
			t.Skipf("this machine forbids network namespaces (ip netns add: %s)", bytes.TrimSpace(out))
		}
		t.Fatalf("ip netns add %s: %v: %s", n.sw, err, out)
	}
	t.Cleanup(func() { n.remove(t, n.sw) })
	// ip -n and ip netns exec enter the namespace in a mount namespace of
	// their own, made from the root's mounts: in a chroot, whose / is not
	// a mount point, they cannot.
	if out, err := exec.Command(ip, "-n", n.sw, "link", "set", "lo", "up").CombinedOutput(); err != nil {
		if bytes.Contains(out, []byte("make-rslave")) || bytes.Contains(out, []byte("mount")) {
			t.Skipf("ip cannot enter a network namespace here (is this a chroot, whose / is not a mount point?): %s", bytes.TrimSpace(out))
		}
		t.Fatalf("ip -n %s link set lo up: %v: %s", n.sw, err, out)
	}
	n.run(t, "-n", n.sw, "link", "add", "br0", "type", "bridge")
	n.run(t, "-n", n.sw, "link", "set", "br0", "up")
	for i, name := range []string{"kernel-host", "worker-host-2", "worker-host-3"} {
		h := hostNet{NetNS: fmt.Sprintf("%sh%d", prefix, i+1), Hostname: name, Addr: fmt.Sprintf("10.231.0.%d", i+1), Link: fmt.Sprintf("h%d", i+1)}
		n.run(t, "netns", "add", h.NetNS)
		t.Cleanup(func() { n.remove(t, h.NetNS) })
		n.run(t, "-n", n.sw, "link", "add", h.Link, "type", "veth", "peer", "name", "eth0", "netns", h.NetNS)
		n.run(t, "-n", n.sw, "link", "set", h.Link, "master", "br0", "up")
		n.run(t, "-n", h.NetNS, "link", "set", "lo", "up")
		n.run(t, "-n", h.NetNS, "addr", "add", h.Addr+"/24", "dev", "eth0")
		n.run(t, "-n", h.NetNS, "link", "set", "eth0", "up")
		n.hosts = append(n.hosts, h)
	}
	return n
}

// host returns a command that runs name with args on host h: in its
// network namespace and in a new UTS namespace named h.Hostname.
func (n *network) host(ctx context.Context, h hostNet, name string, args ...string) *exec.Cmd {
	argv := append([]string{"netns", "exec", h.NetNS, "unshare", "--uts", "sh", "-c", `hostname "$0" && exec "$@"`, h.Hostname, name}, args...)
	cmd := exec.CommandContext(ctx, n.ip, argv...)
	cmd.WaitDelay = 10 * time.Second
	return cmd
}

func (n *network) run(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command(n.ip, args...).CombinedOutput(); err != nil {
		t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
}

// remove kills every process in namespace ns (all of them started by this
// test: the Python suite, the kernel, its engine and workers, the joined
// workers), waits for them to go, and deletes the namespace, which takes
// its links with it.
func (n *network) remove(t *testing.T, ns string) {
	t.Helper()
	if err := n.killAll(ns); err != nil {
		t.Errorf("stopping the processes of namespace %s: %v", ns, err)
	}
	if out, err := exec.Command(n.ip, "netns", "delete", ns).CombinedOutput(); err != nil {
		t.Errorf("ip netns delete %s: %v: %s", ns, err, out)
	}
}

// killAll sends SIGKILL to the processes in namespace ns until there are
// none, for at most ten seconds.
func (n *network) killAll(ns string) error {
	deadline := time.Now().Add(10 * time.Second)
	for {
		out, err := exec.Command(n.ip, "netns", "pids", ns).Output()
		if err != nil {
			return fmt.Errorf("ip netns pids %s: %w", ns, err)
		}
		pids := strings.Fields(string(out))
		if len(pids) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("processes %v are still there after ten seconds", pids)
		}
		for _, p := range pids {
			if pid, err := strconv.Atoi(p); err == nil {
				if err := syscall.Kill(pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
					return fmt.Errorf("killing %d: %w", pid, err)
				}
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// sweep removes the namespaces an earlier run of this test left because
// it was killed before its cleanups ran (its process is gone).
func (n *network) sweep(t *testing.T) {
	t.Helper()
	out, err := exec.Command(n.ip, "netns", "list").Output()
	if err != nil {
		return // no namespace was ever made: nothing to sweep
	}
	re := regexp.MustCompile(`^` + regexp.QuoteMeta(nsPrefix) + `(\d+)-\S+`)
	for _, line := range strings.Split(string(out), "\n") {
		m := re.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		pid, _ := strconv.Atoi(m[1])
		if pid == os.Getpid() || processAlive(pid) {
			continue
		}
		t.Logf("removing namespace %s, left by a test run that was killed", m[0])
		n.remove(t, m[0])
	}
}

// processAlive reports whether process pid exists and is a Go test
// binary (a reused pid of another program does not keep leftovers).
func processAlive(pid int) bool {
	comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	return err == nil && strings.HasSuffix(strings.TrimSpace(string(comm)), ".test")
}
