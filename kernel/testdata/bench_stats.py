"""Issue 13's targets, through a real kernel, as a new user runs them: the
same `%%models -n 8` cell (sequential, eventloop, gil, threads; the default
rounds) on fib(22) and on fib(27) tasks, run again and again, interpreted
and native. For each run: each model's speedup interval, how many rounds it
took and why it stopped, and how long the cell took.

Targets: the eventloop and gil intervals lie inside 0.85-1.15 and contain 1
in at least 9 of 10 runs; threads' intervals lie above 1.5 (interpreted)
and above 1.8 (native).

usage: bench_stats.py [--runs 10] [--fib 22,27] [--modes interpreted,native] [--flags "-budget 40s -rounds 60"]
--flags adds %%models flags to every run (the defaults are what a new user gets).
Prints Markdown: a summary row per task and mode, then every run.
"""
import argparse
import os
import statistics
import time

from jupyter_client.manager import start_new_kernel

from bench_native import FIB, run

# What each model's interval must do, per mode: (lo, hi) bounds the
# interval, contains1 asks that it contain 1.
TARGETS = {
    "eventloop": {"interpreted": (0.85, 1.15, True), "native": (0.85, 1.15, True)},
    "gil": {"interpreted": (0.85, 1.15, True), "native": (0.85, 1.15, True)},
    "threads": {"interpreted": (1.5, None, False), "native": (1.8, None, False)},
}


def meets(iv, target):
    """Tells whether the interval iv ({lo, mid, hi}) meets target."""
    lo, hi, contains1 = target
    if iv is None or not iv.get("n"):
        return False
    if lo is not None and iv["lo"] < lo:
        return False
    if hi is not None and iv["hi"] > hi:
        return False
    if contains1 and not iv["lo"] <= 1 <= iv["hi"]:
        return False
    return True


def fmt(iv):
    if not iv or not iv.get("n"):
        return "—"
    conf = "" if iv.get("conf", 0) >= 0.95 else f" ({iv['conf']*100:.0f}%)"
    return f"{iv['mid']:.2f}x [{iv['lo']:.2f}–{iv['hi']:.2f}]{conf}"


def measure(runs, fibs, modes, extra=""):
    """Runs the cell runs times per task and mode; returns the runs."""
    km, kc = start_new_kernel(kernel_name="atonce")
    out = []
    try:
        run(kc, FIB)
        for n in fibs:
            run(kc, f"func Task(i int) int {{ return fib({n}) }}")
            for mode in modes:
                flag = (" -native" if mode == "native" else "") + (" " + extra if extra else "")
                for k in range(runs):
                    load = os.getloadavg()[0]
                    reports, text, took = run(kc, f"%%models -n 8{flag} Task\n")
                    rs = {r["model"]: r for r in reports if r.get("mode", "interpreted") == mode}
                    out.append({
                        "fib": n, "mode": mode, "run": k + 1, "seconds": took, "load": load,
                        "rounds": len(rs["sequential"].get("rounds") or []),
                        "seq_ms": rs["sequential"]["wall_ns"] / 1e6,
                        "speedup": {m: rs[m].get("speedup") for m in TARGETS if m in rs},
                    })
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    return out


def report(out):
    print("| task | mode | eventloop in 0.85–1.15 ∋ 1 | gil in 0.85–1.15 ∋ 1 | threads above target | eventloop (median, range of mids) | gil | threads | rounds | seconds a run (median, max) |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    keys = sorted({(o["fib"], o["mode"]) for o in out})
    for n, mode in keys:
        rs = [o for o in out if o["fib"] == n and o["mode"] == mode]
        cells = [f"fib({n}) x 8", mode]
        for m in TARGETS:
            ok = sum(meets(o["speedup"].get(m), TARGETS[m][mode]) for o in rs)
            cells.append(f"{ok}/{len(rs)}")
        for m in TARGETS:
            mids = [o["speedup"][m]["mid"] for o in rs if o["speedup"].get(m)]
            cells.append(f"{statistics.median(mids):.2f}x ({min(mids):.2f}–{max(mids):.2f})" if mids else "—")
        cells.append(f"{statistics.median(o['rounds'] for o in rs):.0f} ({min(o['rounds'] for o in rs)}–{max(o['rounds'] for o in rs)})")
        secs = [o["seconds"] for o in rs]
        cells.append(f"{statistics.median(secs):.1f} s, {max(secs):.1f} s")
        print("| " + " | ".join(cells) + " |")
    print()
    print("| task | mode | run | load | rounds | sequential ms | eventloop | gil | threads | seconds |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for o in out:
        seq = f"{o['seq_ms']:.1f}" if o["seq_ms"] is not None else "—"
        print(f"| fib({o['fib']}) | {o['mode']} | {o['run']} | {o['load']:.1f} | {o['rounds']} | {seq} | "
              + " | ".join(fmt(o["speedup"].get(m)) for m in TARGETS) + f" | {o['seconds']:.1f} |")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--fib", default="22,27")
    ap.add_argument("--modes", default="interpreted,native")
    ap.add_argument("--flags", default="", help="more %%%%models flags for every run")
    args = ap.parse_args()
    started = time.monotonic()
    load = os.getloadavg()[0]
    out = measure(args.runs, [int(f) for f in args.fib.split(",")], args.modes.split(","), args.flags)
    if args.flags:
        print(f"Every run with `{args.flags}`.")
    print(f"Load average {load:.1f} at the start, {os.getloadavg()[0]:.1f} at the end; {time.monotonic()-started:.0f} s in all.")
    print()
    report(out)


if __name__ == "__main__":
    main()
