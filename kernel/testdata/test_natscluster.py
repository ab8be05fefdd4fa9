"""The distributed model on a NATS cluster through a real Jupyter client:
three of Debian's nats-server clustered with JetStream on loopback, the
kernel pointed at all three (ATONCE_NATS_URL with three URLs), a node and
then the work queue's leader killed mid-run, and two kernels on the
cluster at once, each with queues of its own it did not have to name.

The test watches the run through its own NATS subscription and asks
JetStream which node leads the queue, speaking NATS's text protocol
itself (Debian packages no Python NATS client).

Run by kernel/jupyter_test.go with the kernelspec installed under a
temporary JUPYTER_PATH.
"""
import collections
import json
import os
import queue
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

from jupyter_client.manager import start_new_kernel

from test_behaviour import descendants
from test_distributed import join_args
from test_magics import reports_of

NATS_SERVER = shutil.which("nats-server") or "/usr/sbin/nats-server"
TIMEOUT = 120


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class NATSConn:
    """A NATS connection speaking the text protocol (INFO, CONNECT, PING,
    PONG, SUB, PUB, MSG, HMSG): enough for a subscription and JetStream
    API requests."""

    def __init__(self, port, token, timeout=5):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buf = b""
        self.sids = 0
        kind, _ = self.read()
        if kind != "INFO":
            raise ConnectionError(f"the NATS server on port {port} did not say INFO but {kind}")
        connect = {"auth_token": token, "verbose": False, "pedantic": False, "headers": True,
                   "no_responders": True, "protocol": 1, "name": "atonce test"}
        self.sock.sendall(b"CONNECT " + json.dumps(connect).encode() + b"\r\nPING\r\n")
        while True:
            kind, rest = self.read()
            if kind == "PONG":
                return
            if kind == "-ERR":
                raise ConnectionError(f"the NATS server on port {port} refused the connection: {rest}")

    def close(self):
        self.sock.close()

    def line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("the NATS server closed the connection")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line.decode()

    def exactly(self, n):
        while len(self.buf) < n + 2:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("the NATS server closed the connection")
            self.buf += chunk
        data, self.buf = self.buf[:n], self.buf[n + 2:]
        return data

    def read(self):
        """The next protocol message as (kind, rest); a message as ("MSG",
        (subject, headers, payload)), its status in headers[":status"]."""
        while True:
            line = self.line()
            kind, _, rest = line.partition(" ")
            if kind == "PING":
                self.sock.sendall(b"PONG\r\n")
                continue
            if kind == "+OK":
                continue
            if kind == "MSG":
                parts = rest.split()
                return "MSG", (parts[0], {}, self.exactly(int(parts[-1])))
            if kind == "HMSG":
                parts = rest.split()
                hlen, total = int(parts[-2]), int(parts[-1])
                data = self.exactly(total)
                head, payload = data[:hlen].decode(), data[hlen:]
                lines = head.split("\r\n")
                headers = {":status": lines[0][len("NATS/1.0"):].strip()}
                for h in lines[1:]:
                    if ":" in h:
                        k, v = h.split(":", 1)
                        headers[k.strip()] = v.strip()
                return "MSG", (parts[0], headers, payload)
            return kind, rest

    def subscribe(self, subject):
        self.sids += 1
        self.sock.sendall(f"SUB {subject} {self.sids}\r\nPING\r\n".encode())
        while self.read()[0] != "PONG":
            pass
        return self.sids

    def request(self, subject, payload=b""):
        inbox = "_INBOX." + os.urandom(8).hex()
        self.subscribe(inbox)
        self.sock.sendall(f"PUB {subject} {inbox} {len(payload)}\r\n".encode() + payload + b"\r\n")
        while True:
            kind, rest = self.read()
            if kind == "MSG" and rest[0] == inbox:
                return rest[1], rest[2]
            if kind == "-ERR":
                raise ConnectionError(rest)


