"""Native mode through a real Jupyter client: the notebook's code compiled by
the Go toolchain and run under every model, the notebook's variables crossing
into it, a compile error pointed at the cell, no toolchain, interrupts during
the build and the run that leave no process, a native crash as a model's
outcome, -race, -mode both.

Assertions are on structure and invariants (records, modes, names, values),
never on speed: the machine is shared and loaded.

Run by kernel/jupyter_test.go with the kernelspec installed under a
temporary JUPYTER_PATH.
"""
import os
import re
import shutil
import tempfile
import time
import unittest
import uuid

from jupyter_client.manager import start_new_kernel

from test_behaviour import TIMEOUT, KernelCase, alive, descendants, engine_pids, exe_of, final_displays
from test_magics import REPORT, reports_of, texts

# Native runs build the notebook: a second or two warm, longer on a cold
# build cache or a loaded machine.
BUILD_TIMEOUT = 300

FIB = "func fib(n int) int {\n\tif n < 2 {\n\t\treturn n\n\t}\n\treturn fib(n-1) + fib(n-2)\n}"


def native_program(pid):
    """Whether process pid runs a native program atonce built (its binary
    lives in the native cache, as bin-*/notebook)."""
    exe = exe_of(pid) or ""
    return "/atonce/native/bin-" in exe and exe.endswith("/notebook")


def cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode()
    except OSError:
        return ""


class NativeCase(KernelCase):
    def kernel_pid(self):
        return self.km.provisioner.process.pid

    def native_pids(self, pipe_only=True):
        """The kernel's native program processes; with pipe_only, those a run
        owns (not the distributed model's workers, which stay connected
        between runs as the interpreter's do)."""
        pids = [p for p in descendants(self.kernel_pid()) if alive(p) and native_program(p)]
        if pipe_only:
            pids = [p for p in pids if " -nats " not in cmdline(p)]
        return pids

    def run_native(self, code, timeout=BUILD_TIMEOUT, **kw):
        msg_id = self.kc.execute(code, **kw)
        content = self.reply(msg_id, timeout=timeout)["content"]
        return content, self.outputs(msg_id, timeout=60)

    def assertNoneLeft(self, what):
        """No process a run owns outlives it (give the reaping a moment)."""
        deadline = time.monotonic() + 5
        while self.native_pids() and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertEqual(self.native_pids(), [], what)


