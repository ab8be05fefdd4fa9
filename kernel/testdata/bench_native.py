"""Native mode's benchmark, through a real kernel: what a native run costs
before its first task, native fib against the same function under
`go test -bench` in the same run, the models' speedups on compiled code,
lost updates of compiled counter++ under threads, and -mode both on fib, a
mutex loop and a channel loop.

usage: bench_native.py [--repeat 3] [--runs 10] [--cold]
Prints Markdown rows: measure | native | reference (same run) | target.
--cold also measures a build with an empty Go build cache (a minute or
more of both cores).
"""
import argparse
import os
import re
import shutil
import statistics
import subprocess
import tempfile
import time

from jupyter_client.manager import start_new_kernel

REPORT = "application/vnd.atonce.report+json"

FIB = "func fib(n int) int {\n\tif n < 2 {\n\t\treturn n\n\t}\n\treturn fib(n-1) + fib(n-2)\n}"

# The same function for `go test -bench`.
FIB_TEST = """package fib

import "testing"

func fib(n int) int {
	if n < 2 {
		return n
	}
	return fib(n-1) + fib(n-2)
}

var sink int

func BenchmarkFib27(b *testing.B) {
	for b.Loop() {
		sink = fib(27)
	}
}
"""


def run(kc, code, timeout=1800):
    """Runs code; returns its reports (None if none), its text outputs and
    the seconds from execute to idle."""
    start = time.monotonic()
    msg_id = kc.execute(code)
    reports, texts = None, []
    while True:
        msg = kc.get_iopub_msg(timeout=timeout)
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        t, c = msg["msg_type"], msg["content"]
        if t == "display_data" and REPORT in c["data"]:
            reports = c["data"][REPORT]
        elif t in ("display_data", "execute_result"):
            texts.append(str(c["data"].get("text/plain", "")))
        elif t == "stream":
            texts.append(c["text"])
        elif t == "error":
            raise RuntimeError(c["ename"] + ": " + c["evalue"])
        if t == "status" and c["execution_state"] == "idle":
            break
    took = time.monotonic() - start
    kc.get_shell_msg(timeout=timeout)
    return reports, "\n".join(texts), took


def by_model(reports, mode="native"):
    return {r["model"]: r for r in reports if r.get("mode") == mode}


def speedups(reports, mode="native"):
    rs = by_model(reports, mode)
    base = rs["sequential"]["wall_ns"]
    return {m: base / r["wall_ns"] for m, r in rs.items()}


def go_bench_fib27(runs):
    """ns per fib(27) under `go test -bench`, median of runs."""
    d = tempfile.mkdtemp(prefix="atonce-bench-fib-")
    try:
        with open(os.path.join(d, "go.mod"), "w") as f:
            f.write("module fib\n\ngo 1.26\n")
        with open(os.path.join(d, "fib_test.go"), "w") as f:
            f.write(FIB_TEST)
        out = subprocess.run(["go", "test", "-run", "^$", "-bench", "Fib27", "-count", str(runs)], cwd=d,
                             capture_output=True, text=True, check=True, env=dict(os.environ, GOFLAGS="")).stdout
        return statistics.median(float(m) for m in re.findall(r"BenchmarkFib27\S*\s+\d+\s+([\d.]+) ns/op", out))
    finally:
        shutil.rmtree(d, ignore_errors=True)


def before_first_task(kc, code):
    """Seconds a run of code spends besides its tasks: the cell's round
    trip less its runs' wall times and less a trivial cell's round trip."""
    reports, _, took = run(kc, code)
    trivial = run(kc, "1")[2]
    return took - trivial - sum(r["wall_ns"] for r in reports) / 1e9


def overheads(kc, repeat):
    """Seconds a run spends before its first task (and around its tasks),
    natively and interpreted: an unchanged notebook, and one changed cell."""
    run(kc, "func Empty(i int) {}")
    small = "-n 1 -models sequential -no-trace -no-charts"
    run(kc, f"%models -repeat 1 -native {small} Empty")  # built once
    native = [before_first_task(kc, f"%models -repeat 1 -native {small} Empty") for _ in range(repeat)]
    interp = [before_first_task(kc, f"%models -repeat 1 {small} Empty") for _ in range(repeat)]
    # A new function each time, one no earlier run built: a new program,
    # one changed cell.
    tag = f"{os.getpid()}x{int(time.time())}"
    changed = [before_first_task(kc, f"%%models -repeat 1 -native {small}\nfunc Changed{k}x{tag}(i int) {{ _ = {k} }}") for k in range(repeat)]
    return {"unchanged": statistics.median(native), "interpreted": statistics.median(interp), "changed": statistics.median(changed)}