class Node:
    """One nats-server of the cluster, its process started from its
    configuration file."""

    def __init__(self, name, directory):
        self.name, self.port, self.route = name, free_port(), free_port()
        self.config = os.path.join(directory, name + ".conf")
        self.log = os.path.join(directory, name + ".log")
        self.proc = None

    def start(self):
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen([NATS_SERVER, "-c", self.config], stdout=log, stderr=subprocess.STDOUT)

    def kill(self):
        """SIGKILL: the node says goodbye to nobody."""
        if self.proc is not None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)
            self.proc = None

    def up(self):
        return self.proc is not None


class Cluster:
    """Three nats-server nodes clustered with JetStream on loopback ports
    the test picked, each with its store in a temporary directory, one
    token for clients; stopped and removed when the test ends, whatever
    its outcome."""

    def __init__(self, case, n=3):
        self.case = case
        self.dir = tempfile.mkdtemp(prefix="atonce-natscluster-")
        case.addCleanup(shutil.rmtree, self.dir, ignore_errors=True)
        case.addCleanup(self.stop)
        self.token = os.urandom(16).hex()
        self.nodes = [Node(f"n{i + 1}", self.dir) for i in range(n)]
        routes = ", ".join(f"nats-route://127.0.0.1:{node.route}" for node in self.nodes)
        for node in self.nodes:
            with open(node.config, "w") as f:
                f.write(f'server_name: {node.name}\nlisten: "127.0.0.1:{node.port}"\n'
                        f'authorization {{ token: "{self.token}" }}\n'
                        f'jetstream {{ store_dir: "{os.path.join(self.dir, node.name)}" }}\n'
                        f'cluster {{ name: atonce-test\n listen: "127.0.0.1:{node.route}"\n routes: [{routes}] }}\n')
        for node in self.nodes:
            node.start()
        probe = json.dumps({"name": "PROBE", "subjects": ["probe"], "storage": "memory", "num_replicas": n}).encode()
        self.until(lambda: self.api("STREAM.CREATE.PROBE", probe), "the cluster placed a stream on all three nodes")
        self.api("STREAM.DELETE.PROBE")

    def stop(self):
        for node in self.nodes:
            node.kill()

    def logs(self):
        """The last lines each node logged."""
        out = []
        for node in self.nodes:
            with open(node.log, errors="replace") as f:
                out.append(f"--- {node.name}'s log, last lines:\n" + "".join(f.readlines()[-15:]))
        return "\n".join(out)

    def url(self):
        return ",".join(f"nats://127.0.0.1:{node.port}" for node in self.nodes)

    def connect(self, avoid=()):
        """A connection to a node that is up and not in avoid."""
        for node in self.nodes:
            if node.up() and node not in avoid:
                try:
                    return node, NATSConn(node.port, self.token)
                except OSError:
                    continue
        raise ConnectionError("no node of the cluster answers")

    def api(self, request, payload=b""):
        """A JetStream API request's answer, or an exception saying why
        there is none (no leader yet, a node gone, an error)."""
        _, conn = self.connect()
        try:
            headers, data = conn.request("$JS.API." + request, payload)
        finally:
            conn.close()
        if headers.get(":status", "").startswith("503"):
            raise ConnectionError(f"no JetStream server answered {request}")
        answer = json.loads(data)
        if "error" in answer:
            raise RuntimeError(f"{request}: {answer['error']}")
        return answer

    def until(self, f, what, timeout=60):
        """f() once it stops raising, retried for up to timeout seconds."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                return f()
            except (OSError, RuntimeError, ValueError) as e:
                if time.monotonic() > deadline:
                    self.case.fail(f"not so within {timeout}s: {what}: {e}\n{self.logs()}")
            time.sleep(0.1)

    def stream(self, name):
        return self.api("STREAM.INFO." + name)

    def leader(self, stream):
        """The node that leads stream, as JetStream's stream info says."""
        def lead():
            name = self.stream(stream).get("cluster", {}).get("leader")
            if not name:
                raise RuntimeError(f"{stream} has no leader")
            return next(n for n in self.nodes if n.name == name)
        return self.until(lead, f"{stream} has a leader")

    def lead_on(self, stream, node, tries=30):
        """Asks stream's leader to step down until node leads it (each
        step-down hands the lead to a random other node)."""
        for _ in range(tries):
            if self.leader(stream) is node:
                self.current(stream)
                return
            self.until(lambda: self.api("STREAM.LEADER.STEPDOWN." + stream), f"{stream}'s leader stepped down")
            time.sleep(0.2)
        self.case.fail(f"{node.name} did not come to lead {stream} in {tries} step-downs\n{self.logs()}")

    def current(self, stream):
        """Waits until stream has a leader and two followers up to date."""
        def check():
            c = self.stream(stream).get("cluster", {})
            ok = [r for r in c.get("replicas", []) if r.get("current") and not r.get("offline")]
            if not c.get("leader") or len(ok) != len(self.nodes) - 1:
                raise RuntimeError(f"{stream}: {c}")
        self.until(check, f"every copy of {stream} is current")