class Native(NativeCase):
    def test_every_model(self):
        content, outs = self.run_native(
            "%%models -repeat 1 -native -n 6 -workers 2 -models all\n"
            "var counter int\n"
            "func Square(i int) int {\n\tcounter++\n\treturn i * i\n}")
        self.assertOK(content)
        reps = reports_of(outs)
        self.assertEqual(sorted(reps), sorted(["sequential", "eventloop", "gil", "threads", "processes", "distributed"]))
        for name, r in reps.items():
            with self.subTest(name):
                self.assertEqual(r["mode"], "native")
                self.assertRegex(r["go_version"], r"^go1\.\d+")
                self.assertEqual(r.get("err", ""), "")
                self.assertEqual(sorted((t["index"], t["result"]) for t in r["tasks"]), [(i, i * i) for i in range(6)])
        # In-process models ran in the native program, from the state's
        # counter each time; the processes' workers kept their own copies.
        for name in ("sequential", "eventloop", "gil"):
            self.assertEqual(reps[name]["globals"]["counter"], 6, name)
        for name in ("processes", "distributed"):
            self.assertEqual(len(reps[name]["pool"]), 2, name)
            copies = sum(int(w.get("globals", {}).get("counter", 0)) for w in reps[name]["pool"])
            self.assertEqual(copies, 6, f"{name}: each worker's copy counts its own tasks")
        # The distributed model's workers stay connected for the next run:
        # they are the native program.
        for w in reps["distributed"]["pool"]:
            self.assertTrue(native_program(w["pid"]), f"distributed worker {w['pid']} is the native program")
        out = texts(outs)
        self.assertIn("threads (native)", out, "the table names the mode")
        self.assertIn("compiled by go1.", out)
        self.assertIn("Task stream", out)
        self.assertRegex(out, r"threads \(native\): 6 tasks on 2 goroutines", "the chart's panels name the mode")
        self.assertIn("Data sharing", out)
        # Native runs leave the notebook's variables alone.
        content, outs = self.run_cell("counter")
        self.assertEqual(self.result(outs), "0")
        self.assertNoneLeft("no native process outlives the run (but the distributed model's workers)")

    def test_state_crosses(self):
        content, _ = self.run_cell(
            "type Point struct{ X, Y int }\n"
            "nums := []int{1, 2, 3}\n"
            "counts := map[string]int{\"a\": 10}\n"
            "origin := Point{X: 100, Y: 7}\n"
            "ch := make(chan int, 3)\n"
            "var hook func() int")
        self.assertOK(content)
        # The current values cross, not the declarations'.
        content, _ = self.run_cell("nums = append(nums, 4)\ncounts[\"b\"] = 5\norigin.Y = 8")
        self.assertOK(content)
        content, outs = self.run_native(
            "%%models -repeat 1 -native -n 3 -models sequential,threads,processes -no-charts\n"
            "func Look(i int) int {\n"
            "\tsum := len(nums) + counts[\"a\"] + counts[\"b\"] + origin.X + origin.Y + cap(ch)\n"
            "\tif hook == nil {\n\t\tsum += 1000\n\t}\n"
            "\treturn sum + i\n}")
        self.assertOK(content)
        want = 4 + 10 + 5 + 100 + 8 + 3 + 1000
        for name, r in reports_of(outs).items():
            self.assertEqual(sorted(t["result"] for t in r["tasks"]), [want, want + 1, want + 2], name)
        out = self.stdout(outs)
        self.assertIn("native: ch is made anew by its declaration: a channel cannot cross as JSON", out)
        self.assertIn("native: hook starts at its zero value: a func cannot cross as JSON", out)
        self.assertEqual(out.count("native: ch is made anew"), 1, "the notes are shown once per run")

    def test_compile_error_points_at_the_cell(self):
        content, outs = self.run_native(
            "%%models -repeat 1 -native -n 2 -models sequential\n"
            "func Strict(i int) int {\n\tunused := 3\n\treturn i\n}", stop_on_error=False)
        self.assertEqual(content["status"], "error")
        self.assertEqual(content["ename"], "CompileError")
        self.assertIn("this cell, line 3:2: declared and not used: unused", content["evalue"])
        tb = "\n".join(content["traceback"])
        self.assertIn("\tunused := 3", tb, "the line as typed")
        self.assertRegex(tb, r"\n\s+\^", "a caret under the column")
        # A later run points at the cell where the error is, and a
        # corrected declaration fixes it.
        content, _ = self.run_cell("func Fine(i int) int { return i }")
        content, outs = self.run_native("%models -repeat 1 -native -n 2 -models sequential Fine", stop_on_error=False)
        self.assertEqual(content["ename"], "CompileError")
        self.assertIn("the cell that begins `func Strict(i int) int {`, line 3:2", content["evalue"])
        content, _ = self.run_cell("func Strict(i int) int { return i }")
        content, outs = self.run_native("%models -repeat 1 -native -n 2 -models sequential Fine")
        self.assertOK(content)
        self.assertEqual(sorted(t["result"] for t in reports_of(outs)["sequential"]["tasks"]), [0, 1])

    def test_crash_is_the_models_outcome(self):
        content, _ = self.run_cell("shared := map[int]int{1: 1}\nkeep := 41")
        engines = engine_pids(self.kernel_pid())
        # Every task writes the one map: under threads two of them do at
        # once, and Go stops the program. 8 tasks of 5 million writes keep
        # two goroutines writing for long enough on any machine.
        content, outs = self.run_native(
            "%%models -repeat 1 -native -n 8 -workers 2 -models threads,sequential -no-charts\n"
            "func Scribble(i int) int {\n\tfor k := 0; k < 5000000; k++ {\n\t\tshared[k%100] = k\n\t}\n\treturn len(shared)\n}")
        self.assertOK(content)
        reps = reports_of(outs)
        self.assertIn("concurrent map writes", reps["threads"]["err"], "the crash is the threads run's outcome")
        self.assertEqual(reps["sequential"].get("err", ""), "", "the next model ran in a fresh process")
        self.assertEqual(sorted(t["result"] for t in reps["sequential"]["tasks"]), [100] * 8)
        self.assertIn("threads (native): the run crashed", texts(outs))
        self.assertEqual(engine_pids(self.kernel_pid()), engines, "the engine is unharmed")
        content, outs = self.run_cell("keep + len(shared)")
        self.assertEqual(self.result(outs), "42", "the notebook's state is untouched")
        self.assertNoneLeft("the crashed program and the next are gone")

    def test_interrupt_during_the_run(self):
        self.run_cell('import "fmt"')
        msg_id = self.kc.execute(
            "%%models -repeat 1 -native -n 2 -workers 2 -models threads\n"
            "func Spin(i int) int {\n\tfmt.Println(\"spinning\", i)\n\tx := 0\n\tfor {\n\t\tx++\n\t}\n\treturn x\n}",
            stop_on_error=False)
        self.wait_output(msg_id, "spinning", timeout=BUILD_TIMEOUT)
        self.assertTrue(self.native_pids(), "the native program runs")
        start = time.monotonic()
        self.km.interrupt_kernel()
        rep = self.reply(msg_id, timeout=30)
        self.assertEqual(rep["content"]["ename"], "Interrupted")
        self.outputs(msg_id)
        self.assertNoneLeft("the interrupted program is killed")
        self.assertLess(time.monotonic() - start, 15)
        content, outs = self.run_cell("1 + 1")
        self.assertEqual(self.result(outs), "2")

    def test_mode_both(self):
        self.run_cell(FIB)
        content, outs = self.run_native(
            "%%models -repeat 1 -mode both -n 4 -workers 2 -models sequential,threads,processes -o both\n"
            "func Fib(i int) int { return fib(18) }")
        self.assertOK(content)
        record = None
        for m in outs:
            if m["msg_type"] == "display_data" and REPORT in m["content"]["data"]:
                record = m["content"]["data"][REPORT]
        self.assertEqual([(r["model"], r["mode"]) for r in record],
                         [(m, mode) for m in ("sequential", "threads", "processes") for mode in ("interpreted", "native")],
                         "each model runs interpreted, then native")
        for r in record:
            self.assertEqual(sorted(t["result"] for t in r["tasks"]), [2584] * 4, (r["model"], r["mode"]))
        out = texts(outs)
        self.assertIn("Interpreted and native, side by side", out)
        for name in ("threads", "processes"):
            self.assertRegex(out, name + r": [\d.]+x interpreted, [\d.]+x native: the interpreter (understates|overstates|gets) the speedup")
        self.assertRegex(out, r"sequential: [\d.]+\S+ interpreted, [\d.]+\S+ native: the compiled code ran [\d.]+x (faster|slower)")
        # One task stream and one speedup chart per mode.
        charts = [c for c in final_displays(outs) if "image/svg+xml" in c["data"]]
        self.assertEqual(len(charts), 4)
        summaries = "\n".join(c["data"]["text/plain"] for c in charts)
        self.assertIn("threads (interpreted)", summaries)
        self.assertIn("threads (native)", summaries)
        # -o keeps the modes, and a native run still builds after it (the
        # -o variable is a cell of the notebook now).
        content, outs = self.run_cell('fmt.Println(both[0].Mode, both[1].Mode, both[1].GoVersion != "")')
        self.assertEqual(self.stdout(outs), "interpreted native true\n")
        content, outs = self.run_native("%models -repeat 1 -native -n 2 -models sequential -no-charts Fib")
        self.assertOK(content)

    def test_race_names_the_variable(self):
        content, outs = self.run_native(
            "%%models -repeat 1 -native -n 4 -models sequential,eventloop,threads -no-charts -race\n"
            "var tally int\nvar atomicTally int64\n"
            "func Race(i int) {\n\tfor j := 0; j < 100000; j++ {\n\t\ttally++\n\t\tatomic.AddInt64(&atomicTally, 1)\n\t}\n}",
            timeout=900)
        self.assertOK(content)
        out = texts(outs)
        self.assertIn("Race detector, native", out)
        self.assertRegex(out, r"threads \(native\): \d+ data race\(s\): \d+ on `tally`")
        self.assertNotIn("on `atomicTally`", out)
        self.assertIn("eventloop (native): no data race found", out)
        self.assertNoneLeft("the race-detector program is gone")

    def test_time_and_timeit(self):
        self.run_cell(FIB + "\nt := 20")
        stats = r"[\d.]+ .?s ± [\d.]+ .?s per loop \(median ± 95% interval of 3 runs, [\d,]+ loops each; min [\d.]+ .?s\) "
        content, outs = self.run_native("%timeit -native -r 3 fib(15)")
        self.assertOK(content)
        self.assertRegex(self.stdout(outs), stats + r"\[native, go1\.\d+")
        content, outs = self.run_cell("%timeit -r 3 fib(15)")
        self.assertRegex(self.stdout(outs), stats + r"\[interpreted by yaegi\]", "one layout for both")
        # An expression whose value Go would not drop, and a cell.
        content, outs = self.run_native("%timeit -native -r 3 t + 1")
        self.assertOK(content)
        content, outs = self.run_native("%%timeit -native -r 3\nsum := 0\nfor i := 0; i < t; i++ {\n\tsum += fib(i)\n}")
        self.assertOK(content)
        self.assertRegex(self.stdout(outs), stats + r"\[native")
        content, outs = self.run_native("%time -native fib(20)")
        self.assertOK(content)
        self.assertRegex(self.stdout(outs), r"CPU times: user [\d.]+ .?s, sys: [\d.]+ .?s, total: [\d.]+ .?s\nWall time: [\d.]+ .?s \[native, go1\.")
        content, outs = self.run_native("%timeit -native -r 3 undefinedThing(1)", stop_on_error=False)
        self.assertEqual(content["ename"], "CompileError")
        self.assertIn("the timed statement, line 1:1: undefined: undefinedThing", content["evalue"])
        content, outs = self.run_native('%timeit -native -r 3 panic("boom")', stop_on_error=False)
        self.assertEqual((content["ename"], content["evalue"]), ("panic", "boom"))
        self.assertIn("the timed statement, line 1", "\n".join(content["traceback"]))
        self.assertNoneLeft("the timing's program is gone")


