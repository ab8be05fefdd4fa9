"""The magics, through a real Jupyter client: what a user sees in the cell.

Run by kernel/jupyter_test.go with the kernelspec installed under a
temporary JUPYTER_PATH.
"""
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
import unittest

from test_behaviour import KernelCase, engine_pids, alive, final_displays


def texts(outs, kinds=("stream", "display_data", "execute_result", "update_display_data")):
    parts = []
    for m in outs:
        if m["msg_type"] not in kinds:
            continue
        c = m["content"]
        parts.append(c["text"] if m["msg_type"] == "stream" else str(c["data"].get("text/plain", "")))
    return "\n".join(parts)


REPORT = "application/vnd.atonce.report+json"


def reports_of(outs):
    """The per-task record of a %%models run's outputs, by model."""
    for m in outs:
        if m["msg_type"] == "display_data" and REPORT in m["content"]["data"]:
            return {r["model"]: r for r in m["content"]["data"][REPORT]}
    raise AssertionError("no report in the output: " + texts(outs))


class Magics(KernelCase):
    def test_lsmagic_and_help(self):
        content, outs = self.run_cell("%lsmagic")
        self.assertOK(content)
        out = texts(outs)
        for name in ("%time", "%timeit", "%who", "%whos", "%reset", "%env", "%goroutines", "%%models", "%%threads"):
            self.assertIn(name, out)
        content, _ = self.run_cell("%time?")
        self.assertOK(content)
        self.assertIn("%time STATEMENT", content["payload"][0]["data"]["text/plain"])
        content, _ = self.run_cell("strings.ToUpper?")
        self.assertIn("func ToUpper(s string) string", content["payload"][0]["data"]["text/plain"])

    def test_unknown_magic(self):
        content, outs = self.run_cell("%nosuchmagic 1")
        self.assertEqual(content["status"], "error")
        self.assertIn("unknown magic %nosuchmagic", content["evalue"])
        self.assertIn("%timeit", content["evalue"], "the error lists the known magics")

    def test_time_and_timeit(self):
        content, outs = self.run_cell("t := 20\n%time t * 2")
        self.assertOK(content)
        self.assertRegex(texts(outs), r"CPU times: user [\d.]+ .?s, sys: [\d.]+ .?s, total: [\d.]+ .?s\nWall time: [\d.]+ .?s")
        self.assertEqual(self.result(outs), "40")
        content, outs = self.run_cell("%timeit -r 3 t + 1")
        self.assertOK(content)
        self.assertRegex(texts(outs), r"[\d.]+ .?s ± [\d.]+ .?s per loop \(median ± 95% interval of 3 runs, [\d,]+ loops each; min [\d.]+ .?s\) \[interpreted by yaegi\]")

    def test_who_whos_reset_env(self):
        content, _ = self.run_cell('alpha := 1\nbeta := "two"')
        self.assertOK(content)
        content, outs = self.run_cell("%who")
        self.assertIn("alpha", texts(outs))
        self.assertIn("beta", texts(outs))
        content, outs = self.run_cell("%whos")
        self.assertRegex(texts(outs), r"beta\s+string\s+\"two\"")
        content, _ = self.run_cell("%env ATONCE_TEST_VAR=42")
        self.assertOK(content)
        content, outs = self.run_cell('os.Getenv("ATONCE_TEST_VAR")')
        self.assertEqual(self.result(outs), '"42"')
        content, outs = self.run_cell("%reset")
        self.assertOK(content)
        content, _ = self.run_cell("alpha")
        self.assertEqual(content["status"], "error", "a variable survived %reset")

    def test_goroutines(self):
        content, outs = self.run_cell("%goroutines")
        self.assertOK(content)
        content, _ = self.run_cell("stop := make(chan bool)\ngo func() { <-stop }()")
        self.assertOK(content)
        for _ in range(20):  # the goroutine may not have reached its receive yet
            content, outs = self.run_cell("%goroutines")
            if "waiting on a channel" in texts(outs):
                break
            time.sleep(0.1)
        self.assertIn("waiting on a channel", texts(outs))
        self.run_cell("close(stop)")