def cold_build():
    """Seconds a native run of a new notebook takes with an empty Go build
    cache (a kernel of its own), against its warm re-run."""
    cache = tempfile.mkdtemp(prefix="atonce-bench-gocache-")
    km, kc = start_new_kernel(kernel_name="atonce", startup_timeout=60, env=dict(os.environ, GOCACHE=cache))
    try:
        run(kc, f"func Cold{int(time.time())}(i int) {{}}\nfunc Empty(i int) {{}}")
        return before_first_task(kc, "%models -repeat 1 -native -n 1 -models sequential -no-trace -no-charts Empty")
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
        shutil.rmtree(cache, ignore_errors=True)


def lost_updates(kc, runs):
    """Over runs native runs of 8 tasks x 100,000 under threads: how many
    lost updates of a bare counter++, of sync/atomic and of a mutex."""
    run(kc, "var bare int\nvar exact int64\nvar locked int\nvar mu sync.Mutex\n"
            "func Bare(i int) {\n\tfor j := 0; j < 100000; j++ {\n\t\tbare++\n\t}\n}\n"
            "func Atomic(i int) {\n\tfor j := 0; j < 100000; j++ {\n\t\tatomic.AddInt64(&exact, 1)\n\t}\n}\n"
            "func Locked(i int) {\n\tfor j := 0; j < 100000; j++ {\n\t\tmu.Lock()\n\t\tlocked++\n\t\tmu.Unlock()\n\t}\n}")
    out = {}
    for fn, var in (("Bare", "bare"), ("Atomic", "exact"), ("Locked", "locked")):
        losing = []
        for _ in range(runs):
            reps, _, _ = run(kc, f"%models -repeat 1 -native -n 8 -workers 2 -models threads -no-trace -no-charts {fn}")
            losing.append(800000 - int(reps[0]["globals"][var]))
        out[fn] = losing
    return out


def both(kc, repeat):
    """-mode both on fib, a mutex loop and a channel loop: each model's
    speedup in each mode, and the compiled code's gain."""
    run(kc, "var mu2 sync.Mutex\nvar guarded int\n"
            "func Fib(i int) int { return fib(24) }\n"
            "func Lock(i int) {\n\tfor j := 0; j < 100000; j++ {\n\t\tmu2.Lock()\n\t\tguarded++\n\t\tmu2.Unlock()\n\t}\n}\n"
            "func Chan(i int) int {\n\tch := make(chan int)\n\tgo func() {\n\t\tfor k := 0; k < 20000; k++ {\n\t\t\tch <- k\n\t\t}\n\t\tclose(ch)\n\t}()\n"
            "\tn := 0\n\tfor range ch {\n\t\tn++\n\t}\n\treturn n\n}")
    out = {}
    for fn in ("Fib", "Lock", "Chan"):
        reps, _, _ = run(kc, f"%models -mode both -n 8 -workers 2 -repeat {repeat} -no-trace -no-charts -models sequential,eventloop,gil,threads {fn}")
        si, sn = speedups(reps, "interpreted"), speedups(reps, "native")
        seq_i, seq_n = by_model(reps, "interpreted")["sequential"], by_model(reps, "native")["sequential"]
        out[fn] = {"faster": seq_i["wall_ns"] / seq_n["wall_ns"], "interpreted": si, "native": sn}
    return out


def measure(repeat=3, runs=10, cold=False):
    km, kc = start_new_kernel(kernel_name="atonce", startup_timeout=60)
    res = {}
    try:
        run(kc, FIB)
        res["overhead"] = overheads(kc, 5)
        # fib(27) as a native task, beside go test -bench of the same function.
        run(kc, "func Fib27(i int) int { return fib(27) }")
        reps, _, _ = run(kc, f"%models -native -n 8 -repeat {repeat} -no-trace -no-charts -models sequential Fib27")
        tasks = reps[0]["tasks"]
        res["fib27_task_ns"] = statistics.median(t["end_ns"] - t["start_ns"] for t in tasks)
        res["fib27_bench_ns"] = go_bench_fib27(5)
        run(kc, "func CPU(i int) int { return fib(30) }\nfunc CPU34(i int) int { return fib(34) }\nfunc IO(i int) { time.Sleep(20 * time.Millisecond) }")
        cpu = speedups(run(kc, f"%models -native -n 8 -repeat {repeat} -no-trace -no-charts -models sequential,eventloop,gil,threads CPU")[0])
        remote = speedups(run(kc, f"%models -native -n 8 -workers 2 -repeat {repeat} -no-trace -no-charts -models sequential,processes,distributed CPU")[0])
        cpu.update({k: v for k, v in remote.items() if k != "sequential"})
        res["cpu"] = cpu
        # The same with tasks 7x longer: a compiled fib(30) x 8 is over in
        # tens of milliseconds, where a busy machine's scheduling noise
        # weighs as much as the parallelism measured.
        long = speedups(run(kc, f"%models -native -n 8 -workers 2 -repeat {repeat} -no-trace -no-charts -models sequential,threads,processes,distributed CPU34")[0])
        res["cpu34"] = long
        res["io"] = speedups(run(kc, f"%models -native -n 100 -workers 100 -repeat {repeat} -no-trace -no-charts -models sequential,eventloop,gil,threads IO")[0])
        res["lost"] = lost_updates(kc, runs)
        res["both"] = both(kc, repeat)
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    if cold:
        res["cold_s"] = cold_build()
    return res


