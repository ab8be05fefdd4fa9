"""The distributed model through a real Jupyter client: workers behind the
embedded NATS server, a worker killed mid-run, the token, %workers, an
external NATS server (Debian's nats-server) shared by two kernels, joined
workers that survive an engine crash, and the kernel's state directory.

Run by kernel/jupyter_test.go with the kernelspec installed under a
temporary JUPYTER_PATH.
"""
import ipaddress
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

from jupyter_client.manager import start_new_kernel

from test_behaviour import TIMEOUT, KernelCase, alive, descendants, engine_pids, exe_of, live_pids
from test_magics import reports_of, texts

# A cell that kills the engine for good: a Go runtime fatal error, which no
# recover catches.
CRASH = ('import "sync"\nfunc crash() {\n\tm := map[int]int{}\n\tvar wg sync.WaitGroup\n'
         '\tfor g := 0; g < 4; g++ {\n\t\twg.Add(1)\n\t\tgo func() {\n\t\t\tdefer wg.Done()\n'
         '\t\t\tfor i := 0; i < 1000000; i++ {\n\t\t\t\tm[i%100] = i\n\t\t\t}\n\t\t}()\n\t}\n'
         '\twg.Wait()\n}\ncrash()')

# A task that answers with the pid of the worker process that ran it.
WHO = 'import "os"\nfunc Who(i int) int { return os.Getpid() }'



def nats_workers():
    """Process ids of every `atonce worker -nats` on the machine."""
    return live_pids(lambda args: " worker -nats " in args)


def listen_addresses(port):
    """The local addresses of the sockets that listen on TCP port, read from
    /proc/net/tcp and tcp6: what a server is bound to, without sending it
    anything and whether or not the host name resolves."""
    addrs = []
    for path, size in (("/proc/net/tcp", 4), ("/proc/net/tcp6", 16)):
        try:
            with open(path) as f:
                lines = f.read().splitlines()[1:]
        except FileNotFoundError:
            continue
        for line in lines:
            fields = line.split()
            addr_hex, port_hex = fields[1].split(":")
            if fields[3] != "0A" or int(port_hex, 16) != port:  # 0A: LISTEN
                continue
            raw = bytes.fromhex(addr_hex)
            # Each 32-bit word is printed in the host's byte order.
            raw = b"".join(int.from_bytes(raw[i:i + 4], sys.byteorder).to_bytes(4, "big") for i in range(0, size, 4))
            addrs.append(ipaddress.ip_address(raw))
    return addrs


