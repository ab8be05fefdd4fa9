"""The processes model through a real Jupyter client: worker processes that
replay the notebook, isolation, a dying worker, interrupt reaping every worker.

Run by kernel/jupyter_test.go with the kernelspec installed under a
temporary JUPYTER_PATH.
"""
import os
import time
import unittest

from test_behaviour import KernelCase, exe_of, live_pids
from test_magics import reports_of, texts


class Processes(KernelCase):
    def worker_pids(self):
        """Process ids of the `atonce worker -pipe` processes of the binary
        under test, orphans included (other builds on the machine, such as
        another checkout's tests, may run theirs)."""
        exe = os.path.realpath(self.km.kernel_spec.argv[0])
        return [p for p in live_pids(lambda args: args.endswith(" worker -pipe")) if exe_of(p) == exe]

    def test_isolation_and_copies(self):
        content, outs = self.run_cell(
            "%%models -repeat 1 -n 8 -workers 2 -models sequential,threads,processes\n"
            "var counter int\n"
            "func Count(i int) int {\n\tcounter++\n\treturn i * i\n}")
        self.assertOK(content)
        reps = reports_of(outs)
        proc = reps["processes"]
        self.assertEqual(sorted(t["index"] for t in proc["tasks"]), list(range(8)))
        self.assertEqual([t["result"] for t in sorted(proc["tasks"], key=lambda t: t["index"])], [i * i for i in range(8)])
        self.assertEqual(len(proc["pool"]), 2)
        copies = sum(int(w["globals"]["counter"]) for w in proc["pool"] if "counter" in w.get("globals", {}))
        self.assertEqual(copies, 8, "each worker's copy counts its own tasks")
        for w in proc["pool"]:
            self.assertGreater(w["ready_ns"], w["spawn_ns"])
            self.assertGreater(w["pid"], 0)
        self.assertEqual(self.worker_pids(), [], "no worker outlives the run")
        content, outs = self.run_cell("counter")
        self.assertEqual(self.result(outs), "8", "the notebook holds what sequential left")

    def test_worker_dies_and_task_fails_alone(self):
        content, outs = self.run_cell(
            "%%processes -repeat 1 -n 5 -workers 2\n"
            "func Risky(i int) int {\n\tif i == 2 {\n\t\tos.Exit(7)\n\t}\n\treturn i\n}",
            stop_on_error=False)
        self.assertOK(content)
        proc = reports_of(outs)["processes"]
        by_index = {t["index"]: t for t in proc["tasks"]}
        self.assertEqual(sorted(by_index), list(range(5)))
        self.assertIn("killed every worker", by_index[2]["err"])
        self.assertIn("status 7", by_index[2]["err"])
        self.assertEqual(by_index[2]["attempts"], 2)
        for i in (0, 1, 3, 4):
            self.assertEqual(by_index[i]["result"], i)
        content, outs = self.run_cell("1 + 1")
        self.assertEqual(self.result(outs), "2")

    def test_result_that_cannot_cross(self):
        content, outs = self.run_cell("%%processes -repeat 1 -n 2 -workers 1\nfunc Chan(i int) chan int { return make(chan int) }")
        self.assertOK(content)
        for t in reports_of(outs)["processes"]["tasks"]:
            self.assertIn("chan int", t["err"])
            self.assertIn("JSON", t["err"])

    def test_race_detector_names_the_variable(self):
        # The first -race run builds the race-detector worker: minutes on a cold cache.
        msg_id = self.kc.execute(
            "%%models -repeat 1 -n 4 -models sequential,eventloop,threads -no-charts -race\n"
            "var tally int\nvar atomicTally int64\n"
            "func Race(i int) {\n\tfor j := 0; j < 100000; j++ {\n\t\ttally++\n\t\tatomic.AddInt64(&atomicTally, 1)\n\t}\n}")
        content = self.reply(msg_id, timeout=900)["content"]
        outs = self.outputs(msg_id, timeout=60)
        self.assertOK(content)
        out = texts(outs)
        self.assertIn("Race detector", out)
        self.assertRegex(out, r"threads: \d+ data race\(s\): \d+ on `tally`")
        self.assertNotIn("on `atomicTally`", out)
        self.assertIn("eventloop: no data race found", out)
        self.assertIn("Data sharing", out)

    def test_interrupt_reaps_every_worker(self):
        self.run_cell("func Sleepy(i int) { time.Sleep(30 * time.Second) }")
        before = self.worker_pids()
        msg_id = self.kc.execute("%models -repeat 1 -models processes -n 4 -workers 3 Sleepy", stop_on_error=False)
        deadline = time.monotonic() + 10
        while len(self.worker_pids()) < len(before) + 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertEqual(len(self.worker_pids()), len(before) + 3, "three workers run")
        time.sleep(0.3)
        start = time.monotonic()
        self.km.interrupt_kernel()
        rep = self.reply(msg_id, timeout=10)
        self.assertLess(time.monotonic() - start, 1.5)
        self.assertEqual(rep["content"]["ename"], "Interrupted")
        deadline = time.monotonic() + 1
        while self.worker_pids() != before and time.monotonic() < deadline:
            time.sleep(0.02)
        self.assertEqual(self.worker_pids(), before, "every worker is reaped within a second")
        self.outputs(msg_id)
        content, outs = self.run_cell("1 + 1")
        self.assertEqual(self.result(outs), "2")


if __name__ == "__main__":
    unittest.main()
