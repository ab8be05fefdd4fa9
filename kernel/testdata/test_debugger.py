"""Jupyter's debugger for Go cells, at the protocol level, with a real
Jupyter client: debug_request on the control channel, debug_reply,
debug_event on iopub. The shape of ipykernel's own tests/test_debugger.py
(initialize and attach, dumpCell, setBreakpoints, configurationDone, run
the cell, wait for the stopped event, then stackTrace, scopes, variables,
...), for Go, plus what a Go debugger must do: step through a loop, show
each goroutine as a thread, stop one goroutine while another runs, stop a
stopped cell with an interrupt, answer completion while a cell is stopped.

Run by kernel/jupyter_test.go with the kernelspec installed under a
temporary JUPYTER_PATH. Each test gets a fresh kernel, as ipykernel's do.
"""
import json
import os
import queue
import shutil
import subprocess
import time
import unittest

from jupyter_client.manager import start_new_kernel

TIMEOUT = 30
HERE = os.path.dirname(os.path.abspath(__file__))
# Values JupyterLab's own murmur2 (@jupyterlab/debugger lib/hash.js)
# computed; internal/cellpath tests the Go hash against them too.
JUPYTERLAB_HASHES = os.path.join(HERE, "..", "..", "internal", "cellpath", "testdata", "jupyterlab_murmur2.json")