class Distributed(KernelCase):
    def test_runs_and_workers(self):
        content, outs = self.run_cell(
            "%%models -repeat 1 -n 6 -workers 2 -models sequential,distributed\n"
            "var hits int\n"
            "func Square(i int) int {\n\thits++\n\treturn i * i\n}")
        self.assertOK(content)
        dist = reports_of(outs)["distributed"]
        by_index = {t["index"]: t for t in dist["tasks"]}
        self.assertEqual(sorted(by_index), list(range(6)))
        self.assertEqual([by_index[i]["result"] for i in range(6)], [i * i for i in range(6)])
        for t in dist["tasks"]:
            self.assertLessEqual(t["queued_ns"], t["start_ns"])
            self.assertGreater(t["bytes_in"], 0)
            self.assertGreater(t["bytes_out"], 0)
        copies = sum(int(w.get("globals", {}).get("hits", 0)) for w in dist["pool"])
        self.assertEqual(copies, 6, "each worker's copy counts its own tasks")
        content, outs = self.run_cell("hits")
        self.assertEqual(self.result(outs), "6", "the notebook holds what sequential left")

        content, outs = self.run_cell("%workers")
        self.assertOK(content)
        listing = texts(outs)
        m = re.search(r"(\d+) worker\(s\) on the embedded NATS server at nats://127\.0\.0\.1:\d+", listing)
        self.assertIsNotNone(m, listing)
        before = int(m.group(1))
        self.assertGreaterEqual(before, 2, "the run started two workers")
        self.assertIn("this kernel", listing)
        content, outs = self.run_cell("%workers add 1")
        self.assertOK(content)
        self.assertIn(f"{before + 1} worker(s)", texts(outs))

        content, outs = self.run_cell("%workers join")
        self.assertOK(content)
        m = re.search(r"atonce worker -nats nats://([0-9a-f]+)@127\.0\.0\.1:(\d+)", texts(outs))
        self.assertIsNotNone(m, texts(outs))
        token, port = m.group(1), int(m.group(2))
        self.assertGreaterEqual(len(token), 32, "a long random token")
        self.assertIn("loopback only", texts(outs))

        # The server refuses a worker with the wrong token, in words.
        bin_path = shutil.which("atonce") or self.km.kernel_spec.argv[0]
        wrong = subprocess.run([bin_path, "worker", "-nats", f"nats://{'0' * len(token)}@127.0.0.1:{port}"],
                               capture_output=True, text=True, timeout=30)
        self.assertNotEqual(wrong.returncode, 0)
        self.assertIn("token", wrong.stderr.lower())
        # Nor does the server listen beyond loopback.
        addrs = listen_addresses(port)
        self.assertTrue(addrs, f"nothing listens on port {port}")
        self.assertTrue(all(a.is_loopback for a in addrs), f"the NATS server listens on {addrs}, want loopback only")

    def test_worker_of_another_version_is_refused(self):
        content, outs = self.run_cell("%workers join")
        join = re.search(r"atonce worker (-nats \S+)", texts(outs)).group(1).split()
        other = os.path.join(tempfile.mkdtemp(), "atonce-other")
        repo = os.path.dirname(os.path.dirname(os.path.abspath(os.path.dirname(__file__) or ".")))
        subprocess.run(["go", "build", "-ldflags", "-X main.version=0.0.0-other", "-o", other, "."],
                       cwd=repo, check=True, timeout=600)
        self.run_cell("func Plus(i int) int { return i + 1 }")
        content, _ = self.run_cell("%workers add 1")
        self.assertOK(content)
        intruder = subprocess.Popen([other, "worker"] + join, stderr=subprocess.PIPE, text=True)
        try:
            # The run starts once the intruder has joined.
            deadline = time.monotonic() + TIMEOUT
            while intruder.poll() is None and "0.0.0-other" not in texts(self.run_cell("%workers")[1]):
                self.assertLess(time.monotonic(), deadline, "the worker of another build never joined")
                time.sleep(0.1)
            content, outs = self.run_cell("%models -repeat 1 -n 6 -models distributed -no-charts Plus")
            self.assertOK(content)
            dist = reports_of(outs)["distributed"]
            self.assertEqual(sorted(t["result"] for t in dist["tasks"]), [1, 2, 3, 4, 5, 6], "every task ran on a worker of the kernel's version")
            content, outs = self.run_cell("%workers")
            listing = texts(outs)
            # Either the intruder took a task, handed it back and left with
            # a clear message, or it is still connected and listed as refused.
            try:
                _, err = intruder.communicate(timeout=5)
                self.assertIn("must run the same atonce build as the kernel", err)
            except subprocess.TimeoutExpired:
                self.assertRegex(listing, r"0\.0\.0-other\+[0-9a-f]+ \(does not match the kernel: refused\)")
        finally:
            intruder.kill()
            intruder.wait(timeout=10)
        shutil.rmtree(os.path.dirname(other), ignore_errors=True)

    def test_killed_worker_loses_no_task(self):
        self.run_cell("func Slow(i int) int { time.Sleep(300 * time.Millisecond); return i + 100 }")
        content, outs = self.run_cell("%workers add 2")
        self.assertOK(content)
        msg_id = self.kc.execute("%models -repeat 1 -n 10 -workers 2 -models distributed -no-charts Slow")
        # Kill a worker of this kernel (not another test's) once tasks run.
        self.wait_output(msg_id, "of 10 tasks done")
        victims = [p for p in nats_workers() if p in descendants(self.km.provisioner.process.pid)]
        self.assertGreaterEqual(len(victims), 2)
        os.kill(victims[0], signal.SIGKILL)
        rep = self.reply(msg_id, timeout=60)
        self.assertEqual(rep["content"]["status"], "ok")
        dist = reports_of(self.outputs(msg_id))["distributed"]
        indexes = sorted(t["index"] for t in dist["tasks"])
        self.assertEqual(indexes, list(range(10)), "every task's result arrives exactly once")
        for t in dist["tasks"]:
            self.assertEqual(t.get("err", ""), "")
            self.assertEqual(t["result"], t["index"] + 100)

    def test_poison_task_fails_alone(self):
        content, outs = self.run_cell(
            "%%models -repeat 1 -n 6 -models distributed -no-charts\n"
            "func Poison(i int) int {\n\tif i == 3 {\n\t\tos.Exit(3)\n\t}\n\treturn i\n}")
        self.assertOK(content)
        by_index = {t["index"]: t for t in reports_of(outs)["distributed"]["tasks"]}
        self.assertEqual(sorted(by_index), list(range(6)), "every task is reported once")
        self.assertIn("no worker could finish this task in 3 attempts", by_index[3]["err"])
        for i in (0, 1, 2, 4, 5):
            self.assertEqual(by_index[i]["result"], i)
        # Dead workers were replaced: the next run has its workers.
        content, outs = self.run_cell("%models -repeat 1 -n 4 -models distributed -no-charts Poison", stop_on_error=False)
        self.assertOK(content)

    def test_interrupt_stops_the_run(self):
        self.run_cell("func Sleepy(i int) { time.Sleep(20 * time.Second) }")
        msg_id = self.kc.execute("%models -repeat 1 -n 4 -workers 2 -models distributed Sleepy", stop_on_error=False)
        # Interrupt once the run is under way and its workers are up.
        self.wait_output(msg_id, "%models: starting")
        deadline = time.monotonic() + TIMEOUT
        while len([p for p in nats_workers() if p in descendants(self.km.provisioner.process.pid)]) < 2:
            self.assertLess(time.monotonic(), deadline, "the run's two workers never started")
            time.sleep(0.05)
        start = time.monotonic()
        self.km.interrupt_kernel()
        rep = self.reply(msg_id, timeout=10)
        self.assertLess(time.monotonic() - start, 2)
        self.assertEqual(rep["content"]["ename"], "Interrupted")
        self.outputs(msg_id)
        content, outs = self.run_cell("func Quick(i int) int { return i }")
        content, outs = self.run_cell("%models -repeat 1 -n 4 -models distributed -no-charts Quick")
        self.assertOK(content)
        self.assertEqual(sorted(t["result"] for t in reports_of(outs)["distributed"]["tasks"]), [0, 1, 2, 3])