class NoToolchain(NativeCase):
    """A kernel whose environment has no Go toolchain: no go on PATH, and a
    GOROOT with none (else the builder looks in /usr/local/go)."""

    @classmethod
    def setUpClass(cls):
        path = os.pathsep.join(d for d in os.environ["PATH"].split(os.pathsep)
                               if not os.path.exists(os.path.join(d, "go")))
        cls.goroot = tempfile.mkdtemp(prefix="atonce-no-go-")
        env = dict(os.environ, PATH=path, GOROOT=cls.goroot)
        cls.km, cls.kc = start_new_kernel(kernel_name="atonce", startup_timeout=60, env=env)

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        shutil.rmtree(cls.goroot, ignore_errors=True)

    def test_native_says_what_to_install_and_interpreted_still_works(self):
        self.run_cell("func Twice(i int) int { return 2 * i }")
        content, outs = self.run_cell("%models -repeat 1 -native -n 2 -models sequential Twice", stop_on_error=False)
        self.assertEqual(content["status"], "error")
        self.assertEqual(content["ename"], "NativeUnavailable")
        self.assertIn("install Go", content["evalue"])
        self.assertIn("Interpreted runs still work", content["evalue"])
        content, outs = self.run_cell("%models -repeat 1 -mode both -n 2 -models sequential,threads -no-charts Twice")
        self.assertOK(content)
        self.assertEqual(texts(outs, kinds=("stream",)).count("install Go"), 1, "one message")
        reps = reports_of(outs)
        self.assertEqual({r["mode"] for r in reps.values()}, {"interpreted"}, "the interpreted half ran")
        self.assertEqual(sorted(t["result"] for t in reps["threads"]["tasks"]), [0, 2])
        content, outs = self.run_cell("%timeit -native Twice(3)", stop_on_error=False)
        self.assertEqual(content["ename"], "NativeUnavailable")
        content, outs = self.run_cell("%timeit -r 2 Twice(3)")
        self.assertOK(content)