def rows(res, args):
    """The native part of the benchmark table."""
    o, cpu, io = res["overhead"], res["cpu"], res["io"]
    out = [
        ("native run of an unchanged notebook: time besides its tasks (build found, state, process, warm-up, output)", f"{o['unchanged'] * 1000:.0f} ms", f"{o['interpreted'] * 1000:.0f} ms interpreted", "≤ 300 ms"),
        ("native run after one changed cell (warm build cache), the same", f"{o['changed'] * 1000:.0f} ms", "", "≤ 1.5 s"),
    ]
    if "cold_s" in res:
        out.append(("native run of a new notebook, empty Go build cache", f"{res['cold_s']:.0f} s", "", ""))
    task, bench = res["fib27_task_ns"], res["fib27_bench_ns"]
    out.append(("native fib(27) as a task (median task)", f"{task / 1e6:.2f} ms", f"{bench / 1e6:.2f} ms (go test -bench); {task / bench:.2f}x", "≤ 1.3x"))
    out += [
        (f"native CPU-bound eventloop speedup (fib(30) x 8)", f"{cpu['eventloop']:.2f}x", "", "0.9–1.1x"),
        ("native CPU-bound gil speedup", f"{cpu['gil']:.2f}x", "", "0.9–1.1x"),
        ("native CPU-bound threads speedup (2 cores)", f"{cpu['threads']:.2f}x", "", "≥ 1.85x"),
        ("native CPU-bound processes speedup (2 workers)", f"{cpu['processes']:.2f}x", "", "≥ 1.7x"),
        ("native CPU-bound distributed speedup (2 local workers)", f"{cpu['distributed']:.2f}x", "", ""),
        ("native CPU-bound threads speedup, fib(34) x 8 (2 workers)", f"{res['cpu34']['threads']:.2f}x", "", ""),
        ("native CPU-bound processes speedup, fib(34) x 8 (2 workers)", f"{res['cpu34']['processes']:.2f}x", "", ""),
        ("native CPU-bound distributed speedup, fib(34) x 8 (2 local workers)", f"{res['cpu34']['distributed']:.2f}x", "", ""),
        ("native sleep-bound eventloop speedup (100 x 20 ms)", f"{io['eventloop']:.1f}x", "", "≥ 60x"),
        ("native sleep-bound gil speedup (K = n)", f"{io['gil']:.1f}x", "", "≥ 40x"),
        ("native sleep-bound threads speedup (K = n)", f"{io['threads']:.1f}x", "", "≥ 40x"),
    ]
    for fn, what, target in (("Bare", "counter++", "lost in ≥ 9 of 10"), ("Atomic", "sync/atomic", "never lost"), ("Locked", "mutex", "never lost")):
        lost = res["lost"][fn]
        losing = sum(1 for n in lost if n > 0)
        out.append((f"native {what}, 8 x 100,000 under threads: runs that lost updates", f"{losing} of {len(lost)}",
                    "lost per run: " + ", ".join(str(n) for n in lost), target))
    for fn, what in (("Fib", "fib(24)"), ("Lock", "100,000 Lock/Unlock"), ("Chan", "20,000 channel sends")):
        b = res["both"][fn]
        speeds = "; ".join(f"{m} {b['interpreted'][m]:.2f}x → {b['native'][m]:.2f}x" for m in ("eventloop", "gil", "threads"))
        out.append((f"-mode both, 8 x {what}: compiled is faster by", f"{b['faster']:.1f}x", "speedup interpreted → native: " + speeds, ""))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--cold", action="store_true")
    args = ap.parse_args()
    res = measure(args.repeat, args.runs, args.cold)
    for row in rows(res, args):
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