class Listen(KernelCase):
    def test_listen_beyond_loopback_uses_tls(self):
        content, outs = self.run_cell("%workers -listen 0.0.0.0:0")
        self.assertOK(content)
        content, outs = self.run_cell("%workers join")
        m = re.search(r"atonce worker (-nats nats://[0-9a-f]+@(\S+):(\d+) -tls-fingerprint ([0-9a-f]{64}))", texts(outs))
        self.assertIsNotNone(m, "the join command pins the certificate: " + texts(outs))
        self.assertNotIn("loopback only", texts(outs))
        args, host, port = m.group(1).split(), m.group(2), int(m.group(3))
        bin_path = self.km.kernel_spec.argv[0]
        # A plain (non-TLS) client is refused.
        plain = subprocess.run([bin_path, "worker"] + args[:2], capture_output=True, text=True, timeout=30)
        self.assertNotEqual(plain.returncode, 0, "a worker without TLS must not join")
        # A wrong fingerprint is refused.
        wrong = subprocess.run([bin_path, "worker"] + args[:3] + ["0" * 64], capture_output=True, text=True, timeout=30)
        self.assertNotEqual(wrong.returncode, 0, "a worker that pins another certificate must not join")
        joined = subprocess.Popen([bin_path, "worker"] + args, stderr=subprocess.DEVNULL)
        try:
            # The worker joins on its own schedule: wait until it is
            # listed, so the run has it (not a local worker) for sure.
            wait_listed(self, joined.pid)
            self.run_cell(WHO)
            content, outs = self.run_cell("%models -repeat 1 -n 4 -workers 1 -models distributed -no-charts Who")
            self.assertOK(content)
            self.assertEqual([t["result"] for t in reports_of(outs)["distributed"]["tasks"]], [joined.pid] * 4,
                             "the joined worker ran every task")
        finally:
            joined.kill()
            joined.wait(timeout=10)


    def test_unreachable_nats_then_default_again(self):
        content, outs = self.run_cell("%workers -nats nats://127.0.0.1:1", stop_on_error=False)
        self.assertEqual(content["status"], "error")
        self.assertIn("NATS", content["evalue"])
        content, outs = self.run_cell("%workers")
        self.assertOK(content)
        self.assertIn("embedded NATS server", texts(outs), "the kernel is back on its own server")