class Models(KernelCase):
    def models_table(self, outs):
        for c in final_displays(outs):
            if "text/html" in c["data"] and "<table" in c["data"]["text/html"]:
                return c["data"]["text/plain"]
        self.fail("no table in the output: " + texts(outs))

    def row(self, table, model):
        for line in table.splitlines():
            if line.startswith(model + " "):
                return line.split()
        self.fail(f"no {model} row in:\n{table}")

    def test_models_table_and_state(self):
        code = "var calls int\nfunc Work(i int) int {\n\tcalls++\n\treturn i * 2\n}"
        content, outs = self.run_cell("%%models -n 6\n" + code)
        self.assertOK(content)
        table = self.models_table(outs)
        for model in ("sequential", "eventloop", "gil", "threads"):
            self.row(table, model)
        self.assertEqual(self.row(table, "sequential")[3], "1.00x")
        kinds = [m["msg_type"] for m in outs]
        self.assertIn("update_display_data", kinds, "progress must update in place")
        record = [m for m in outs if m["msg_type"] == "display_data" and "application/vnd.atonce.report+json" in m["content"]["data"]]
        self.assertEqual(len(record), 1)
        reports = record[0]["content"]["data"]["application/vnd.atonce.report+json"]
        self.assertEqual([r["model"] for r in reports], ["sequential", "eventloop", "gil", "threads"])
        for r in reports:
            self.assertEqual(sorted(t["index"] for t in r["tasks"]), list(range(6)))
        # The notebook holds what the sequential run left.
        content, outs = self.run_cell("calls")
        self.assertEqual(self.result(outs), "6")

    def test_chart_bundles(self):
        content, outs = self.run_cell("%%models -n 4 -models sequential,gil,threads\nfunc Spin(i int) int {\n\ts := 0\n\tfor j := 0; j < 20000; j++ {\n\t\ts += j\n\t}\n\treturn s\n}")
        self.assertOK(content)
        charts = [c for c in final_displays(outs) if "image/svg+xml" in c["data"]]
        self.assertEqual(len(charts), 2, "a task stream and a speedup chart")
        for c in charts:
            self.assertEqual(sorted(c["data"]), ["image/png", "image/svg+xml", "text/plain"], "nothing Jupyter would rank above the image")
            self.assertIn("<svg", c["data"]["image/svg+xml"])
            self.assertNotIn("<script", c["data"]["image/svg+xml"])
            self.assertTrue(c["data"]["image/png"].startswith("iVBORw0KGgo"), "base64 PNG")
            self.assertGreater(c["metadata"]["image/png"]["width"], 0)
        self.assertTrue(charts[0]["data"]["text/plain"].startswith("Task stream:"))
        self.assertTrue(charts[1]["data"]["text/plain"].startswith("Speedup"))
        content, outs = self.run_cell("%%models -n 2 -models sequential,threads -no-charts\nfunc Quiet(i int) int { return i }")
        self.assertFalse([m for m in outs if m["msg_type"] in ("display_data", "update_display_data") and "image/svg+xml" in m["content"]["data"]], "-no-charts shows no chart")

    NAP = "func Nap(i int) {\n\ttime.Sleep(100 * time.Millisecond)\n}"

    def finished(self, outs, n):
        """The one update of the progress display that says the run of n
        models ended."""
        msgs = [m for m in outs if m["msg_type"] == "update_display_data" and f"ran {n} model(s)" in m["content"]["data"].get("text/plain", "")]
        self.assertEqual(len(msgs), 1, "the progress line says when the run ended")
        return msgs[0]

    def finished_line(self, outs, n):
        return self.finished(outs, n)["content"]["data"]["text/plain"]

    def test_stopped_run_says_what_would_know_it(self):
        """A run whose budget ends before a 95% interval exists says which
        speedup is known least and the flags that would know it; run
        again with them, it gets its 95% intervals."""
        self.run_cell(self.NAP)
        content, outs = self.run_cell("%models -n 2 -models sequential,threads -budget 1ms Nap")
        self.assertOK(content)
        line = self.finished_line(outs, 2)
        self.assertIn("3 rounds after a warm-up (the time budget spent", line)
        m = re.search(r"the interval of threads has 75% confidence after 3 rounds; one of 95% needs at least 6 rounds: (-budget \S+)\)", line)
        self.assertIsNotNone(m, line)
        content, outs = self.run_cell(f"%models -n 2 -models sequential,threads {m.group(1)} Nap")
        self.assertOK(content)
        reports = reports_of(outs)
        self.assertGreaterEqual(len(reports["threads"]["rounds"]), 6, self.finished_line(outs, 2))
        self.assertGreaterEqual(reports["threads"]["speedup"]["conf"], 0.95)

    def test_default_run_takes_rounds(self):
        """A run with no flags warms up, then takes rounds until every
        speedup is known to ±5% at 95% (6 rounds at least) or its budget is
        spent (never fewer than 3 rounds, at most 15), shows intervals, and
        keeps the rounds in its record."""
        content, outs = self.run_cell("%%models -n 4 -models sequential,eventloop,threads\n" + self.NAP)
        self.assertOK(content)
        line = self.finished_line(outs, 3)
        reports = reports_of(outs)
        rounds = len(reports["sequential"]["rounds"])
        self.assertGreaterEqual(rounds, 3)
        self.assertLessEqual(rounds, 15)
        self.assertIn(f"{rounds} rounds after a warm-up (", line)
        if rounds < 6:
            self.assertIn("the time budget spent", line, "fewer than 6 rounds: only the budget stops a run so soon")
        for name, r in reports.items():
            self.assertEqual(len(r["rounds"]), rounds, name)
            self.assertTrue(all(rd["wall_ns"] > 0 and rd["calibration_ns"] > 0 for rd in r["rounds"]), name)
            self.assertEqual(r["rounds"][r.get("median_round", 0)]["wall_ns"], r["wall_ns"], name + ": the report is its median round")
            sp = r["speedup"]
            self.assertEqual(sp["n"], rounds, name)
            self.assertLessEqual(sp["lo"], sp["mid"])
            self.assertLessEqual(sp["mid"], sp["hi"])
        # Sleeping tasks: the event loop overlaps the naps, every round.
        self.assertGreater(reports["eventloop"]["speedup"]["lo"], 1)
        table = self.models_table(outs)
        self.assertRegex(self.row_text(table, "eventloop"), r"\d\.\d\dx \[\d\.\d\d–\d\.\d\d\]")
        self.assertIn(f"note: speedup: the median over the rounds ({rounds})", table)

    def test_live_charts(self):
        """The charts show while a run goes: drafts (SVG, no PNG) of the
        models run so far, updated in place under their display ids during
        the run, then the finished charts in the same displays. Six rounds
        of naps last over 4 s after the first draft, time for the updates
        that come at most twice a second."""
        content, outs = self.run_cell("%%models -n 4 -repeat 6 -models sequential,eventloop,threads\n" + self.NAP)
        self.assertOK(content)
        ended = outs.index(self.finished(outs, 3))
        charts = {}
        for i, m in enumerate(outs):
            c = m["content"]
            if m["msg_type"] in ("display_data", "update_display_data") and "image/svg+xml" in c.get("data", {}):
                charts.setdefault(c["transient"]["display_id"], []).append((i, m["msg_type"], c))
        self.assertEqual(len(charts), 2, "a task stream and a speedup chart")
        for did, shown in charts.items():
            first, last = shown[0], shown[-1]
            self.assertEqual(first[1], "display_data")
            self.assertLess(first[0], ended, "the chart showed while the run went")
            self.assertNotIn("image/png", first[2]["data"], "a draft has no PNG")
            self.assertIn("sequential:", first[2]["data"]["text/plain"])
            self.assertNotIn("threads:", first[2]["data"]["text/plain"], "the first draft has the first model only")
            during = [s for s in shown[1:] if s[0] < ended]
            self.assertTrue(during, "the chart was updated in place during the run")
            self.assertTrue(all(s[1] == "update_display_data" for s in shown[1:]))
            self.assertEqual(last[1], "update_display_data")
            self.assertGreater(last[0], ended, "the finished chart comes after the run")
            self.assertEqual(sorted(last[2]["data"]), ["image/png", "image/svg+xml", "text/plain"])
            self.assertIn("threads:", last[2]["data"]["text/plain"])
        self.assertTrue(any("[" in shown[-1][2]["data"]["text/plain"] for shown in charts.values()), "the speedup chart's summary gives intervals")

    def row_text(self, table, model):
        for line in table.splitlines():
            if line.startswith(model + " "):
                return line
        self.fail(f"no {model} row in:\n{table}")

    def test_line_magic_and_one_model(self):
        content, _ = self.run_cell("func Square(i int) int { return i * i }")
        self.assertOK(content)
        content, outs = self.run_cell("%models -n 3 -models sequential,threads Square")
        self.assertOK(content)
        table = self.models_table(outs)
        self.row(table, "threads")
        content, outs = self.run_cell("%%eventloop -n 3\nfunc Cube(i int) int { return i * i * i }")
        self.assertOK(content)
        self.row(self.models_table(outs), "eventloop")

    def test_bad_input(self):
        self.run_cell("func Named(s string) {}")
        for code, want in [
            ("%models -n 0 Named", "at least 1"),
            ("%models -models threads,fibers Named", "unknown concurrency model"),
            ("%models -workers 5000 Named", "4096"),
            ("%models Named", "func(i int) (T, error)"),
            ("%models Undefined", "no function Undefined"),
        ]:
            with self.subTest(code):
                content, outs = self.run_cell(code, stop_on_error=False)
                self.assertEqual(content["status"], "error")
                self.assertIn(want, content["evalue"])

    def test_crashing_model_is_reported(self):
        # Under threads the two writers wait for each other, then write for
        # half a second: they overlap however loaded the machine is (a fixed
        # number of writes let them run one after the other on a busy one).
        code = ('import "sync/atomic"\n'
                "m := map[int]int{}\n"
                "var arrived atomic.Int32\n"
                "func Crash(i int) {\n"
                "\tarrived.Add(1)\n"
                "\tt0 := time.Now()\n"
                "\tfor arrived.Load() < 2 && time.Since(t0) < 300*time.Millisecond {\n\t}\n"
                "\tt1 := time.Now()\n"
                "\tfor j := 0; time.Since(t1) < 500*time.Millisecond; j++ {\n\t\tm[j%64] = j\n\t}\n}")
        # Two rounds: threads crashes the engine in the warm-up, before any
        # model was measured; the new engine runs the others.
        content, outs = self.run_cell("%%models -n 4 -repeat 2 -models sequential,threads,eventloop\n" + code, stop_on_error=False)
        self.assertOK(content)
        table = self.models_table(outs)
        self.assertIn("concurrent map", table)
        self.row(table, "eventloop")
        self.row(table, "sequential")
        reports = reports_of(outs)
        self.assertEqual(len(reports["sequential"]["rounds"]), 2, "sequential ran its two rounds in the new engine")
        # The notebook holds what the sequential run left, although it ran
        # in the engine that died.
        content, outs = self.run_cell("len(m)")
        self.assertEqual(self.result(outs), "64")

    def test_states_and_exports(self):
        # Each task awaits a short sleep, then computes: under gil the
        # threads back from their sleeps wait for the one that computes.
        code = ("func Nap(i int) int {\n\ttime.Sleep(time.Millisecond)\n\ts := 0\n"
                "\tfor j := 0; j < 200000; j++ {\n\t\ts += j\n\t}\n\treturn s\n}")
        with tempfile.TemporaryDirectory() as tmp:
            traces, perf = os.path.join(tmp, "traces"), os.path.join(tmp, "run.json")
            content, outs = self.run_cell(f"%%models -n 4 -models sequential,gil,threads -trace {traces} -perfetto {perf}\n" + code)
            self.assertOK(content)
            out = texts(outs)
            # The time in each state, as a table and in the chart's summary.
            # (read as a front end holds the displays: the table is drawn
            # while the rounds go and updated in place)
            states = [c["data"]["text/plain"] for c in final_displays(outs)
                      if c["data"].get("text/plain", "").startswith("Time in each state")]
            self.assertEqual(len(states), 1, "one table of the time in each state")
            for label in ("running", "blocked at an await (sleep, I/O)", "waiting for the GIL"):
                self.assertIn(label, states[0])
            self.assertIn("cross-hatched = waiting for the GIL", out)
            self.assertRegex(out, r"gil: 4 tasks on 4 threads, [^\n]*waiting for the GIL [\d.]+ m?s \(\d+%\)")
            # The kept traces, named by model and mode, said where.
            names = sorted(os.listdir(traces))
            self.assertEqual(names, ["gil-interpreted.trace", "sequential-interpreted.trace", "threads-interpreted.trace"])
            self.assertIn(f"3 execution trace(s) in {traces}", out)
            go = shutil.which("go")
            if go:
                for name in names:
                    r = subprocess.run([go, "tool", "trace", "-d=parsed", os.path.join(traces, name)], capture_output=True)
                    self.assertEqual(r.returncode, 0, f"go tool trace -d=parsed {name}: {r.stderr[-500:]!r}")
            # The Perfetto trace: a process per model, a thread per worker,
            # a slice per task.
            self.assertIn(f"Perfetto trace in {perf}", out)
            with open(perf) as f:
                doc = json.load(f)
            events = doc["traceEvents"]
            procs = {e["pid"]: e["args"]["name"] for e in events if e["ph"] == "M" and e["name"] == "process_name"}
            self.assertEqual(sorted(procs.values()), ["gil (interpreted)", "sequential (interpreted)", "threads (interpreted)"])
            gil = [pid for pid, name in procs.items() if name.startswith("gil")][0]
            threads = {e["args"]["name"] for e in events if e["ph"] == "M" and e["name"] == "thread_name" and e["pid"] == gil}
            self.assertEqual(threads, {"thread 0", "thread 1", "thread 2", "thread 3"})
            for pid in procs:
                tasks = [e for e in events if e["pid"] == pid and e["ph"] == "X" and e["cat"] == "task"]
                self.assertEqual(len(tasks), 4, procs[pid])
            self.assertTrue([e for e in events if e["pid"] == gil and e.get("cat") == "state" and e["name"] == "waiting for the GIL"])
        # Bad input: a clear error, nothing run.
        content, outs = self.run_cell(f"%%models -n 2 -trace {tmp} -no-trace\n" + code, stop_on_error=False)
        self.assertEqual(content["status"], "error")
        self.assertIn("needs the execution tracer", content["evalue"])

    def test_interrupt_models(self):
        self.run_cell('func Slow(i int) {\n\tfmt.Println("task", i, "sleeps")\n\ttime.Sleep(10 * time.Second)\n}')
        msg_id = self.kc.execute("%models -n 4 -models sequential Slow", stop_on_error=False)
        self.wait_output(msg_id, "task 0 sleeps")  # interrupt a running task
        start = time.monotonic()
        self.km.interrupt_kernel()
        rep = self.reply(msg_id, timeout=10)
        self.assertLess(time.monotonic() - start, 5)
        self.assertEqual(rep["content"]["ename"], "Interrupted")
        self.outputs(msg_id)
        content, outs = self.run_cell("1 + 1")
        self.assertEqual(self.result(outs), "2")


if __name__ == "__main__":
    unittest.main()
