"""Fidelity of the concurrency models, measured through a real kernel, beside
CPython's own threading and asyncio on the same work in the same run.

usage: bench_models.py [--fib 29] [--n 8] [--sleep-n 100] [--repeat 3] [--empty-n 2000] [--remote-n 500]
Prints Markdown tables: speedups against sequential (median of --repeat
runs per model, as %%models -repeat does), and per-task overhead of each
model with an empty task.
"""
import argparse
import asyncio
import statistics
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

from jupyter_client.manager import start_new_kernel

REPORT = "application/vnd.atonce.report+json"


def run(kc, code, timeout=600):
    msg_id = kc.execute(code)
    reports = None
    while True:
        msg = kc.get_iopub_msg(timeout=timeout)
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        if msg["msg_type"] == "display_data" and REPORT in msg["content"]["data"]:
            reports = msg["content"]["data"][REPORT]
        if msg["msg_type"] == "error":
            raise RuntimeError(msg["content"]["evalue"])
        if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
            break
    kc.get_shell_msg(timeout=timeout)
    return reports


def speedups(reports):
    base = next(r["wall_ns"] for r in reports if r["model"] == "sequential")
    return {r["model"]: base / r["wall_ns"] for r in reports}


def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)


def cpython(n, fib_n, sleep_n):
    """CPython's own models on the same work: sequential, asyncio, threads."""
    def timed(f):
        t = time.perf_counter()
        f()
        return time.perf_counter() - t

    out = {}
    seq = timed(lambda: [fib(fib_n) for _ in range(n)])

    async def cpu_coros():
        async def one():
            fib(fib_n)
        await asyncio.gather(*(one() for _ in range(n)))

    out["cpu eventloop"] = seq / timed(lambda: asyncio.run(cpu_coros()))
    with ProcessPoolExecutor(2) as ex:
        # Spawn is counted, as the %%models processes run counts its own.
        out["cpu processes"] = seq / timed(lambda: list(ex.map(fib, [fib_n] * n)))
    with ThreadPoolExecutor(4) as ex:
        out["cpu gil"] = seq / timed(lambda: list(ex.map(lambda _: fib(fib_n), range(n))))
    sseq = timed(lambda: [time.sleep(0.02) for _ in range(sleep_n)])

    async def io_coros():
        await asyncio.gather(*(asyncio.sleep(0.02) for _ in range(sleep_n)))

    out["sleep eventloop"] = sseq / timed(lambda: asyncio.run(io_coros()))
    with ThreadPoolExecutor(sleep_n) as ex:
        out["sleep gil"] = sseq / timed(lambda: list(ex.map(lambda _: time.sleep(0.02), range(sleep_n))))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--fib", type=int, default=29)
    ap.add_argument("--n", type=int, default=8)
    ap.add_argument("--sleep-n", type=int, default=100)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--empty-n", type=int, default=2000)
    ap.add_argument("--remote-n", type=int, default=500)
    args = ap.parse_args()

    km, kc = start_new_kernel(kernel_name="atonce", startup_timeout=60)
    try:
        run(kc, "func fib(n int) int {\n\tif n < 2 {\n\t\treturn n\n\t}\n\treturn fib(n-1) + fib(n-2)\n}")
        cpu_reports = run(kc, f"%%models -n {args.n} -repeat {args.repeat} -no-trace -no-charts -models sequential,eventloop,gil,threads\nfunc CPU(i int) int {{ return fib({args.fib}) }}")
        cpu = speedups(cpu_reports)
        # The out-of-process models with 2 workers, beside a sequential run of their own.
        remote_reports = run(kc, f"%models -n {args.n} -workers 2 -repeat {args.repeat} -no-trace -no-charts -models sequential,processes,distributed CPU")
        cpu.update({k: v for k, v in speedups(remote_reports).items() if k != "sequential"})
        io = speedups(run(kc, f"%%models -n {args.sleep_n} -workers {args.sleep_n} -repeat {args.repeat} -no-trace -no-charts\nfunc IO(i int) {{ time.Sleep(20 * time.Millisecond) }}"))
        empty = run(kc, f"%%models -n {args.empty_n} -repeat {args.repeat} -no-trace -no-charts\nfunc Empty(i int) {{}}")
        # One worker each, so that the gap between one task's end and the
        # next one's start is the whole per-task round trip.
        remote_empty = run(kc, f"%models -n {args.remote_n} -workers 1 -repeat {args.repeat} -no-trace -no-charts -models processes,distributed Empty")
        # Start-up: a fresh notebook state each time (the cell changes a variable), so workers replay it.
        startups = {"processes": [], "distributed": []}
        for k in range(args.repeat):
            reps = run(kc, f"%%models -n 2 -workers 2 -no-trace -no-charts -models processes,distributed\nvar startupProbe{k} = {k}\nfunc Probe{k}(i int) {{}}")
            for r in reps:
                startups[r["model"]].append(r["startup_ns"] / 1e6)
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    py = cpython(args.n, args.fib, args.sleep_n)

    print(f"Fidelity (speedup over sequential, median of {args.repeat} runs per model; fib({args.fib}) x {args.n}; {args.sleep_n} tasks of 20 ms sleep with K = n)")
    print()
    print("| | CPython (same run) | atonce | target |")
    print("|---|---|---|---|")
    print(f"| CPU-bound eventloop | {py['cpu eventloop']:.2f}x | {cpu['eventloop']:.2f}x | 0.9–1.1x |")
    print(f"| CPU-bound GIL threads | {py['cpu gil']:.2f}x | {cpu['gil']:.2f}x | 0.9–1.1x |")
    print(f"| CPU-bound free threads (2 cores) | — | {cpu['threads']:.2f}x | ≥ 1.8x |")
    print(f"| CPU-bound processes (2 workers) | {py['cpu processes']:.2f}x | {cpu['processes']:.2f}x | ≥ 1.6x |")
    print(f"| CPU-bound distributed (2 local workers) | — | {cpu['distributed']:.2f}x | |")
    print(f"| sleep-bound eventloop | {py['sleep eventloop']:.1f}x | {io['eventloop']:.1f}x | ≥ 60x |")
    print(f"| sleep-bound gil | {py['sleep gil']:.1f}x | {io['gil']:.1f}x | ≥ 40x |")
    print(f"| sleep-bound threads | — | {io['threads']:.1f}x | ≥ 40x |")
    print()
    base = next(r for r in empty if r["model"] == "sequential")
    per_base = base["wall_ns"] / args.empty_n / 1000
    print(f"Per-task cost of an empty task ({args.empty_n} tasks; sequential is the interpreter's own call cost)")
    print()
    print("| model | µs per task | overhead beyond sequential (µs) | target |")
    print("|---|---|---|---|")
    for r in empty:
        per = r["wall_ns"] / args.empty_n / 1000
        target = "" if r["model"] == "sequential" else "< 20 µs"
        print(f"| {r['model']} | {per:.2f} | {per - per_base:+.2f} | {target} |")
    print()
    print(f"Out-of-process models, one worker, {args.remote_n} empty tasks: per-task round trip = the gap between a task's end and the next one's start on the worker (p50 and p90), and start-up of 2 workers (spawn + replay of the notebook; median of {args.repeat})")
    print()
    print("| model | p50 µs | p90 µs | start-up of 2 workers (ms) | target |")
    print("|---|---|---|---|---|")
    targets = {"processes": "round trip < 200 µs; 2 workers ready < 100 ms", "distributed": "round trip < 1 ms p50"}
    for r in remote_empty:
        tasks = sorted(r["tasks"], key=lambda t: t["start_ns"])
        gaps = sorted(b["start_ns"] - a["end_ns"] for a, b in zip(tasks, tasks[1:]))
        p50 = gaps[len(gaps) // 2] / 1000
        p90 = gaps[len(gaps) * 9 // 10] / 1000
        print(f"| {r['model']} | {p50:.0f} | {p90:.0f} | {statistics.median(startups[r['model']]):.0f} | {targets[r['model']]} |")


if __name__ == "__main__":
    main()