def engine_env(kernel_pid):
    """The environment of the kernel's engine."""
    engines = engine_pids(kernel_pid)
    if len(engines) != 1:
        raise AssertionError(f"want one engine of kernel {kernel_pid}, got {engines}")
    with open(f"/proc/{engines[0]}/environ", "rb") as f:
        pairs = [kv.split(b"=", 1) for kv in f.read().split(b"\0") if b"=" in kv]
    return {k.decode(): v.decode() for k, v in pairs}


def wait_listed(case, pid, run=None):
    """Runs %workers in case's kernel (with run(code), by default
    case.run_cell) until it lists the worker pid (a worker joins, and
    rejoins, on its own schedule) and returns the listing."""
    run = run or case.run_cell
    deadline = time.monotonic() + TIMEOUT
    while True:
        content, outs = run("%workers")
        case.assertEqual(content["status"], "ok", content)
        if re.search(rf"\b{pid}\b", texts(outs)):
            return texts(outs)
        if time.monotonic() > deadline:
            case.fail(f"worker {pid} is not listed: {texts(outs)}")
        time.sleep(0.2)


def join_args(outs):
    """The arguments of the join command %workers join printed."""
    m = re.search(r"atonce worker (-nats .+)$", texts(outs), re.M)
    if m is None:
        raise AssertionError("no join command in: " + texts(outs))
    return m.group(1).split()


def without_go(env, tmp):
    """env for a process that finds no Go toolchain: no directory holding
    a go command on PATH, no GOROOT, and tmp as its temporary directory."""
    env = {k: v for k, v in env.items() if k not in ("GOROOT", "TMPDIR", "ATONCE_NATS_TOKEN")}
    env["PATH"] = os.pathsep.join(d for d in env.get("PATH", "").split(os.pathsep)
                                  if d and not os.path.isfile(os.path.join(d, "go")))
    env["TMPDIR"] = tmp
    return env


def parent_of(pid):
    with open(f"/proc/{pid}/stat") as f:
        return int(f.read().rsplit(")", 1)[1].split()[1])


class NativeJoined(KernelCase):
    """A native distributed run on a worker that joined from a process with
    no Go toolchain: the kernel builds the notebook for the worker's
    platform and sends the binary through the NATS server; the worker runs
    it as its child."""

    def test_native_run_on_a_worker_without_go(self):
        bin_path = self.km.kernel_spec.argv[0]
        self.run_cell(WHO)
        content, outs = self.run_cell("%models -repeat 1 -native -n 1 -models sequential -no-charts Who", stop_on_error=False)
        if content["status"] != "ok" and "-native" in content.get("evalue", "") + texts(outs):
            self.skipTest("%%models has no -native on this branch yet (issue 12's magic): " + content.get("evalue", ""))
        self.assertOK(content)
        content, outs = self.run_cell("%workers join")
        self.assertOK(content)
        tmp = tempfile.mkdtemp(prefix="atonce-nogo-")
        env = without_go(dict(os.environ), tmp)
        self.assertIsNone(shutil.which("go", path=env["PATH"]), "the worker's PATH must hold no go")
        log = tempfile.TemporaryFile(mode="w+")
        joined = subprocess.Popen([bin_path, "worker"] + join_args(outs), stderr=log, env=env)
        shipped = None
        try:
            wait_listed(self, joined.pid)
            # The first native run builds the notebook (and for another
            # platform, were the worker's another): allow for a cold cache.
            msg_id = self.kc.execute("%%models -repeat 1 -native -n 6 -workers 1 -models distributed -no-charts\n"
                                     'import "os"\nfunc Where(i int) int { return os.Getpid() }')
            content, outs = self.reply(msg_id, timeout=300)["content"], self.outputs(msg_id, timeout=60)
            self.assertOK(content)
            rep = reports_of(outs)["distributed"]
            pids = {t["result"] for t in rep["tasks"]}
            self.assertEqual(len(pids), 1, f"every task ran in the shipped program: {rep['tasks']}")
            shipped = pids.pop()
            self.assertEqual(parent_of(shipped), joined.pid, "the joined worker runs the program")
            exe = exe_of(shipped) or ""
            self.assertTrue(exe.startswith(tmp + os.sep), f"the program runs from {exe}, the worker's scratch directory under {tmp}")
            self.assertEqual(os.stat(exe).st_mode & 0o777, 0o700)
            notes = "\n".join(rep.get("notes", []))
            self.assertRegex(notes, rf"the native program for \S+ \(.* MB\) went to the worker on .*\(pid {joined.pid}\)")
        except BaseException:
            log.seek(0)
            print("the joined worker's log:\n" + log.read())
            raise
        finally:
            joined.terminate()
            joined.wait(timeout=30)
            log.close()
        # The worker stops its native worker and removes its binary.
        deadline = time.monotonic() + 10
        while shipped and alive(shipped) and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertFalse(shipped and alive(shipped), "the shipped program outlived its worker")
        self.assertEqual(os.listdir(tmp), [], "the worker left nothing in its temporary directory")
        os.rmdir(tmp)