class Results:
    """The test's own subscription to the results of every queue on the
    cluster: the task ids seen, counted in a thread."""

    def __init__(self, cluster):
        self.cluster = cluster
        self.seen = collections.Counter()
        self.queues = set()
        self.cond = threading.Condition()
        self.node, self.conn, self.thread = None, None, None
        self.move()

    def move(self, avoid=()):
        """Subscribes on a node that is up and not in avoid (and leaves the
        node it was on): results then come through that node."""
        self.stop()
        self.node, self.conn = self.cluster.connect(avoid)
        self.conn.sock.settimeout(None)
        self.conn.subscribe("atonce.*.results.>")
        self.thread = threading.Thread(target=self.read, args=(self.conn,), daemon=True)
        self.thread.start()

    def read(self, conn):
        try:
            while True:
                kind, rest = conn.read()
                if kind == "MSG":
                    subject, headers, _ = rest
                    with self.cond:
                        self.seen[headers.get("Atonce-Task")] += 1
                        self.queues.add(subject.split(".")[1])
                        self.cond.notify_all()
        except OSError:
            return  # the connection closed

    def stop(self):
        if self.conn is not None:
            try:
                self.conn.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass  # the node went first
            self.conn.close()
            self.thread.join(timeout=10)
            self.conn = None

    def wait(self, n, case):
        """Waits until n distinct tasks have a result."""
        with self.cond:
            if not self.cond.wait_for(lambda: len(self.seen) >= n, timeout=TIMEOUT):
                case.fail(f"only {len(self.seen)} of the {n} results awaited came within {TIMEOUT}s\n{self.cluster.logs()}")


# A task that waits for the test at two points of the run: from task FIRST
# on until the file first exists, from task SECOND on until second does.
# The runs are not traced (-no-trace): a traced task's result carries its
# states, a span per sleep, and a task that waits seconds in 5 ms sleeps
# has more than the megabyte a NATS message holds.
GATED = '''import (
	"os"
	"time"
)

// opened waits until the test creates path.
func opened(path string) {
	for {
		if _, err := os.Stat(path); err == nil {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func Gated(i int) int {
	if i >= FIRST {
		opened("DIR/first")
	}
	if i >= SECOND {
		opened("DIR/second")
	}
	return i * i
}'''

# A task for two kernels at once: each of its tasks says its kernel has a
# run going and waits until the other kernel says so too, so neither run
# ends unless both run at the same time.
MEET = '''import (
	"fmt"
	"os"
	"time"
)

func Meet(i int) string {
	os.WriteFile("DIR/"+Me, nil, 0o644)
	for {
		if _, err := os.Stat("DIR/" + Other); err == nil {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	return fmt.Sprintf("%s %d %d", Me, i, os.Getpid())
}'''