class DebuggerCase(unittest.TestCase):
    def setUp(self):
        self.km, self.kc = start_new_kernel(kernel_name="atonce", startup_timeout=60)
        self.seq = 0
        self.events = []  # debug_event contents read so far and not yet waited for
        self.other_iopub = []  # other iopub messages read meanwhile

    def tearDown(self):
        # A shutdown request, not a kill: the kernel removes its state
        # directory (the debugger's cell files are in it) as it goes.
        self.kc.stop_channels()
        self.km.shutdown_kernel(now=False)

    # --- the protocol ---

    def send_debug(self, command, arguments=None):
        self.seq += 1
        msg = self.kc.session.msg(
            "debug_request",
            {"type": "request", "seq": self.seq, "command": command, "arguments": arguments or {}},
        )
        self.kc.control_channel.send(msg)
        return msg["header"]["msg_id"]

    def debug(self, command, arguments=None, success=True):
        """Sends a debug request and returns the reply's content (a DAP
        response), checking it succeeded (or failed, when success is
        False)."""
        msg_id = self.send_debug(command, arguments)
        deadline = time.monotonic() + TIMEOUT
        while True:
            reply = self.kc.get_control_msg(timeout=max(0.1, deadline - time.monotonic()))
            if reply["parent_header"].get("msg_id") == msg_id:
                break
        self.assertEqual(reply["msg_type"], "debug_reply")
        content = reply["content"]
        self.assertEqual(content["type"], "response")
        self.assertEqual(content["command"], command)
        if success is not None:
            self.assertEqual(content["success"], success, content)
        return content

    def start_debugging(self):
        self.debug("initialize", {
            "clientID": "test-client", "clientName": "testClient", "adapterID": "",
            "pathFormat": "path", "linesStartAt1": True, "columnsStartAt1": True,
            "supportsVariableType": True, "supportsVariablePaging": True,
            "supportsRunInTerminalRequest": True, "locale": "en",
        })
        self.debug("attach")
        self.wait_event("initialized")

    def dump(self, code):
        return self.debug("dumpCell", {"code": code})["body"]["sourcePath"]

    def set_breakpoints(self, path, lines):
        r = self.debug("setBreakpoints", {
            "breakpoints": [{"line": l} for l in lines], "source": {"path": path}, "sourceModified": False,
        })
        return r["body"]["breakpoints"]

    def run_cell(self, code):
        """Runs a cell to its end and returns the execute_reply content."""
        msg_id = self.kc.execute(code)
        return self.shell_reply(msg_id)

    def shell_reply(self, msg_id, timeout=TIMEOUT):
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                self.fail(f"no reply to {msg_id} within {timeout}s")
            msg = self.kc.get_shell_msg(timeout=left)
            if msg["parent_header"].get("msg_id") == msg_id:
                return msg["content"]

    def wait_event(self, name, timeout=TIMEOUT, **body):
        """Waits for a debug_event named name whose body has the given
        items, and returns its content."""
        deadline = time.monotonic() + timeout
        while True:
            for i, ev in enumerate(self.events):
                if ev["event"] == name and all(ev.get("body", {}).get(k) == v for k, v in body.items()):
                    del self.events[i]
                    return ev
            left = deadline - time.monotonic()
            if left <= 0:
                self.fail(f"no {name} event {body} within {timeout}s; saw {self.events}")
            try:
                msg = self.kc.get_iopub_msg(timeout=min(left, 1))
            except queue.Empty:
                continue
            if msg["msg_type"] == "debug_event":
                self.events.append(msg["content"])
            else:
                self.other_iopub.append(msg)

    def stdout_so_far(self):
        """What cells printed so far, from the iopub messages read."""
        while True:
            try:
                msg = self.kc.get_iopub_msg(timeout=0.2)
            except queue.Empty:
                break
            if msg["msg_type"] == "debug_event":
                self.events.append(msg["content"])
            else:
                self.other_iopub.append(msg)
        return "".join(m["content"]["text"] for m in self.other_iopub
                       if m["msg_type"] == "stream" and m["content"]["name"] == "stdout")

    def stack(self, thread):
        return self.debug("stackTrace", {"threadId": thread})["body"]["stackFrames"]

    def scope_vars(self, frame_id, name):
        scopes = self.debug("scopes", {"frameId": frame_id})["body"]["scopes"]
        ref = next(s["variablesReference"] for s in scopes if s["name"] == name)
        return {v["name"]: v for v in self.debug("variables", {"variablesReference": ref})["body"]["variables"]}

    def stop_at(self, define, line, run):
        """Runs the cell define, sets a breakpoint on its line, runs the
        cell run (which must reach it) and returns run's msg_id and the
        stopped event, once the kernel stopped there."""
        self.start_debugging()
        self.assertEqual(self.run_cell(define)["status"], "ok")
        path = self.dump(define)
        bp = self.set_breakpoints(path, [line])
        self.assertTrue(bp[0]["verified"], bp)
        self.debug("configurationDone")
        msg_id = self.kc.execute(run)
        stopped = self.wait_event("stopped", reason="breakpoint")
        return path, msg_id, stopped

    def stop_task(self, define, line, task):
        """stop_at for a %%models -models threads run of task on two
        goroutines (tasks 0 and 1), each a thread of the debugger's."""
        return self.stop_at(define, line, f"%%models -models threads -n 2 -workers 2 -no-charts {task}")

    def wait_stdout(self, text, why):
        """Waits for a cell to print text; fails with why if it does not."""
        deadline = time.monotonic() + TIMEOUT
        while text not in self.stdout_so_far():
            self.assertLess(time.monotonic(), deadline, why)

    def complete_while_stopped(self):
        """Asks for completion of fmt.Spr while a cell is stopped."""
        complete_id = self.kc.complete("fmt.Spr", 7)
        self.assertIn("Sprintf", self.shell_reply(complete_id, timeout=10)["matches"])

    def interrupt_stopped(self, msg_id, thread=None):
        """Interrupts the kernel while the cell msg_id is stopped: the cell
        ends as Interrupted and nothing stays stopped."""
        self.km.interrupt_kernel()
        reply = self.shell_reply(msg_id, timeout=60)
        self.assertEqual((reply["status"], reply.get("ename")), ("error", "Interrupted"), reply)
        if thread is not None:
            self.wait_event("continued", threadId=thread)
        self.assertEqual(self.debug("debugInfo")["body"]["stoppedThreads"], [])

    # --- the tests ---

    def test_kernel_info_advertises_the_debugger(self):
        self.kc.kernel_info()
        reply = self.kc.get_shell_msg(timeout=TIMEOUT)["content"]
        self.assertIn("debugger", reply["supported_features"])
        self.assertIs(reply["debugger"], True)

    def test_debug_info_names_cells_as_jupyterlab_does(self):
        self.start_debugging()
        info = self.debug("debugInfo")["body"]
        self.assertIs(info["isStarted"], True)
        self.assertEqual(info["hashMethod"], "Murmur2")
        self.assertEqual(info["tmpFileSuffix"], ".go")
        self.assertTrue(info["tmpFilePrefix"].endswith(os.sep), info)
        # JupyterLab shows a source path with ipykernel's marker in it as
        # the cell it is ("Cell [3]"), any other as a file's path.
        self.assertIn("ipykernel_", info["tmpFilePrefix"])
        self.assertEqual(info["stoppedThreads"], [])
        # The path of a dumped cell is prefix + hash + suffix, with the
        # hash JupyterLab computes for the cell's text (UTF-8 included),
        # which is ipykernel's too.
        with open(JUPYTERLAB_HASHES) as f:
            cases = [c for c in json.load(f)["cases"] if c["seed"] == info["hashSeed"] and c["code"]]
        self.assertTrue(any(not c["code"].isascii() for c in cases), "the fixture needs a non-ASCII cell")
        from ipykernel.compiler import murmur2_x86
        for c in cases:
            path = self.dump(c["code"])
            self.assertEqual(path, f'{info["tmpFilePrefix"]}{c["hash"]}{info["tmpFileSuffix"]}')
            self.assertEqual(murmur2_x86(c["code"], info["hashSeed"]), c["hash"])
            with open(path, encoding="utf-8") as f:
                self.assertEqual(f.read(), c["code"])
            self.assertEqual(self.debug("source", {"source": {"path": path}})["body"]["content"], c["code"])
        # JupyterLab's own function, when its package is at hand (the
        # browser tests' build): ATONCE_JUPYTERLAB_DEBUGGER names the
        # @jupyterlab/debugger package directory.
        pkg = os.environ.get("ATONCE_JUPYTERLAB_DEBUGGER")
        if pkg and shutil.which("node"):
            code = 'fmt.Println("héllo, 世界 🌍")'
            script = (f"import {{ murmur2 }} from {json.dumps(os.path.join(pkg, 'lib', 'hash.js'))};"
                      f"console.log(murmur2({json.dumps(code)}, {info['hashSeed']}))")
            out = subprocess.run(["node", "--input-type=module", "-e", script], capture_output=True, text=True, check=True)
            self.assertEqual(self.dump(code), f'{info["tmpFilePrefix"]}{out.stdout.strip()}.go')
        # The source request reads only the cells.
        self.debug("source", {"source": {"path": "/etc/passwd"}}, success=False)

    def test_breakpoint_stops_with_frames_and_variables(self):
        define = "type point struct{ X, y int }\nvar total = 10\nfunc add(a, b int) int {\n\tc := a + b\n\tp := point{X: a, y: b}\n\t_ = p\n\treturn c\n}"
        path, msg_id, stopped = self.stop_at(define, 4, "x := add(2, 3)\nfmt.Println(x)")
        thread = stopped["body"]["threadId"]
        self.assertEqual(self.debug("debugInfo")["body"]["stoppedThreads"], [thread])
        frames = self.stack(thread)
        self.assertEqual(frames[0]["name"], "add")
        self.assertEqual(frames[0]["source"]["path"], path)
        self.assertEqual(frames[0]["line"], 4)
        self.assertEqual(self.debug("source", {"source": {"path": path}})["body"]["content"], define)
        locals_ = self.scope_vars(frames[0]["id"], "Locals")
        self.assertEqual((locals_["a"]["value"], locals_["a"]["type"]), ("2", "int"))
        self.assertEqual(locals_["b"]["value"], "3")
        globals_ = self.scope_vars(frames[0]["id"], "Globals")
        self.assertEqual(globals_["total"]["value"], "10")
        self.debug("continue", {"threadId": thread})
        self.wait_event("continued", threadId=thread)
        self.assertEqual(self.shell_reply(msg_id)["status"], "ok")
        self.assertIn("5\n", self.stdout_so_far())

    def test_stepping_through_a_loop(self):
        define = "func sum(n int) int {\n\ts := 0\n\tfor i := 0; i < n; i++ {\n\t\ts += i\n\t}\n\treturn s\n}"
        _, msg_id, stopped = self.stop_at(define, 4, "fmt.Println(sum(3))")
        thread = stopped["body"]["threadId"]
        seen = []
        for _ in range(7):
            frame = self.stack(thread)[0]
            local = self.scope_vars(frame["id"], "Locals")
            seen.append((frame["line"], local["i"]["value"] if "i" in local else None, local["s"]["value"]))
            self.debug("next", {"threadId": thread})
            self.wait_event("continued", threadId=thread)
            # A step that ends on the breakpoint's line stops there as
            # at the breakpoint.
            ev = self.wait_event("stopped", threadId=thread)
            self.assertIn(ev["body"]["reason"], ("step", "breakpoint"))
        # Line 4 (s += i) with i 0, the loop's post statement and test on
        # line 3, line 4 with i 1 and s 0+0, ...
        lines = [l for l, _, _ in seen]
        self.assertEqual(lines[0], 4)
        self.assertIn(3, lines)
        at4 = [(i, s) for l, i, s in seen if l == 4]
        self.assertEqual(at4[:3], [("0", "0"), ("1", "0"), ("2", "1")], seen)
        self.set_breakpoints(self.dump(define), [])
        self.debug("continue", {"threadId": thread})
        self.assertEqual(self.shell_reply(msg_id)["status"], "ok")
        self.assertIn("3\n", self.stdout_so_far())

    def test_step_in_and_out(self):
        define = "func double(v int) int {\n\tw := v * 2\n\treturn w\n}"
        self.start_debugging()
        self.assertEqual(self.run_cell(define)["status"], "ok")
        run = "a := 21\nb := double(a)\nfmt.Println(b)"
        self.set_breakpoints(self.dump(run), [2])
        msg_id = self.kc.execute(run)
        stopped = self.wait_event("stopped", reason="breakpoint")
        thread = stopped["body"]["threadId"]
        self.assertEqual(self.stack(thread)[0]["line"], 2)
        self.debug("stepIn", {"threadId": thread})
        self.wait_event("stopped", threadId=thread, reason="step")
        frame = self.stack(thread)[0]
        self.assertEqual((frame["name"], frame["line"]), ("double", 2))
        self.assertEqual(self.scope_vars(frame["id"], "Locals")["v"]["value"], "21")
        self.debug("stepOut", {"threadId": thread})
        self.wait_event("stopped", threadId=thread, reason="step")
        self.assertEqual(self.stack(thread)[0]["source"]["path"], self.dump(run))
        self.set_breakpoints(self.dump(run), [])
        self.debug("continue", {"threadId": thread})
        self.assertEqual(self.shell_reply(msg_id)["status"], "ok")
        self.assertIn("42\n", self.stdout_so_far())

    def test_variables_expand_structured_values(self):
        define = ('type item struct{ Name string; qty int }\n'
                  'var stock = map[string]int{"a": 1, "b": 2}\n'
                  'func look(items []item) int {\n\tfirst := &items[0]\n\treturn first.qty + len(items)\n}')
        _, msg_id, stopped = self.stop_at(define, 5, 'fmt.Println(look([]item{{"x", 3}, {"y", 4}}))')
        thread = stopped["body"]["threadId"]
        frame = self.stack(thread)[0]
        locals_ = self.scope_vars(frame["id"], "Locals")
        items = locals_["items"]
        self.assertGreater(items["variablesReference"], 0)
        self.assertEqual(items.get("indexedVariables"), 2)
        elems = self.debug("variables", {"variablesReference": items["variablesReference"]})["body"]["variables"]
        self.assertEqual([e["name"] for e in elems], ["0", "1"])
        fields = self.debug("variables", {"variablesReference": elems[1]["variablesReference"]})["body"]["variables"]
        self.assertEqual({f["name"]: f["value"] for f in fields}, {"Name": '"y"', "qty": "4"})
        first = locals_["first"]
        fields = self.debug("variables", {"variablesReference": first["variablesReference"]})["body"]["variables"]
        self.assertEqual({f["name"]: f["value"] for f in fields}, {"Name": '"x"', "qty": "3"})
        stock = self.scope_vars(frame["id"], "Globals")["stock"]
        kv = self.debug("variables", {"variablesReference": stock["variablesReference"]})["body"]["variables"]
        self.assertEqual({v["name"]: v["value"] for v in kv}, {'"a"': "1", '"b"': "2"})
        self.debug("continue", {"threadId": thread})
        self.assertEqual(self.shell_reply(msg_id)["status"], "ok")

    def test_evaluate(self):
        # Nothing stopped: the interpreter evaluates any expression.
        self.start_debugging()
        r = self.debug("evaluate", {"expression": '"a" + "b"', "context": "repl"})
        self.assertEqual(r["body"]["result"], '"ab"')
        define = "func f(a, b int) int {\n\tc := a + b\n\treturn c\n}"
        self.assertEqual(self.run_cell(define)["status"], "ok")
        self.set_breakpoints(self.dump(define), [3])
        msg_id = self.kc.execute("f(2, 3)")
        thread = self.wait_event("stopped")["body"]["threadId"]
        frame = self.stack(thread)[0]["id"]
        r = self.debug("evaluate", {"expression": "c*10 + a", "frameId": frame, "context": "watch"})
        self.assertEqual((r["body"]["result"], r["body"]["type"]), ("52", "int"))
        r = self.debug("evaluate", {"expression": "nosuch + 1", "frameId": frame, "context": "watch"}, success=False)
        self.assertIn("undefined: nosuch", r["message"])
        self.debug("continue", {"threadId": thread})
        self.assertEqual(self.shell_reply(msg_id)["status"], "ok")

    def test_rich_inspect_variables(self):
        self.start_debugging()
        self.assertEqual(self.run_cell('text := "Hello the world"\nfmt.Println(text)')["status"], "ok")
        names = [v["name"] for v in self.debug("inspectVariables")["body"]["variables"]]
        self.assertIn("text", names)
        r = self.debug("richInspectVariables", {"variableName": "text"})
        self.assertEqual(r["body"]["data"], {"text/plain": '"Hello the world"'})
        define = "func f(a, b int) int {\n\tc := a + b\n\treturn c\n}"
        _, msg_id, stopped = self.stop_at(define, 3, "f(2, 3)")
        thread = stopped["body"]["threadId"]
        frame = self.stack(thread)[0]["id"]
        locals_ = self.scope_vars(frame, "Locals")
        r = self.debug("richInspectVariables", {"variableName": "c", "frameId": frame})
        self.assertEqual(r["body"]["data"], {"text/plain": locals_["c"]["value"]})
        self.assertEqual(locals_["c"]["value"], "5")
        self.debug("continue", {"threadId": thread})
        self.assertEqual(self.shell_reply(msg_id)["status"], "ok")

    def test_interrupt_while_stopped(self):
        define = "var after int\nfunc slow(n int) int {\n\tm := n + 1\n\treturn m\n}"
        _, msg_id, stopped = self.stop_at(define, 3, "slow(1)\nafter = 1")
        self.interrupt_stopped(msg_id, stopped["body"]["threadId"])
        # The cell ended where it stopped, and the kernel goes on.
        self.set_breakpoints(self.dump(define), [])
        self.assertEqual(self.run_cell("fmt.Println(after, slow(41))")["status"], "ok")
        self.assertIn("0 42\n", self.stdout_so_far())

    def test_completion_and_control_while_stopped(self):
        define = "func g(v int) int {\n\tw := v\n\treturn w\n}"
        _, msg_id, stopped = self.stop_at(define, 2, "g(1)")
        thread = stopped["body"]["threadId"]
        # The shell waits for the stopped cell; completion is answered.
        self.complete_while_stopped()
        inspect_id = self.kc.inspect("fmt.Println", 11)
        self.assertTrue(self.shell_reply(inspect_id, timeout=10)["found"])
        # Control requests too.
        self.kc.control_channel.send(self.kc.session.msg("kernel_info_request"))
        self.assertEqual(self.kc.get_control_msg(timeout=10)["msg_type"], "kernel_info_reply")
        self.debug("continue", {"threadId": thread})
        self.assertEqual(self.shell_reply(msg_id)["status"], "ok")

    def test_goroutine_stopped_while_another_runs(self):
        # Under %%models -models threads each task is a goroutine of its
        # own: task 0 stops at the breakpoint, task 1 runs to its end.
        define = ("func work(i int) int {\n"
                  "\tif i == 0 {\n"
                  "\t\treturn i + 100\n"
                  "\t}\n"
                  "\tfmt.Println(\"task\", i, \"done\")\n"
                  "\treturn i\n"
                  "}")
        _, msg_id, stopped = self.stop_task(define, 3, "work")
        thread = stopped["body"]["threadId"]
        self.assertNotEqual(thread, 1, "a task stopped as goroutine 1, the cells' own")
        self.wait_stdout("task 1 done", "task 1 did not run while task 0 was stopped")
        threads = self.debug("threads")["body"]["threads"]
        ids = [t["id"] for t in threads]
        self.assertIn(thread, ids)
        self.assertIn(1, ids)
        frame = self.stack(thread)[0]
        self.assertEqual((frame["name"], frame["line"]), ("work", 3))
        self.assertEqual(self.scope_vars(frame["id"], "Locals")["i"]["value"], "0")
        self.debug("continue", {"threadId": thread})
        self.assertEqual(self.shell_reply(msg_id, timeout=60)["status"], "ok")

    def test_threads_list_every_goroutine(self):
        # Task 1 waits for task 0 to pass its breakpoint: while task 0 is
        # stopped, task 1's goroutine is alive and running, and threads
        # lists it with task 0's and the cells' own goroutine 1.
        define = ("var released atomic.Bool\n"
                  "func work(i int) int {\n"
                  "\tif i == 0 {\n"
                  "\t\treleased.Store(true)\n"
                  "\t\treturn 100\n"
                  "\t}\n"
                  "\tfmt.Println(\"task\", i, \"waiting\")\n"
                  "\tfor !released.Load() {\n"
                  "\t\ttime.Sleep(time.Millisecond)\n"
                  "\t}\n"
                  "\treturn i\n"
                  "}")
        _, msg_id, stopped = self.stop_task(define, 4, "work")
        thread = stopped["body"]["threadId"]
        self.wait_stdout("task 1 waiting", "task 1 did not start while task 0 was stopped")
        threads = {t["id"]: t["name"] for t in self.debug("threads")["body"]["threads"]}
        self.assertIn(1, threads)
        self.assertIn(thread, threads)
        running = [t for t in threads if t not in (1, thread)]
        self.assertEqual(len(running), 1, f"want task 1's goroutine among the threads too: {threads}")
        # Only task 0 is stopped: task 1 has no stack to show.
        self.assertEqual(self.debug("debugInfo")["body"]["stoppedThreads"], [thread])
        self.debug("stackTrace", {"threadId": running[0]}, success=False)
        self.debug("continue", {"threadId": thread})
        self.assertEqual(self.shell_reply(msg_id, timeout=60)["status"], "ok")
        self.assertNotIn("task 0", self.stdout_so_far())

    def test_interrupt_while_a_task_is_stopped(self):
        # A task stopped under %%models: completion is answered, then an
        # interrupt ends the run; the kernel goes on, and the same run
        # goes to its end once the breakpoint is gone.
        define = "func job(i int) int {\n\tv := i * 10\n\treturn v\n}"
        path, msg_id, _ = self.stop_task(define, 2, "job")
        self.complete_while_stopped()
        # Interrupted, not a table of the zeros the let-go tasks returned.
        self.interrupt_stopped(msg_id)
        self.set_breakpoints(path, [])
        reply = self.run_cell("%%models -models threads -n 2 -workers 2 -no-charts job")
        self.assertEqual(reply["status"], "ok", reply)
        self.assertEqual(self.run_cell("fmt.Println(job(4))")["status"], "ok")
        self.assertIn("40\n", self.stdout_so_far())

    def test_pause_a_busy_cell(self):
        self.start_debugging()
        self.debug("configurationDone")
        msg_id = self.kc.execute("n := 0\nfor {\n\tn++\n}")
        time.sleep(0.5)  # the loop runs
        self.debug("pause", {"threadId": 1})
        self.wait_event("stopped", threadId=1, reason="pause")
        frame = self.stack(1)[0]
        self.assertIn(frame["line"], (2, 3))
        self.km.interrupt_kernel()
        self.assertEqual(self.shell_reply(msg_id)["ename"], "Interrupted")

    def test_disconnect_ends_the_session(self):
        define = "func h(v int) int {\n\tw := v\n\treturn w\n}"
        _, msg_id, stopped = self.stop_at(define, 2, "h(1)")
        self.debug("disconnect", {"restart": False, "terminateDebuggee": False})
        # The stopped cell goes on, and breakpoints are gone.
        self.assertEqual(self.shell_reply(msg_id)["status"], "ok")
        info = self.debug("debugInfo")["body"]
        self.assertEqual((info["isStarted"], info["breakpoints"], info["stoppedThreads"]), (False, [], []))
        self.assertEqual(self.run_cell("h(2)")["status"], "ok")

    def test_a_new_engine_keeps_the_session(self):
        # The engine dies (concurrent map writes kill a Go process); the
        # kernel replays the notebook into a new one and sends it the
        # debugging session: the breakpoint still stops.
        define = "func dbl(v int) int {\n\tw := v * 2\n\treturn w\n}"
        self.start_debugging()
        self.assertEqual(self.run_cell(define)["status"], "ok")
        path = self.dump(define)
        self.set_breakpoints(path, [2])
        crash = ('m := map[int]int{}\nvar wg sync.WaitGroup\nfor g := 0; g < 4; g++ {\n\twg.Add(1)\n'
                 '\tgo func() {\n\t\tdefer wg.Done()\n\t\tfor i := 0; i < 1000000; i++ {\n\t\t\tm[i%100] = i\n\t\t}\n\t}()\n}\nwg.Wait()')
        msg_id = self.kc.execute(crash, stop_on_error=False)
        reply = self.shell_reply(msg_id, timeout=60)
        self.assertEqual((reply["status"], reply["ename"]), ("error", "EngineCrashed"), reply)
        msg_id = self.kc.execute("fmt.Println(dbl(4))")
        thread = self.wait_event("stopped", timeout=60, reason="breakpoint")["body"]["threadId"]
        frame = self.stack(thread)[0]
        self.assertEqual((frame["source"]["path"], frame["line"]), (path, 2))
        self.assertEqual(self.scope_vars(frame["id"], "Locals")["v"]["value"], "4")
        self.debug("continue", {"threadId": thread})
        self.assertEqual(self.shell_reply(msg_id)["status"], "ok")
        self.assertIn("8\n", self.stdout_so_far())


if __name__ == "__main__":
    unittest.main()