class EngineCrash(KernelCase):
    """Workers that joined keep working when the engine crashes: the new
    engine brings the cluster back on the same address, with the same token
    and certificate, and the worker process reconnects by itself."""

    def crash_engine(self):
        kernel = self.km.provisioner.process.pid
        before = engine_pids(kernel)
        content, _ = self.run_cell(CRASH, stop_on_error=False)
        self.assertEqual(content.get("ename"), "EngineCrashed", content)
        self.assertIn("concurrent map", content["evalue"])
        content, _ = self.run_cell("1 + 1")  # waits for the new engine
        self.assertOK(content)
        after = engine_pids(kernel)
        self.assertEqual(len(after), 1)
        self.assertNotIn(after[0], before, "a new engine runs")

    def runs_on(self, pid):
        content, outs = self.run_cell("%models -repeat 1 -n 4 -workers 1 -models distributed -no-charts Who")
        self.assertOK(content)
        got = [t["result"] for t in reports_of(outs)["distributed"]["tasks"]]
        self.assertEqual(got, [pid] * 4, "every task ran on the joined worker")

    def test_joined_worker_survives(self):
        bin_path = self.km.kernel_spec.argv[0]
        for listen in ("0.0.0.0:0", "127.0.0.2:0"):
            with self.subTest(listen=listen):
                content, outs = self.run_cell(f"%workers -listen {listen}")
                self.assertOK(content)
                content, outs = self.run_cell("%workers join")
                args = join_args(outs)
                self.assertEqual("-tls-fingerprint" in args, listen.startswith("0.0.0.0"))
                self.run_cell(WHO)
                log = tempfile.TemporaryFile(mode="w+")
                joined = subprocess.Popen([bin_path, "worker"] + args, stderr=log)
                try:
                    wait_listed(self, joined.pid)
                    self.runs_on(joined.pid)
                    self.crash_engine()
                    self.assertIsNone(joined.poll(), "the joined worker is still running")
                    content, outs = self.run_cell("%workers join")
                    self.assertEqual(join_args(outs), args, "the same address, token and certificate")
                    wait_listed(self, joined.pid)
                    # A new cell: the worker fetches the new state from
                    # the new server.
                    self.assertOK(self.run_cell(f"after{joined.pid} := 1")[0])
                    self.runs_on(joined.pid)
                except BaseException:
                    log.seek(0)
                    print("the joined worker's log:\n" + log.read())
                    raise
                finally:
                    joined.kill()
                    joined.wait(timeout=10)
                    log.close()

    @classmethod
    def tearDownClass(cls):
        # A shutdown, not a kill: the kernel removes its state directory.
        cls.kc.stop_channels()
        cls.km.shutdown_kernel(now=False)

    def test_state_kept_private(self):
        content, outs = self.run_cell("%workers -listen 0.0.0.0:0")
        self.assertOK(content)
        state = engine_env(self.km.provisioner.process.pid).get("ATONCE_STATE_DIR")
        self.assertTrue(state, "the engine knows the kernel's state directory")
        for path, mode in [(state, 0o700), (os.path.join(state, "cluster.json"), 0o600),
                           (os.path.join(state, "tls"), 0o700), (os.path.join(state, "tls", "cert.pem"), 0o600),
                           (os.path.join(state, "tls", "key.pem"), 0o600), (os.path.join(state, "nats"), 0o700)]:
            with self.subTest(path=os.path.relpath(path, state)):
                self.assertEqual(oct(os.stat(path).st_mode & 0o777), oct(mode))


