"""atonce's benchmark: one Markdown table, written to BENCHMARKS.md by
`make bench` (kernel/bench.sh).

Everything is measured in the same run through a real Jupyter client:
the kernel against ipykernel, each model against sequential and against
CPython's own asyncio, threading and multiprocessing on the same work.
Medians of repeated runs; ratios where the machine's speed matters.

usage: bench_all.py [--quick]
"""
import argparse
import datetime
import os
import platform
import subprocess

import bench_kernel
import bench_models
import bench_native
import bench_stats


def machine():
    cpu = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    go = subprocess.run(["go", "version"], capture_output=True, text=True).stdout.strip()
    return f"{platform.system()} {platform.release()}, {os.cpu_count()} CPUs ({cpu}), {go}, Python {platform.python_version()}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="small sizes, to check the script")
    args = ap.parse_args()
    if args.quick:
        margs = argparse.Namespace(fib=22, n=8, sleep_n=20, repeat=1, empty_n=200, remote_n=100)
        nargs = argparse.Namespace(repeat=1, runs=3, cold=False)
        kruns, kstarts = 10, 3
        sruns, sfibs = 1, [18]
    else:
        margs = argparse.Namespace(fib=29, n=8, sleep_n=100, repeat=3, empty_n=2000, remote_n=500)
        nargs = argparse.Namespace(repeat=5, runs=10, cold=False)
        kruns, kstarts = 40, 10
        sruns, sfibs = 10, [22, 27]
    k = bench_kernel.measure(kruns, kstarts)
    m = bench_models.measure(margs.fib, margs.n, margs.sleep_n, margs.repeat, margs.empty_n, margs.remote_n)
    nat = bench_native.measure(nargs.repeat, nargs.runs, nargs.cold)
    st = bench_stats.measure(sruns, sfibs, ["interpreted", "native"])
    a, p = k["atonce"], k["python3"]
    rows = [
        (f"trivial cell round trip (median of {kruns})", f"{a['round_trip_ms']:.2f} ms", f"{p['round_trip_ms']:.2f} ms (ipykernel)", "1.5 ms", f"{a['round_trip_ms'] / p['round_trip_ms']:.2f}x ipykernel"),
        (f"start to first kernel_info_reply (median of {kstarts})", f"{a['start_s'] * 1000:.0f} ms", f"{p['start_s'] * 1000:.0f} ms (ipykernel)", "300 ms", f"{a['start_s'] / p['start_s']:.2f}x ipykernel"),
    ]
    rows += [(r[0], r[1], r[2], r[3], "") for r in bench_models.rows(m, margs)]
    rows += [(r[0], r[1], r[2], r[3], "") for r in bench_native.rows(nat, nargs)]
    print("# atonce benchmarks")
    print()
    print(f"Measured by `make bench` on {datetime.date.today().isoformat()}: {machine()}.")
    print(f"Medians of {margs.repeat} runs per model (fib({margs.fib}) x {margs.n} for CPU-bound work, {margs.sleep_n} tasks of 20 ms sleep for sleep-bound work);")
    print("CPython's numbers come from the same run on the same machine. Speedups are against atonce's own sequential run.")
    print("The machine has 2 cores shared with whatever else runs: a speedup's noise is about ±15% here.")
    print(f"Native rows: the notebook compiled by the Go toolchain (%%models -native), medians of {nargs.repeat} runs; compiled tasks are short, so their speedups move more.")
    print()
    print("| measure | atonce | reference (same run) | target | ratio |")
    print("|---|---|---|---|---|")
    for r in rows:
        print("| " + " | ".join(r) + " |")
    print()
    print("## Speedups with their intervals (the default rounds)")
    print()
    print(f"`%%models -n 8` (sequential, eventloop, gil, threads) on fib(n) tasks, {sruns} runs per task and mode, as a new user")
    print("runs it (bench_stats.py). Targets: eventloop's and gil's 95% intervals inside 0.85–1.15 and containing 1 in at least")
    print("9 of 10 runs; threads' above 1.5 (interpreted) and 1.8 (native). An interval of less than 95% confidence")
    print("(too few rounds) shows its confidence.")
    print()
    bench_stats.report(st)


if __name__ == "__main__":
    main()