@unittest.skipUnless(os.path.exists(NATS_SERVER), "Debian's nats-server is not installed (apt-get install nats-server)")
class NATSCluster(unittest.TestCase):
    def setUp(self):
        started = time.monotonic()
        self.cluster = Cluster(self)
        print(f"\n{self.id()}: the cluster took {time.monotonic() - started:.1f}s to place a stream on three nodes",
              file=sys.stderr)
        self.gates = tempfile.mkdtemp(prefix="atonce-gates-")
        self.addCleanup(shutil.rmtree, self.gates, ignore_errors=True)

    def kernel(self):
        """A kernel pointed at the three nodes; stopped before the cluster
        (cleanups run last first)."""
        env = dict(os.environ, ATONCE_NATS_URL=self.cluster.url(), ATONCE_NATS_TOKEN=self.cluster.token)
        env.pop("ATONCE_NATS_QUEUE", None)
        km, kc = start_new_kernel(kernel_name="atonce", startup_timeout=60, env=env)

        def stop():
            kc.stop_channels()
            km.shutdown_kernel(now=False)
        self.addCleanup(stop)
        return km, kc

    def run_cell(self, kc, code):
        outs = []
        reply = kc.execute_interactive(code, timeout=TIMEOUT, output_hook=outs.append)
        self.assertEqual(reply["content"]["status"], "ok", reply["content"])
        return outs

    def finish(self, kc, msg_id, diagnose=lambda: ""):
        """The reply to msg_id and its outputs up to idle; when it does not
        come, the test fails with what diagnose() says."""
        try:
            reply = kc.get_shell_msg(timeout=TIMEOUT)
        except queue.Empty:
            self.fail(f"the run did not end within {TIMEOUT}s\n{diagnose()}")
        self.assertEqual(reply["parent_header"]["msg_id"], msg_id)
        outs = []
        while True:
            msg = kc.get_iopub_msg(timeout=TIMEOUT)
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                return reply["content"], outs
            outs.append(msg)

    def test_node_and_leader_killed_mid_run(self):
        """Kill a node that does not lead the work queue (then bring it
        back: a stream lives while two of its three copies do), then the
        queue's leader, each while tasks wait: every task's result comes
        back exactly once."""
        n, first, second = 300, 100, 200
        results = Results(self.cluster)
        self.addCleanup(results.stop)
        km, kc = self.kernel()
        self.run_cell(kc, GATED.replace("DIR", self.gates).replace("FIRST", str(first)).replace("SECOND", str(second)))
        msg_id = kc.execute(f"%models -repeat 1 -n {n} -workers 2 -models distributed -no-charts -no-trace Gated")

        results.wait(first, self)
        self.assertEqual(len(results.seen), first, "the tasks after the first gate wait for it")
        (q,) = results.queues
        tasks, outcomes = f"ATONCE_TASKS_{q}", f"ATONCE_RESULTS_{q}"
        for stream in (tasks, outcomes):
            self.assertEqual(self.cluster.stream(stream)["config"]["num_replicas"], 3, f"{stream} is kept on three nodes")
        lead = self.cluster.leader(tasks)
        follower = next(node for node in self.cluster.nodes if node is not lead)
        if results.node is follower:
            results.move(avoid=[follower])
        follower.kill()
        follower.start()
        for stream in (tasks, outcomes):
            self.cluster.current(stream)
        open(os.path.join(self.gates, "first"), "w").close()

        results.wait(second, self)
        self.assertEqual(len(results.seen), second, "the tasks after the second gate wait for it")
        lead = self.cluster.leader(tasks)
        # The results stream is led by the same node, so that the results
        # of the tasks the second gate releases are published while both
        # streams elect new leaders (a worker's result then gets no answer
        # and must be published again).
        self.cluster.lead_on(outcomes, lead)
        if results.node is lead:
            results.move(avoid=[lead])
        killed = time.monotonic()
        lead.kill()
        open(os.path.join(self.gates, "second"), "w").close()
        content, outs = self.finish(kc, msg_id, lambda: self.stuck(results, n, tasks, outcomes))
        print(f"{self.id()}: killed {follower.name}, then the leader {lead.name}; the run ended "
              f"{time.monotonic() - killed:.1f}s after the leader's death", file=sys.stderr)
        self.assertEqual(content["status"], "ok", content)
        dist = reports_of(outs)["distributed"]
        indexes = collections.Counter(t["index"] for t in dist["tasks"])
        self.assertEqual(sorted(indexes), list(range(n)), "no task lost")
        self.assertEqual([i for i, k in indexes.items() if k > 1], [], "no task twice")
        self.assertEqual({t["index"]: t["err"] for t in dist["tasks"] if t.get("err")}, {}, "no task failed")
        self.assertEqual({t["index"]: t["result"] for t in dist["tasks"]}, {i: i * i for i in range(n)})
        self.assertEqual(len(results.seen), n, "every task's result went through the cluster")
        again = sum(k - 1 for k in results.seen.values())
        print(f"{self.id()}: {n} results; {again} seen again on the subject (a result published again, or a task "
              f"run again, while a stream elected its leader: the results stream stores one per task)", file=sys.stderr)

    def stuck(self, results, n, *streams):
        """What a run that does not end left on the cluster: the tasks
        whose result the test did not see, each stream's state and the
        workers' consumer's."""
        indexes = {t.rsplit(".", 1)[-1] for t in results.seen if t}  # a task id is RUN.INDEX
        missing = sorted(set(range(n)) - {int(i) for i in indexes if i.isdigit()})
        out = [f"the test saw {len(results.seen)} of {n} results; none for tasks {missing}"]
        for stream in streams:
            try:
                info = self.cluster.stream(stream)
                out.append(f"{stream}: state {info.get('state')}, cluster {info.get('cluster')}")
            except (OSError, RuntimeError, ValueError) as e:
                out.append(f"{stream}: {e}")
        try:
            out.append(f"consumer: {self.cluster.api(f'CONSUMER.INFO.{streams[0]}.workers')}")
        except (OSError, RuntimeError, ValueError) as e:
            out.append(f"consumer: {e}")
        return "\n".join(out) + "\n" + self.cluster.logs()

    def test_two_kernels_at_once(self):
        """Two kernels on the cluster, no queue named, each running at the
        same time as the other (each task waits for the other kernel's
        run): each gets only its own results, from its own workers."""
        kernels = {}
        for me, other in (("a", "b"), ("b", "a")):
            km, kc = self.kernel()
            self.run_cell(kc, f'var Me, Other = "{me}", "{other}"')
            self.run_cell(kc, MEET.replace("DIR", self.gates))
            kernels[me] = (km, kc)
        n = 20
        running = {me: kc.execute(f"%models -repeat 1 -n {n} -workers 1 -models distributed -no-charts -no-trace Meet")
                   for me, (km, kc) in kernels.items()}
        for me, (km, kc) in kernels.items():
            content, outs = self.finish(kc, running[me])
            self.assertEqual(content["status"], "ok", content)
            got = [t["result"].split() for t in reports_of(outs)["distributed"]["tasks"]]
            self.assertEqual({m for m, _, _ in got}, {me}, f"kernel {me} got only its own results")
            self.assertEqual(sorted(int(i) for _, i, _ in got), list(range(n)), f"kernel {me} got each of its tasks once")
            ours, pids = set(descendants(km.provisioner.process.pid)), {int(pid) for _, _, pid in got}
            self.assertTrue(pids <= ours, f"kernel {me}'s tasks ran on its own workers: {pids} not in {ours}")
        queues = set()
        for km, kc in kernels.values():
            args = join_args(self.run_cell(kc, "%workers join"))
            queues.add(args[args.index("-queue") + 1])
        self.assertEqual(len(queues), 2, "each kernel has a queue of its own")

if __name__ == "__main__":
    unittest.main()