class StateDir(unittest.TestCase):
    """The kernel's state directory (the cluster's token, certificate and
    key) goes when the kernel shuts down, and a killed kernel's goes when
    the next kernel starts."""

    def start(self):
        km, kc = start_new_kernel(kernel_name="atonce", startup_timeout=60)

        def stop():  # if the test did not stop it
            kc.stop_channels()
            if km.is_alive():
                km.shutdown_kernel(now=True)
        self.addCleanup(stop)
        reply = kc.execute_interactive("%workers -listen 0.0.0.0:0", timeout=TIMEOUT, output_hook=lambda msg: None)
        self.assertEqual(reply["content"]["status"], "ok")
        state = engine_env(km.provisioner.process.pid)["ATONCE_STATE_DIR"]
        self.assertTrue(os.path.exists(os.path.join(state, "tls", "key.pem")))
        return km, kc, state

    def test_removed(self):
        km, kc, state = self.start()
        km.shutdown_kernel(now=False)
        self.assertFalse(os.path.exists(state), "a kernel that shut down left its state directory")

        km, kc, killed = self.start()
        os.kill(km.provisioner.process.pid, signal.SIGKILL)
        km.provisioner.process.wait()
        km.cleanup_resources()
        self.assertTrue(os.path.exists(killed), "a killed kernel cannot clean up")
        km, kc, state = self.start()
        self.assertFalse(os.path.exists(killed), "the next kernel removes a killed kernel's state directory")
        km.shutdown_kernel(now=False)
        self.assertFalse(os.path.exists(state))


class KernelDeath(unittest.TestCase):
    def test_no_worker_outlives_a_killed_kernel(self):
        km, kc = start_new_kernel(kernel_name="atonce", startup_timeout=60)
        try:
            before = set(nats_workers())
            kc.execute_interactive("%workers add 2", timeout=60)
            # A processes run that is still going when the kernel dies.
            kc.execute("%%models -repeat 1 -n 4 -workers 2 -models processes -no-charts\nfunc Long(i int) { time.Sleep(time.Minute) }")
            # Only this build's workers: another checkout's tests may run theirs.
            exe = os.path.realpath(km.kernel_spec.argv[0])
            deadline = time.monotonic() + 20
            pipes = []
            while time.monotonic() < deadline and len(pipes) < 2:
                pipes = [p for p in live_pids(lambda args: args.endswith(" worker -pipe")) if exe_of(p) == exe]
                time.sleep(0.1)
            workers = {p for p in (set(nats_workers()) - before) | set(pipes) if exe_of(p) == exe}
            self.assertGreaterEqual(len(workers), 4, "two distributed and two processes workers run")
            os.kill(km.provisioner.process.pid, signal.SIGKILL)
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline and any(alive(p) for p in workers):
                time.sleep(0.05)
            self.assertEqual([p for p in workers if alive(p)], [], "a worker outlived the killed kernel")
        finally:
            kc.stop_channels()
            km.cleanup_resources()


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


@unittest.skipUnless(shutil.which("nats-server") or os.path.exists("/usr/sbin/nats-server"),
                     "Debian's nats-server is not installed (apt-get install nats-server)")
