"""Hosts you can take down: the kernel in one host, workers in two others,
each host a Linux network namespace (and a UTS namespace with its own host
name) on one bridge. The kernel listens beyond loopback and each worker
host runs exactly the command %workers join prints, as the README's
section on workers on other machines says. Then faults: a worker host's
link cut mid-run, a worker process killed, the engine crashing mid-run.

The tasks order themselves against the test through files in a directory
both sides see (the hosts share the file system): a task says it started
with a file, then waits for a gate file the test creates. So the test
knows which task runs where before it cuts, kills or crashes anything,
and never sleeps and hopes.

Run by kernel/hosts_test.go, which makes the hosts, runs this suite in
host 1 and removes everything afterwards; skipped when run without them.
"""
import glob
import json
import os
import re
import signal
import subprocess
import tempfile
import time
import unittest

from test_behaviour import TIMEOUT, KernelCase, alive
from test_distributed import CRASH, join_args, wait_listed
from test_magics import reports_of, texts

SPEC = json.loads(os.environ["ATONCE_TEST_HOSTS"]) if "ATONCE_TEST_HOSTS" in os.environ else None

# The task: it says which host it runs on, leaving a file started-I-HOST,
# then waits for go-I or go-HOST. In the kernel's own host (sequential runs
# in the engine) it does not wait.
TASK = '''import (
	"os"
	"path/filepath"
	"strconv"
	"time"
)

func Where(i int) string {
	host, _ := os.Hostname()
	if host == %(kernel)s {
		return host
	}
	dir := %(gates)s
	os.WriteFile(filepath.Join(dir, "started-"+strconv.Itoa(i)+"-"+host), nil, 0o644)
	for {
		for _, gate := range []string{"go-" + strconv.Itoa(i), "go-" + host} {
			if _, err := os.Stat(filepath.Join(dir, gate)); err == nil {
				return host
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
}'''


def go_string(s):
    return json.dumps(s)  # a JSON string is a Go string literal for these paths


