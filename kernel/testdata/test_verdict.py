"""What a %%models run says, through a real Jupyter client: the verdict
after the table on four tasks — one that computes, one that sleeps, one
that does both, one whose tasks queue for a mutex — each a different,
correct verdict; and -workers 1,2, the scaling chart and its Amdahl fit.

The assertions are the claims the data robustly support on a loaded
2-core machine: what the task is (from its traced states, which load
does not change), which models cannot help it, and which help whatever
else runs (overlapping sleeps needs no free core). Where a claim needs a
free core (threads on a task that computes), the verdict must either make
it or say that other programs took the cores.

Run by kernel/jupyter_test.go with the kernelspec installed under a
temporary JUPYTER_PATH.
"""
import re
import unittest

from test_behaviour import KernelCase, final_displays
from test_magics import texts

VERDICT = "application/vnd.atonce.verdict+json"

FIB = """import (
	"sync"
	"time"
)

var _ = time.Millisecond

func fib(n int) int {
	if n < 2 {
		return n
	}
	return fib(n-1) + fib(n-2)
}

var mu sync.Mutex
var total int"""

ROUNDS = "-repeat 10"


class Verdict(KernelCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        msg_id = cls.kc.execute(FIB)
        while True:
            m = cls.kc.get_shell_msg(timeout=60)
            if m["parent_header"].get("msg_id") == msg_id:
                assert m["content"]["status"] == "ok", m["content"]
                break

    def models(self, cell, timeout=300):
        """Runs a %%models cell and returns its outputs."""
        msg_id = self.kc.execute(cell)
        rep = self.reply(msg_id, timeout=timeout)
        self.assertOK(rep["content"])
        return self.outputs(msg_id, timeout=60)

    def verdict(self, outs):
        """The verdict's bundle as a front end shows it once the cell is
        done: its findings (one mode's), its Markdown and its plain text."""
        found = [c for c in final_displays(outs) if VERDICT in c["data"]]
        self.assertEqual(len(found), 1, "no verdict, or more than one, in the output:\n" + texts(outs))
        data = found[0]["data"]
        self.assertEqual(sorted(data), sorted(["text/markdown", "text/plain", VERDICT]))
        self.assertEqual(len(data[VERDICT]), 1, data[VERDICT])
        return data[VERDICT][0], data["text/markdown"], data["text/plain"]

    def effects(self, v):
        return {m["model"]: m["effect"] for m in v["models"]}

    def test_after_the_table(self):
        outs = self.models(f"%%models -n 4 {ROUNDS} -models sequential,threads\nfunc Nap(i int) {{ time.Sleep(5 * time.Millisecond) }}")
        shown = final_displays(outs)
        table = next(i for i, c in enumerate(shown) if "<table" in c["data"].get("text/html", ""))
        verdict = next(i for i, c in enumerate(shown) if VERDICT in c["data"])
        self.assertEqual(verdict, table + 1, "the verdict comes right after the table")
        _, md, text = self.verdict(outs)
        self.assertTrue(md.startswith("**What this run says**"), md)
        self.assertTrue(text.startswith("What this run says\n"), text)
        # While the rounds went, its place said what would be there.
        first = next(m["content"] for m in outs if m["msg_type"] == "display_data"
                     and m["content"].get("transient", {}).get("display_id") == shown[verdict]["transient"]["display_id"])
        self.assertEqual(first["data"], {"text/plain": "(what this run says, once its rounds are done)"})

    def test_cpu_bound(self):
        outs = self.models(f"%%models {ROUNDS}\nfunc Fib(i int) int {{ return fib(22) }}")
        v, md, text = self.verdict(outs)
        effects = self.effects(v)
        self.assertEqual(v["kind"], "cpu-bound", text)
        self.assertIn("The task is CPU-bound.", text)
        for one in ("eventloop", "gil"):
            self.assertNotEqual(effects[one], "helps", f"{one} cannot help a task that computes:\n{text}")
        self.assertRegex(text, r"a task that waits at no await gives them nothing to overlap: at most 1\.\dx")
        # Threads need a free core: the verdict says they help, or why it
        # cannot say so (the rounds disagree, or other programs took the
        # cores).
        if effects["threads"] == "helps":
            self.assertIn("under threads the tasks run on several cores at once (MSU: machine instruction)", text)
        elif effects["threads"] == "cannot tell":
            self.assertIn("the intervals are too wide to tell a gain from noise", text)
        else:
            self.assertIn("The machine was busy: while threads ran, other programs used", text,
                          "threads did not help a CPU-bound task, and the verdict does not say the cores were taken")

    def test_sleep_bound(self):
        outs = self.models(f"%%models {ROUNDS}\nfunc Nap(i int) {{ time.Sleep(20 * time.Millisecond) }}")
        v, md, text = self.verdict(outs)
        self.assertEqual(v["kind"], "await-bound", text)
        self.assertEqual(self.effects(v), {"eventloop": "helps", "gil": "helps", "threads": "helps"}, text)
        self.assertIn("The task waits.", text)
        self.assertIn("eventloop switches at each await (MSU: code between two awaits)", text)
        self.assertIn("gil releases the global lock at each blocking call", text)
        loop = next(m for m in v["models"] if m["model"] == "eventloop")
        self.assertGreater(loop["speedup"]["lo"], 3, "8 coroutines overlap 8 sleeps")

    def test_mixed(self):
        outs = self.models(f"%%models {ROUNDS}\nfunc Half(i int) int {{\n\tx := fib(21)\n\ttime.Sleep(15 * time.Millisecond)\n\treturn x\n}}")
        v, md, text = self.verdict(outs)
        effects = self.effects(v)
        self.assertEqual(v["kind"], "mixed", text)
        self.assertIn("The task computes and waits.", text)
        # One task at a time overlaps the waits only: the verdict says how
        # much that can gain, and finds the event loop helps unless the
        # load on the machine made the intervals too wide to tell.
        self.assertRegex(text, r"overlap only the waits(:|, so) at most \d+\.\dx")
        self.assertIn(effects["eventloop"], ("helps", "cannot tell"), text)
        if effects["eventloop"] == "cannot tell":
            self.assertIn("the intervals are too wide to tell a gain from noise", text)

    def test_contended_mutex(self):
        outs = self.models(f"%%models {ROUNDS}\nfunc Locked(i int) int {{\n\tmu.Lock()\n\tdefer mu.Unlock()\n\tx := fib(21)\n\ttotal += x\n\treturn x\n}}")
        v, md, text = self.verdict(outs)
        effects = self.effects(v)
        self.assertEqual(v["kind"], "lock-bound", text)
        self.assertIn("The task is serialized by a lock.", text)
        self.assertRegex(text, r"under (gil|threads) they spent \d+% more of it blocked")
        for m in ("eventloop", "gil", "threads"):
            self.assertNotEqual(effects[m], "helps", f"{m} cannot get past the lock:\n{text}")
        # The mutex guards total: no model loses an update.
        self.assertIn("Correctness: no model that shares the notebook's state lost an update", text)

    def test_races_update_the_verdict(self):
        # The first -race run builds the race-detector worker: minutes on a cold cache.
        outs = self.models("%%models -n 4 -repeat 3 -models sequential,eventloop,threads -no-charts -race\n"
                           "var tally int\nfunc Race(i int) {\n\tfor j := 0; j < 100000; j++ {\n\t\ttally++\n\t}\n}", timeout=900)
        v, _, text = self.verdict(outs)
        self.assertRegex(text, r"the race detector found \d+ data races? under threads")
        # The verdict was shown before the race detector ran, and updated
        # in place under its display id once it had.
        did = next(c for c in final_displays(outs) if VERDICT in c["data"])["transient"]["display_id"]
        said = [m["content"]["data"]["text/plain"] for m in outs if m["msg_type"] == "update_display_data"
                and m["content"]["transient"]["display_id"] == did and VERDICT in m["content"]["data"]]
        self.assertGreaterEqual(len(said), 2, said)
        self.assertNotIn("race detector", said[-2])
        races = next(i for i, m in enumerate(outs) if "Race detector" in str(m["content"].get("data", {}).get("text/plain", "")))
        verdicts = [i for i, m in enumerate(outs) if m["msg_type"] == "update_display_data" and VERDICT in m["content"]["data"]]
        self.assertLess(verdicts[-2], races)

    def test_the_four_differ(self):
        kinds = {}
        for name, body in [
            ("cpu", "return fib(20)"),
            ("sleep", "time.Sleep(10 * time.Millisecond)\n\treturn 0"),
            ("mixed", "x := fib(21)\n\ttime.Sleep(15 * time.Millisecond)\n\treturn x"),
            ("mutex", "mu.Lock()\n\tdefer mu.Unlock()\n\treturn fib(20)"),
        ]:
            outs = self.models(f"%%models -repeat 3 -models sequential,gil,threads\nfunc Task(i int) int {{\n\t{body}\n}}")
            v, _, text = self.verdict(outs)
            kinds[name] = v["kind"]
        self.assertEqual(kinds, {"cpu": "cpu-bound", "sleep": "await-bound", "mixed": "mixed", "mutex": "lock-bound"})

    def test_workers_list(self):
        outs = self.models("%%models -n 4 -repeat 6 -models sequential,threads -workers 1,2\nfunc Fib(i int) int { return fib(20) }")
        shown = final_displays(outs)
        charts = [c for c in shown if "image/svg+xml" in c["data"]]
        scaling = [c for c in charts if c["data"]["text/plain"].startswith("Scaling:")]
        self.assertEqual(len(scaling), 1, [c["data"]["text/plain"][:60] for c in charts])
        self.assertIs(charts[-1], scaling[0], "the scaling chart comes after the others")
        c = scaling[0]
        self.assertEqual(sorted(c["data"]), ["image/png", "image/svg+xml", "text/plain"])
        self.assertEqual(c["metadata"]["image/png"], {"width": 640, "height": 400})
        summary = c["data"]["text/plain"]
        self.assertIn("Scaling: speedup over sequential against workers (median of 6 rounds, 95% intervals)", summary)
        self.assertRegex(summary, r"threads: 1 → \d\.\d\dx \[\d\.\d\d–\d\.\d\d\], 2 → \d\.\d\dx \[\d\.\d\d–\d\.\d\d\]; Amdahl's serial fraction \d+(\.\d)?% \[")
        svg = c["data"]["image/svg+xml"]
        for label in (">ideal: speedup = workers<", ">workers (log scale)<", ">threads, s = "):
            self.assertIn(label, svg)
        _, _, text = self.verdict(outs)
        # The verdict's sentence follows the counts' speedups, whatever
        # the machine's load made them: a count faster than sequential
        # scales (with Amdahl's serial fraction); none, and the verdict
        # says threads does not scale here.
        mids = [float(m) for m in re.findall(r"\d → (\d\.\d\d)x \[", summary)]
        self.assertEqual(len(mids), 2, summary)
        scales = r"Scaling: threads scales to \d\.\d\dx \[\d\.\d\d–\d\.\d\d\] with \d goroutines? on \d cores?; serial fraction \d+(\.\d)?% \["
        flat = r"Scaling: threads does not scale here: at best \d\.\d\dx \[\d\.\d\d–\d\.\d\d\] with \d goroutines? on \d cores?, no faster than sequential at any count"
        if max(mids) == 1.00:  # printed rounded: either side of 1
            self.assertRegex(text, f"{scales}|{flat}")
        elif max(mids) > 1:
            self.assertRegex(text, scales)
        else:
            self.assertRegex(text, flat)
        # The table ran each model at its default: threads on one goroutine per core.
        table = next(c["data"]["text/plain"] for c in shown if "<table" in c["data"].get("text/html", ""))
        self.assertRegex(table, r"\nthreads .*")

    def test_workers_list_errors(self):
        content, outs = self.run_cell("%%models -workers 1,2 -models threads\nfunc F(i int) {}", stop_on_error=False)
        self.assertEqual(content["status"], "error")
        self.assertIn("-workers 1,2 measures speedups over sequential", content["evalue"])
        content, outs = self.run_cell("%%models -workers 1,x\nfunc F(i int) {}", stop_on_error=False)
        self.assertEqual(content["status"], "error")
        self.assertIn('"x" is not a number of workers', content["evalue"])


if __name__ == "__main__":
    unittest.main()