class ExternalNATS(unittest.TestCase):
    def setUp(self):
        binary = shutil.which("nats-server") or "/usr/sbin/nats-server"
        store = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, store, ignore_errors=True)
        self.port, self.token = free_port(), os.urandom(16).hex()
        server = subprocess.Popen([binary, "-js", "-a", "127.0.0.1", "-p", str(self.port), "--auth", self.token, "-sd", store],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

        def stop():
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=10)
        self.addCleanup(stop)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    break
            time.sleep(0.05)

    def kernel(self, **env):
        km, kc = start_new_kernel(kernel_name="atonce", startup_timeout=60, env=dict(os.environ, **env))

        def stop():
            kc.stop_channels()
            km.shutdown_kernel(now=False)
        self.addCleanup(stop)
        return km, kc

    def run_cell(self, kc, code, **kw):
        outs = []
        reply = kc.execute_interactive(code, timeout=120, output_hook=outs.append, **kw)
        return reply["content"], outs

    def test_external_server(self):
        km, kc = self.kernel(ATONCE_NATS_URL=f"nats://127.0.0.1:{self.port}", ATONCE_NATS_TOKEN=self.token)
        self.run_cell(kc, "func Twice(i int) int { return 2 * i }")
        content, outs = self.run_cell(kc, "%models -repeat 1 -n 5 -workers 2 -models distributed -no-charts Twice")
        self.assertEqual(content["status"], "ok")
        dist = reports_of(outs)["distributed"]
        self.assertEqual(sorted(t["result"] for t in dist["tasks"]), [0, 2, 4, 6, 8])
        content, outs = self.run_cell(kc, "%workers")
        self.assertIn(f"NATS server at nats://127.0.0.1:{self.port}", texts(outs))
        self.assertNotIn("embedded", texts(outs))

    def test_kept_after_engine_crash(self):
        km, kc = self.kernel()
        content, outs = self.run_cell(kc, f"%workers -nats nats://{self.token}@127.0.0.1:{self.port}")
        self.assertEqual(content["status"], "ok", content)
        self.assertNotIn(self.token, texts(outs), "the listing does not show the token")
        content, outs = self.run_cell(kc, "%workers join")
        args = join_args(outs)
        self.assertIn(self.token, args[1], "the join command holds the token")
        self.run_cell(kc, WHO)
        joined = subprocess.Popen([self.bin(km), "worker"] + args, stderr=subprocess.DEVNULL)
        self.addCleanup(joined.wait, timeout=10)
        self.addCleanup(joined.kill)
        run = lambda code: self.run_cell(kc, code)
        wait_listed(self, joined.pid, run)
        engine = engine_pids(km.provisioner.process.pid)
        content, _ = self.run_cell(kc, CRASH, stop_on_error=False)
        self.assertEqual(content.get("ename"), "EngineCrashed", content)
        listing = wait_listed(self, joined.pid, run)
        self.assertNotEqual(engine_pids(km.provisioner.process.pid), engine, "a new engine runs")
        self.assertIn(f"NATS server at nats://127.0.0.1:{self.port}", listing, "still on the external server")
        self.assertNotIn("embedded", listing)
        content, outs = self.run_cell(kc, "%models -repeat 1 -n 3 -workers 1 -models distributed -no-charts Who")
        self.assertEqual(content["status"], "ok", content)
        self.assertEqual([t["result"] for t in reports_of(outs)["distributed"]["tasks"]], [joined.pid] * 3)

    def test_two_kernels_keep_apart(self):
        """Two kernels on one server, with no queue named: each runs its
        tasks on its own workers and lists only them."""
        env = dict(ATONCE_NATS_URL=f"nats://127.0.0.1:{self.port}", ATONCE_NATS_TOKEN=self.token)
        kernels = []
        for _ in range(2):
            km, kc = self.kernel(**env)
            self.run_cell(kc, WHO)
            content, outs = self.run_cell(kc, "%workers join")
            args = join_args(outs)
            self.assertIn("-queue", args, "the join command names the kernel's queue")
            joined = subprocess.Popen([self.bin(km), "worker"] + args, stderr=subprocess.DEVNULL)
            self.addCleanup(joined.wait, timeout=10)
            self.addCleanup(joined.kill)
            kernels.append((kc, args, joined))
        self.assertNotEqual(kernels[0][1], kernels[1][1], "each kernel has its own queue")
        for kc, _, joined in kernels:  # both joined before either lists
            wait_listed(self, joined.pid, lambda code, kc=kc: self.run_cell(kc, code))
        for i, (kc, _, joined) in enumerate(kernels):
            other = kernels[1 - i][2]
            listing = wait_listed(self, joined.pid, lambda code: self.run_cell(kc, code))
            self.assertNotIn(str(other.pid), listing, "another kernel's worker is not listed")
            content, outs = self.run_cell(kc, "%models -repeat 1 -n 4 -workers 1 -models distributed -no-charts Who")
            self.assertEqual(content["status"], "ok", content)
            self.assertEqual([t["result"] for t in reports_of(outs)["distributed"]["tasks"]], [joined.pid] * 4)

    def bin(self, km):
        return km.kernel_spec.argv[0]


if __name__ == "__main__":
    unittest.main()