@unittest.skipIf(SPEC is None, "needs the hosts kernel/hosts_test.go makes (network namespaces, as root)")
class Hosts(KernelCase):
    """One kernel for the whole class: the workers stay joined test to test,
    and each test starts again those a fault took away."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.workers = {}  # host name -> (Popen, log file)
        cls.cut = set()   # links set down, set up again at the end
        cls.join = None   # the join command's text

    @classmethod
    def tearDownClass(cls):
        for link in cls.cut:
            subprocess.run(["ip", "-n", SPEC["switch"], "link", "set", link, "up"])
        for proc, log in cls.workers.values():
            proc.kill()
            proc.wait(timeout=10)
            log.close()
        # A shutdown, not a kill: the kernel removes its state directory.
        cls.kc.stop_channels()
        cls.km.shutdown_kernel(now=False)

    # --- helpers ---

    def gates(self):
        """A fresh directory for one run's files, and the cell defining
        Where against it."""
        d = tempfile.mkdtemp(dir=SPEC["gates"])
        return d, TASK % {"kernel": go_string(SPEC["kernel"]["hostname"]), "gates": go_string(d)}

    def listen_and_join(self):
        """%workers -listen and %workers join, word for word as the README
        says, once per kernel; returns the join command."""
        if self.__class__.join is None:
            content, outs = self.run_cell("%workers -listen 0.0.0.0:4222")
            self.assertOK(content)
            content, outs = self.run_cell("%workers join")
            self.assertOK(content)
            m = re.search(r"^\s*(atonce worker .+)$", texts(outs), re.M)
            self.assertIsNotNone(m, texts(outs))
            self.__class__.join = m.group(1).strip()
        return self.__class__.join

    def start_worker(self, host):
        """Runs the join command on worker host (a dict of SPEC's), as a
        user would paste it into a shell there, and waits until %workers
        lists it. The process is the worker itself: ip netns exec, unshare
        and sh each exec the next."""
        log = tempfile.TemporaryFile(mode="w+")
        proc = subprocess.Popen(["ip", "netns", "exec", host["netns"], "unshare", "--uts", "sh", "-c",
                                 'hostname "$0" && exec ' + self.listen_and_join(), host["hostname"]],
                                stdout=log, stderr=log)
        self.__class__.workers[host["hostname"]] = (proc, log)
        wait_listed(self, proc.pid)
        return proc

    def worker(self, host):
        return self.__class__.workers[host["hostname"]][0]

    def ensure_joined(self):
        """Both worker hosts have a running worker listed by %workers."""
        for host in SPEC["workers"]:
            w = self.__class__.workers.get(host["hostname"])
            if w is None or w[0].poll() is not None:
                if w is not None:
                    w[1].close()
                self.start_worker(host)
            else:
                wait_listed(self, w[0].pid)

    def dump_logs(self):
        for name, (proc, log) in self.__class__.workers.items():
            log.seek(0)
            print(f"--- worker on {name} (pid {proc.pid}):\n{log.read()}")

    def run(self, result=None):
        # The workers' logs when a test fails.
        failures = len(result.failures) + len(result.errors) if result else 0
        out = super().run(result)
        if result and len(result.failures) + len(result.errors) > failures:
            self.dump_logs()
        return out

    def wait_file(self, pattern, count=1, timeout=TIMEOUT):
        """Waits until count files match pattern and returns them."""
        deadline = time.monotonic() + timeout
        while True:
            found = sorted(glob.glob(pattern))
            if len(found) >= count:
                return found
            if time.monotonic() > deadline:
                self.fail(f"no {count} file(s) {pattern} within {timeout}s: {found}")
            time.sleep(0.01)

    def started_on(self, gates, host, count=1):
        """The indexes of the tasks started on host, once count have."""
        files = self.wait_file(os.path.join(gates, f"started-*-{host['hostname']}"), count)
        return sorted(int(os.path.basename(f).split("-")[1]) for f in files)

    def open_gate(self, gates, name):
        open(os.path.join(gates, f"go-{name}"), "w").close()

    def finish(self, msg_id, n):
        """The run's distributed report, once the run succeeded, with every
        task's result there exactly once."""
        rep = self.reply(msg_id, timeout=120)
        outs = self.outputs(msg_id)
        self.assertOK(rep["content"])
        dist = reports_of(outs)["distributed"]
        self.assertEqual(sorted(t["index"] for t in dist["tasks"]), list(range(n)),
                         "every task's result arrives exactly once")
        for t in dist["tasks"]:
            self.assertEqual(t.get("err", ""), "", t)
        return dist, outs

    def start_run(self, n):
        """Defines Where against fresh gates and starts a distributed run
        of n tasks on the two joined workers; returns the gates and the
        request's id."""
        gates, task = self.gates()
        self.assertOK(self.run_cell(task)[0])
        msg_id = self.kc.execute(f"%models -repeat 1 -n {n} -workers 2 -models distributed -no-charts Where",
                                 stop_on_error=False)
        return gates, msg_id

    def host_of(self, dist, t):
        """The host the report names for task t's worker."""
        return {w["worker"]: w.get("host") for w in dist["pool"]}[t["worker"]]

    def listing(self):
        content, outs = self.run_cell("%workers")
        self.assertOK(content)
        return texts(outs)

    # --- the tests, in order (unittest sorts them by name) ---

    def test_1_workers_on_two_hosts(self):
        """The README followed word for word: the join command reaches host
        1 over TLS with the certificate pinned; the hosts' workers run a
        %%models run and the report names each one's host."""
        join = self.listen_and_join()
        m = re.fullmatch(r"atonce worker -nats nats://([0-9a-f]{32,})@([0-9.]+):4222 -tls-fingerprint ([0-9a-f]{64})", join)
        self.assertIsNotNone(m, f"the join command: {join}")
        self.assertEqual(m.group(2), SPEC["kernel"]["addr"], "the join command names the kernel host's address")
        # Across the link the server speaks TLS only, with the pinned
        # certificate: a worker host without the fingerprint, or with
        # another, does not join.
        host = SPEC["workers"][0]
        for name, cmd in [("plain", join.split(" -tls-fingerprint ")[0]),
                          ("another fingerprint", join[:-64] + "0" * 64)]:
            with self.subTest(name):
                refused = subprocess.run(["ip", "netns", "exec", host["netns"], "sh", "-c", "exec " + cmd],
                                         capture_output=True, text=True, timeout=60)
                self.assertNotEqual(refused.returncode, 0, f"a worker joined with {cmd}")
                self.assertIn("could not set up TLS with the NATS server", refused.stderr)
        self.ensure_joined()
        listing = self.listing()
        for host in SPEC["workers"]:
            self.assertRegex(listing, rf"\b{host['hostname']}\s+{self.worker(host).pid}\b.*\bjoined\b")
        self.assertNotIn("this kernel", listing, "no worker of the kernel's own host")

        gates, task = self.gates()
        msg_id = self.kc.execute("%%models -repeat 1 -n 6 -workers 2 -models sequential,distributed -no-charts\n" + task)
        # Each worker holds one task at a time: once each host has one,
        # both are used, and the test lets them all go.
        for host in SPEC["workers"]:
            self.started_on(gates, host)
        for host in SPEC["workers"]:
            self.open_gate(gates, host["hostname"])
        dist, outs = self.finish(msg_id, 6)
        names = {h["hostname"] for h in SPEC["workers"]}
        self.assertEqual({w.get("host") for w in dist["pool"]}, names, "the report names both worker hosts")
        notes = [line for m in outs if m["msg_type"] in ("display_data", "update_display_data")
                 for line in m["content"]["data"].get("text/plain", "").splitlines()
                 if line.startswith("note: distributed: workers on ")]
        self.assertTrue(notes, "the table names the hosts the workers ran on")
        for host in names:
            self.assertRegex(notes[-1], rf"\b{host} \(1 worker, \d+ tasks?\)", "the table's note names each worker host")
        pids = {h["hostname"]: self.worker(h).pid for h in SPEC["workers"]}
        for w in dist["pool"]:
            self.assertEqual(w["pid"], pids[w["host"]], f"worker {w} is the process of its host")
        for t in dist["tasks"]:
            self.assertEqual(t["result"], self.host_of(dist, t), "a task ran on the host the report names")
        seq = reports_of(outs)["sequential"]
        self.assertEqual({t["result"] for t in seq["tasks"]}, {SPEC["kernel"]["hostname"]}, "sequential ran in the kernel's host")

    def test_2_link_cut(self):
        """A worker host's link cut mid-run, after its first result
        arrived and while it holds another task: that task goes to the
        other host. %workers lists the host's worker no more while the
        link is down, and again once it is back, and the next run uses
        it."""
        self.ensure_joined()
        cut, other = SPEC["workers"]
        n = 8
        gates, msg_id = self.start_run(n)
        first = self.started_on(gates, cut)[0]
        self.started_on(gates, other)
        # The worker publishes a result (stored on the kernel's server,
        # which answers the publish) before it takes its next task: when
        # the cut host starts a second task, its first result has arrived.
        self.open_gate(gates, str(first))
        held = [i for i in self.started_on(gates, cut, 2) if i != first]
        self.assertEqual(len(held), 1)
        held = held[0]
        self.cut_link(cut)
        self.open_gate(gates, other["hostname"])
        dist, _ = self.finish(msg_id, n)
        by_index = {t["index"]: t for t in dist["tasks"]}
        self.assertEqual(by_index[first]["result"], cut["hostname"])
        self.assertEqual(by_index[held]["result"], other["hostname"], "the held task went to the other host")
        self.assertGreaterEqual(by_index[held]["attempts"], 2, "the held task was delivered again")
        for i, t in by_index.items():
            if i != first:
                self.assertEqual(t["result"], other["hostname"], f"task {i} ran after the cut")

        # What the user sees: gone while cut off, back once the link is.
        pid = self.worker(cut).pid
        self.assertIsNone(self.worker(cut).poll(), "the cut-off worker process still runs")
        self.assertNotRegex(self.listing(), rf"\b{pid}\b", "a worker cut off is not listed")
        self.open_gate(gates, cut["hostname"])  # its held task may end now; its result must not count twice
        self.restore_link(cut)
        listing = wait_listed(self, pid)
        self.assertRegex(listing, rf"\b{cut['hostname']}\s+{pid}\b.*\bjoined\b")
        self.run_on_both({h["hostname"]: self.worker(h).pid for h in SPEC["workers"]})

    def test_3_worker_killed(self):
        """A worker process killed (SIGKILL) mid-run: its task goes to the
        other host; %workers lists it no more."""
        self.ensure_joined()
        victim_host, other = SPEC["workers"]
        n = 6
        gates, msg_id = self.start_run(n)
        held = self.started_on(gates, victim_host)[0]
        self.started_on(gates, other)
        victim = self.worker(victim_host)
        os.kill(victim.pid, signal.SIGKILL)
        victim.wait(timeout=10)
        self.open_gate(gates, other["hostname"])
        dist, _ = self.finish(msg_id, n)
        by_index = {t["index"]: t for t in dist["tasks"]}
        self.assertEqual(by_index[held]["result"], other["hostname"], "the killed worker's task went to the other host")
        self.assertGreaterEqual(by_index[held]["attempts"], 2)
        self.assertEqual({t["result"] for t in dist["tasks"]}, {other["hostname"]})
        self.assertNotRegex(self.listing(), rf"\b{victim.pid}\b", "a killed worker is not listed")
        self.ensure_joined()  # the host joins again with the same command
        self.run_on_both()

    def test_4_engine_crash(self):
        """The engine crashes (a Go fatal error) mid-run, while both hosts
        hold a task: the cell says so; the joined workers stay joined to
        the new engine's server, and the next run succeeds on the same
        worker processes."""
        self.ensure_joined()
        pids = {h["hostname"]: self.worker(h).pid for h in SPEC["workers"]}
        armed = tempfile.mkdtemp(dir=SPEC["gates"])
        crash_file, disarm = os.path.join(armed, "crash"), os.path.join(armed, "disarm")
        # A goroutine of an earlier cell crashes the engine when the test
        # says; it removes its file first, so that the new engine, which
        # replays this cell, does not crash again, and stops on disarm.
        # The workers replay the cell too: theirs stop at once.
        content, _ = self.run_cell('import (\n\t"os"\n\t"time"\n)\n' + CRASH.rsplit("\ncrash()", 1)[0] + "\n" + f'''go func() {{
	if host, _ := os.Hostname(); host != {go_string(SPEC["kernel"]["hostname"])} {{
		return
	}}
	for {{
		if _, err := os.Stat({go_string(crash_file)}); err == nil {{
			os.Remove({go_string(crash_file)})
			crash()
		}}
		if _, err := os.Stat({go_string(disarm)}); err == nil {{
			return
		}}
		time.Sleep(5 * time.Millisecond)
	}}
}}()''')
        self.assertOK(content)
        gates, msg_id = self.start_run(6)
        for host in SPEC["workers"]:
            self.started_on(gates, host)
        open(crash_file, "w").close()
        # The kernel resumes a %%models run whose engine died in a new
        # engine: the cell ends, the model that was running is reported
        # with the crash — not blamed for it: its tasks run on the
        # worker hosts, and a goroutine of another cell killed the
        # engine — and no task of it is reported.
        content = self.reply(msg_id, timeout=60)["content"]
        outs = self.outputs(msg_id)
        open(disarm, "w").close()
        self.assertOK(content)
        self.assertIn("fatal error: concurrent map writes", texts(outs))
        dist = reports_of(outs)["distributed"]
        self.assertIn("the engine crashed while it ran", dist.get("err", ""))
        self.assertIn("the engine crashed while the distributed model ran", texts(outs))
        self.assertNotIn("model killed the engine", texts(outs))
        self.assertIn("fatal error: concurrent map writes", dist.get("err", ""))
        self.assertEqual(dist.get("tasks") or [], [], "no result of the run the crash stopped")
        for host in SPEC["workers"]:  # the tasks of the run that died end now
            self.open_gate(gates, host["hostname"])
        for host in SPEC["workers"]:
            self.assertIsNone(self.worker(host).poll(), f"the worker on {host['hostname']} still runs")
            listing = wait_listed(self, pids[host["hostname"]])
            self.assertRegex(listing, rf"\b{host['hostname']}\s+{pids[host['hostname']]}\b.*\bjoined\b")
        self.run_on_both(pids)

    # --- shared by the tests ---

    def run_on_both(self, pids=None):
        """A run whose tasks land on both worker hosts (each holds one
        until both have one), every result once."""
        gates, msg_id = self.start_run(4)
        for host in SPEC["workers"]:
            self.started_on(gates, host)
        for host in SPEC["workers"]:
            self.open_gate(gates, host["hostname"])
        dist, _ = self.finish(msg_id, 4)
        self.assertEqual({t["result"] for t in dist["tasks"]}, {h["hostname"] for h in SPEC["workers"]})
        if pids:
            self.assertEqual({w["host"]: w["pid"] for w in dist["pool"]}, pids, "the same worker processes ran them")

    def cut_link(self, host):
        subprocess.run(["ip", "-n", SPEC["switch"], "link", "set", host["link"], "down"], check=True)
        self.__class__.cut.add(host["link"])

    def restore_link(self, host):
        subprocess.run(["ip", "-n", SPEC["switch"], "link", "set", host["link"], "up"], check=True)
        self.__class__.cut.discard(host["link"])


if __name__ == "__main__":
    unittest.main()
