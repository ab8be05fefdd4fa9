"""atonce's own protocol tests with a real Jupyter client: interrupt,
stop_on_error, stdin, crash recovery, bad signatures, shutdown.

Run by kernel/jupyter_test.go with the kernelspec installed under a
temporary JUPYTER_PATH.
"""
import os
import queue
import signal
import subprocess
import time
import unittest

import zmq
from jupyter_client.manager import start_new_kernel
from jupyter_client.session import Session

TIMEOUT = 30


def engine_pids(kernel_pid):
    """Process ids of engines whose parent is kernel_pid."""
    out = subprocess.run(["ps", "-eo", "pid=,ppid=,args="], capture_output=True, text=True).stdout
    pids = []
    for line in out.splitlines():
        parts = line.split(None, 2)
        if len(parts) == 3 and parts[1] == str(kernel_pid) and parts[2].endswith(" engine"):
            pids.append(int(parts[0]))
    return pids


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is dead for our purpose.
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split()[2] != "Z"
    except FileNotFoundError:
        return False


def live_pids(matches):
    """Process ids of the live processes whose command line matches(args)."""
    out = subprocess.run(["ps", "-eo", "pid=,args="], capture_output=True, text=True).stdout
    pids = []
    for line in out.splitlines():
        pid, _, args = line.strip().partition(" ")
        if matches(args):
            pids.append(int(pid))
    return [p for p in pids if alive(p)]


def exe_of(pid):
    """The binary process pid runs, or None once it is gone."""
    try:
        return os.path.realpath(os.readlink(f"/proc/{pid}/exe"))
    except OSError:
        return None


def descendants(pid):
    """Process ids of pid's children, their children, and so on."""
    out = subprocess.run(["ps", "-eo", "pid=,ppid="], capture_output=True, text=True).stdout
    children = {}
    for line in out.splitlines():
        child, parent = map(int, line.split())
        children.setdefault(parent, []).append(child)
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def final_displays(outs):
    """The contents of a cell's displays as a front end shows them once
    the cell is done: each display_data replaced by the last
    update_display_data of its display_id, in the order they appeared."""
    shown, by_id = [], {}
    for m in outs:
        c = m["content"]
        did = c.get("transient", {}).get("display_id")
        if m["msg_type"] == "display_data":
            shown.append(c)
            if did:
                by_id[did] = len(shown) - 1
        elif m["msg_type"] == "update_display_data" and did in by_id:
            shown[by_id[did]] = c
    return shown