class InterruptBuild(NativeCase):
    """A kernel with an empty Go build cache, so that a native build takes
    many seconds: an interrupt lands while it runs."""

    @classmethod
    def setUpClass(cls):
        cls.gocache = tempfile.mkdtemp(prefix="atonce-cold-gocache-")
        env = dict(os.environ, GOCACHE=cls.gocache)
        cls.km, cls.kc = start_new_kernel(kernel_name="atonce", startup_timeout=60, env=env)

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        shutil.rmtree(cls.gocache, ignore_errors=True)

    def test_interrupt_during_the_build(self):
        # A program no earlier test built: its own name.
        name = "Task" + uuid.uuid4().hex[:12]
        msg_id = self.kc.execute(f"%%models -repeat 1 -native -n 2 -models sequential\nfunc {name}(i int) int {{ return i }}",
                                 stop_on_error=False)
        self.wait_output(msg_id, "compiling the notebook")
        engines = engine_pids(self.kernel_pid())
        deadline = time.monotonic() + 30
        while set(descendants(self.kernel_pid())) <= set(engines):
            self.assertLess(time.monotonic(), deadline, "the go command never started")
            time.sleep(0.02)
        start = time.monotonic()
        self.km.interrupt_kernel()
        rep = self.reply(msg_id, timeout=30)
        self.assertEqual(rep["content"]["ename"], "Interrupted")
        self.outputs(msg_id)
        deadline = time.monotonic() + 10
        while set(descendants(self.kernel_pid())) - set(engines) and time.monotonic() < deadline:
            time.sleep(0.05)
        left = set(descendants(self.kernel_pid())) - set(engines)
        self.assertEqual(left, set(), "the go command and its tools are gone: " + ", ".join(cmdline(p) for p in left))
        self.assertLess(time.monotonic() - start, 20)
        content, outs = self.run_cell("1 + 1")
        self.assertEqual(self.result(outs), "2")


if __name__ == "__main__":
    unittest.main()