class KernelCase(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.km, cls.kc = start_new_kernel(kernel_name="atonce", startup_timeout=60)

    @classmethod
    def tearDownClass(cls):
        # A shutdown request, not a kill: the kernel removes its state
        # directory as it goes.
        cls.kc.stop_channels()
        cls.km.shutdown_kernel(now=False)

    def setUp(self):
        self.flush()

    def flush(self):
        for get in (self.kc.get_shell_msg, self.kc.get_iopub_msg, self.kc.get_stdin_msg):
            while True:
                try:
                    get(timeout=0.05)
                except queue.Empty:
                    break

    def messages_of(self, get, msg_id, timeout, what):
        """Yields the messages for msg_id that get reads (one channel's),
        failing the test once timeout seconds passed without what."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                self.fail(f"no {what} for {msg_id} within {timeout}s")
            msg = get(timeout=left)
            if msg["parent_header"].get("msg_id") == msg_id:
                yield msg

    def reply(self, msg_id, timeout=TIMEOUT):
        return next(self.messages_of(self.kc.get_shell_msg, msg_id, timeout, "reply"))

    def outputs(self, msg_id, timeout=TIMEOUT):
        """iopub messages for msg_id up to its idle status."""
        out = []
        deadline = time.monotonic() + timeout
        while True:
            msg = self.kc.get_iopub_msg(timeout=max(0.1, deadline - time.monotonic()))
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                return out
            out.append(msg)

    def wait_output(self, msg_id, text, timeout=TIMEOUT):
        """Reads iopub until an output of msg_id holds text, and returns
        the messages of msg_id read so far: a cell that prints a marker
        this way is known to be running."""
        out = []
        for msg in self.messages_of(self.kc.get_iopub_msg, msg_id, timeout, f"output {text!r}"):
            out.append(msg)
            c = msg["content"]
            if text in c.get("text", "") + str(c.get("data", {}).get("text/plain", "")):
                return out

    def run_cell(self, code, **kw):
        msg_id = self.kc.execute(code, **kw)
        rep = self.reply(msg_id)
        return rep["content"], self.outputs(msg_id)

    def stdout(self, outs):
        return "".join(m["content"]["text"] for m in outs if m["msg_type"] == "stream" and m["content"]["name"] == "stdout")

    def result(self, outs):
        for m in outs:
            if m["msg_type"] == "execute_result":
                return m["content"]["data"]["text/plain"]
        return None

    def assertOK(self, content):
        self.assertEqual(content["status"], "ok", content)


class Interrupt(KernelCase):
    def interrupt_running(self, code):
        """Runs code after a marker line, interrupts it once the marker
        shows (an interrupt before the cell starts has nothing to stop),
        and returns the reply and how long the interrupt took."""
        msg_id = self.kc.execute('import "fmt"\nfmt.Println("running")\n' + code, stop_on_error=False)
        self.wait_output(msg_id, "running")
        start = time.monotonic()
        self.km.interrupt_kernel()
        rep = self.reply(msg_id, timeout=10)
        took = time.monotonic() - start
        self.outputs(msg_id)
        return rep["content"], took

    def test_interrupts(self):
        content, _ = self.run_cell("kept := 5")
        self.assertOK(content)
        for name, code in [
            ("loop", "for {}"),
            ("sleep", 'import "time"\ntime.Sleep(time.Hour)'),
            ("channel", "<-make(chan int)"),
            ("goroutines", "n := 0\nfor i := 0; i < 4; i++ {\n\tgo func() {\n\t\tfor {\n\t\t\tn++\n\t\t}\n\t}()\n}\nselect {}"),
        ]:
            with self.subTest(name):
                content, took = self.interrupt_running(code)
                self.assertEqual(content["status"], "error", content)
                self.assertEqual(content["ename"], "Interrupted", content)
                # Stopping must be prompt; a generous bound keeps a loaded CI machine from flaking.
                self.assertLess(took, 5.0)
                content, outs = self.run_cell("kept + 1")
                self.assertOK(content)
                self.assertEqual(self.result(outs), "6")


class StopOnError(KernelCase):
    def test_error_aborts_queue(self):
        # The first cell fails only after the others are surely queued
        # (only what is queued when it fails is aborted), as in
        # ipykernel's own test.
        first = self.kc.execute('import "time"\ntime.Sleep(500 * time.Millisecond)\npanic("first fails")')
        second = self.kc.execute("aborted := 1")
        third = self.kc.execute('import "fmt"\nfmt.Println("never")')
        replies = [self.reply(i)["content"] for i in (first, second, third)]
        self.assertEqual([r["status"] for r in replies], ["error", "error", "error"])
        self.assertEqual(replies[1]["ename"], "ExecutionAborted")
        self.assertEqual(replies[2]["ename"], "ExecutionAborted")
        self.flush()
        content, _ = self.run_cell("aborted")
        self.assertEqual(content["status"], "error", "an aborted cell must not have run")

    def test_no_stop_on_error_runs_queue(self):
        first = self.kc.execute('panic("fails")', stop_on_error=False)
        second = self.kc.execute("ran := 7", stop_on_error=False)
        self.assertEqual(self.reply(first)["content"]["status"], "error")
        self.assertOK(self.reply(second)["content"])


class Stdin(KernelCase):
    def test_input(self):
        msg_id = self.kc.execute('import "fmt"\nvar name string\nfmt.Print("name? ")\nfmt.Scanln(&name)\nfmt.Println("hello,", name)', allow_stdin=True)
        req = self.kc.get_stdin_msg(timeout=TIMEOUT)
        self.assertEqual(req["msg_type"], "input_request")
        self.kc.input("gopher")
        self.assertOK(self.reply(msg_id)["content"])
        self.assertIn("hello, gopher", self.stdout(self.outputs(msg_id)))

    def test_input_not_allowed(self):
        content, outs = self.run_cell('import "fmt"\nvar n2 int\n_, err := fmt.Scanln(&n2)\nfmt.Println("err:", err)', allow_stdin=False)
        self.assertOK(content)
        text = self.stdout(outs) + "".join(m["content"]["text"] for m in outs if m["msg_type"] == "stream")
        self.assertIn("allow_stdin is false", text)


class CrashRecovery(KernelCase):
    def crash(self, code):
        content, outs = self.run_cell(code, stop_on_error=False)
        self.assertEqual(content["status"], "error", content)
        return content

    def test_crashes_keep_state(self):
        content, _ = self.run_cell("survivor := 41\nm := map[int]int{}")
        self.assertOK(content)
        for name, code, want, kills in [
            ("concurrent map writes",
             'import "sync"\nvar wg sync.WaitGroup\nfor g := 0; g < 4; g++ {\n\twg.Add(1)\n\tgo func() {\n\t\tdefer wg.Done()\n\t\tfor i := 0; i < 1000000; i++ {\n\t\t\tm[i%100] = i\n\t\t}\n\t}()\n}\nwg.Wait()',
             "concurrent map", True),
            # yaegi turns os.Exit into a panic, so the engine survives it.
            ("os.Exit", 'import "os"\nos.Exit(3)', "os.Exit(3)", False),
            ("stack overflow", "func down(n int) int { return down(n+1) + 1 }\ndown(0)", "stack", True),
        ]:
            with self.subTest(name):
                pids_before = engine_pids(self.km.provisioner.process.pid)
                content = self.crash(code)
                self.assertIn(want, content["evalue"] + "\n".join(content["traceback"]))
                content, outs = self.run_cell("survivor + 1")
                self.assertOK(content)
                self.assertEqual(self.result(outs), "42")
                for pid in pids_before:
                    self.assertEqual(alive(pid), not kills, f"engine {pid}: alive={alive(pid)}")


    def test_goroutine_panic_is_reported_not_fatal(self):
        content, _ = self.run_cell("before := 1")
        self.assertOK(content)
        pids = engine_pids(self.km.provisioner.process.pid)
        # The cell waits for the goroutine to panic. The report is written
        # as the goroutine ends, a moment later: it may come after the
        # cell's idle, still under the cell (a cell's late output goes to
        # it), so it is read until it comes.
        msg_id = self.kc.execute('done := make(chan bool)\ngo func() {\n\tdefer close(done)\n\tpanic("in a goroutine")\n}()\n<-done')
        self.assertOK(self.reply(msg_id)["content"])
        outs = self.wait_output(msg_id, "panic in a goroutine")
        stderr = "".join(m["content"]["text"] for m in outs if m["msg_type"] == "stream" and m["content"]["name"] == "stderr")
        self.assertIn("panic in a goroutine (started by the go statement at 2:1 of its cell): in a goroutine", stderr)
        self.assertEqual(engine_pids(self.km.provisioner.process.pid), pids, "the engine must survive")
        content, outs = self.run_cell("before + 1")
        self.assertEqual(self.result(outs), "2")


class BadInput(KernelCase):
    def test_bad_signature_is_dropped(self):
        info = self.km.get_connection_info(session=False)
        ctx = zmq.Context.instance()
        sock = ctx.socket(zmq.DEALER)
        sock.connect(f"tcp://{info['ip']}:{info['shell_port']}")
        wrong = Session(key=b"not-the-key")
        wrong.send(sock, "execute_request", {"code": "hacked := 1", "silent": False})
        unsigned = Session(key=b"")
        unsigned.send(sock, "execute_request", {"code": "hacked := 2", "silent": False})
        sock.send_multipart([b"<IDS|MSG>", b"garbage"])
        # Shell answers in order: an answer to a bad message would come
        # before the reply to this good one.
        right = Session(key=self.km.session.key)
        probe = right.send(sock, "kernel_info_request", {})
        self.assertEqual(sock.poll(TIMEOUT * 1000), zmq.POLLIN, "no reply to a well signed request")
        _, frames = right.feed_identities(sock.recv_multipart())
        self.assertEqual(right.deserialize(frames)["parent_header"]["msg_id"], probe["header"]["msg_id"],
                         "the kernel answered a badly signed message")
        sock.close()
        content, _ = self.run_cell("hacked")
        self.assertEqual(content["status"], "error", "a badly signed cell ran")
        content, outs = self.run_cell("1 + 1")
        self.assertEqual(self.result(outs), "2")

    def test_control_answers_on_control(self):
        msg = self.kc.session.msg("kernel_info_request")
        self.kc.control_channel.send(msg)
        rep = self.kc.get_control_msg(timeout=TIMEOUT)
        self.assertEqual(rep["msg_type"], "kernel_info_reply")
        self.assertEqual(rep["parent_header"]["msg_id"], msg["header"]["msg_id"])


class Lifecycle(unittest.TestCase):
    def test_shutdown_leaves_no_engine(self):
        km, kc = start_new_kernel(kernel_name="atonce", startup_timeout=60)
        kc.execute_interactive("x := 1", timeout=TIMEOUT)
        pid = km.provisioner.process.pid
        engines = engine_pids(pid)
        self.assertEqual(len(engines), 1, "one engine per kernel")
        kc.stop_channels()
        km.shutdown_kernel()
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and any(alive(p) for p in engines + [pid]):
            time.sleep(0.05)
        self.assertFalse(any(alive(p) for p in engines), "engine outlived a shutdown")

    def test_killed_kernel_takes_engine_along(self):
        km, kc = start_new_kernel(kernel_name="atonce", startup_timeout=60)
        kc.execute_interactive("x := 1", timeout=TIMEOUT)
        pid = km.provisioner.process.pid
        engines = engine_pids(pid)
        self.assertEqual(len(engines), 1)
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and any(alive(p) for p in engines):
            time.sleep(0.05)
        self.assertFalse(any(alive(p) for p in engines), "engine outlived a killed kernel (parent-death signal)")
        kc.stop_channels()
        km.cleanup_resources()


if __name__ == "__main__":
    unittest.main()
