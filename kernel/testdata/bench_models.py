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
import subprocess
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


def worker_rss_mb(kind):
    """Resident memory (MB) of each running `atonce worker` of kind ("pipe" or "nats")."""
    out = subprocess.run(["ps", "-eo", "rss=,args="], capture_output=True, text=True).stdout
    sizes = []
    for line in out.splitlines():
        rss, _, args = line.strip().partition(" ")
        if f" worker -{kind}" in args:
            sizes.append(int(rss) / 1024)
    return sizes


def measure(fib_n=29, n=8, sleep_n=100, repeat=3, empty_n=2000, remote_n=500):
    """Every model's numbers through a real kernel, and CPython's on the same work."""
    km, kc = start_new_kernel(kernel_name="atonce", startup_timeout=60)
    res = {}
    try:
        run(kc, "func fib(n int) int {\n\tif n < 2 {\n\t\treturn n\n\t}\n\treturn fib(n-1) + fib(n-2)\n}")
        cpu = speedups(run(kc, f"%%models -n {n} -repeat {repeat} -no-trace -no-charts -models sequential,eventloop,gil,threads\nfunc CPU(i int) int {{ return fib({fib_n}) }}"))
        # The out-of-process models with 2 workers, beside a sequential run of their own.
        remote = speedups(run(kc, f"%models -n {n} -workers 2 -repeat {repeat} -no-trace -no-charts -models sequential,processes,distributed CPU"))
        cpu.update({k: v for k, v in remote.items() if k != "sequential"})
        res["cpu"] = cpu
        res["io"] = speedups(run(kc, f"%%models -n {sleep_n} -workers {sleep_n} -repeat {repeat} -no-trace -no-charts\nfunc IO(i int) {{ time.Sleep(20 * time.Millisecond) }}"))
        empty = run(kc, f"%%models -n {empty_n} -repeat {repeat} -no-trace -no-charts\nfunc Empty(i int) {{}}")
        res["per_task_us"] = {r["model"]: r["wall_ns"] / empty_n / 1000 for r in empty}
        # One worker each, so that the gap between one task's end and the
        # next one's start is the whole per-task round trip.
        remote_empty = run(kc, f"%models -n {remote_n} -workers 1 -repeat {repeat} -no-trace -no-charts -models processes,distributed Empty")
        res["round_trip_us"] = {}
        for r in remote_empty:
            tasks = sorted(r["tasks"], key=lambda t: t["start_ns"])
            gaps = sorted(b["start_ns"] - a["end_ns"] for a, b in zip(tasks, tasks[1:]))
            res["round_trip_us"][r["model"]] = (gaps[len(gaps) // 2] / 1000, gaps[len(gaps) * 9 // 10] / 1000)
        # Start-up: a fresh notebook state each time (the cell declares a new
        # variable), so the workers replay it.
        startups = {"processes": [], "distributed": []}
        for k in range(repeat):
            reps = run(kc, f"%%models -repeat 1 -n 2 -workers 2 -no-trace -no-charts -models processes,distributed\nvar startupProbe{k} = {k}\nfunc Probe{k}(i int) {{}}")
            for r in reps:
                startups[r["model"]].append(r["startup_ns"] / 1e6)
        res["startup_ms"] = {m: statistics.median(v) for m, v in startups.items()}
        # Memory: distributed workers stay between runs; processes workers
        # are sampled while a run sleeps.
        res["rss_mb"] = {"distributed": statistics.median(worker_rss_mb("nats") or [0])}
        msg_id = kc.execute("%%models -repeat 1 -n 2 -workers 2 -no-trace -no-charts -models processes\nfunc Nap(i int) { time.Sleep(1500 * time.Millisecond) }")
        samples = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not samples:
            time.sleep(0.3)
            samples = worker_rss_mb("pipe")
        time.sleep(0.5)
        samples = worker_rss_mb("pipe") or samples
        res["rss_mb"]["processes"] = statistics.median(samples or [0])
        while True:
            msg = kc.get_iopub_msg(timeout=60)
            if msg["parent_header"].get("msg_id") == msg_id and msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                break
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    res["cpython"] = cpython(n, fib_n, sleep_n)
    return res


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--fib", type=int, default=29)
    ap.add_argument("--n", type=int, default=8)
    ap.add_argument("--sleep-n", type=int, default=100)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--empty-n", type=int, default=2000)
    ap.add_argument("--remote-n", type=int, default=500)
    args = ap.parse_args()
    res = measure(args.fib, args.n, args.sleep_n, args.repeat, args.empty_n, args.remote_n)
    for row in rows(res, args):
        print("| " + " | ".join(row) + " |")


def rows(res, args):
    """The models' part of the benchmark table: measure, atonce, CPython, target."""
    cpu, io, py = res["cpu"], res["io"], res["cpython"]
    out = [
        (f"CPU-bound eventloop speedup (fib({args.fib}) x {args.n})", f"{cpu['eventloop']:.2f}x", f"{py['cpu eventloop']:.2f}x (asyncio)", "0.9–1.1x"),
        ("CPU-bound gil speedup", f"{cpu['gil']:.2f}x", f"{py['cpu gil']:.2f}x (threading)", "0.9–1.1x"),
        ("CPU-bound threads speedup (2 cores)", f"{cpu['threads']:.2f}x", "—", "≥ 1.8x"),
        ("CPU-bound processes speedup (2 workers)", f"{cpu['processes']:.2f}x", f"{py['cpu processes']:.2f}x (ProcessPoolExecutor)", "≥ 1.6x"),
        ("CPU-bound distributed speedup (2 local workers)", f"{cpu['distributed']:.2f}x", "—", ""),
        (f"sleep-bound eventloop speedup ({args.sleep_n} x 20 ms)", f"{io['eventloop']:.1f}x", f"{py['sleep eventloop']:.1f}x (asyncio)", "≥ 60x"),
        ("sleep-bound gil speedup (K = n)", f"{io['gil']:.1f}x", f"{py['sleep gil']:.1f}x (threading)", "≥ 40x"),
        ("sleep-bound threads speedup (K = n)", f"{io['threads']:.1f}x", "—", "≥ 40x"),
    ]
    seq = res["per_task_us"]["sequential"]
    out.append((f"empty task, sequential (the interpreter's call cost)", f"{seq:.2f} µs", "", ""))
    for m in ("eventloop", "gil", "threads"):
        out.append((f"empty task, {m}: overhead beyond sequential", f"{res['per_task_us'][m] - seq:+.2f} µs", "", "< 20 µs"))
    targets = {"processes": "< 200 µs", "distributed": "< 1 ms p50"}
    for m, (p50, p90) in res["round_trip_us"].items():
        out.append((f"{m}: per-task round trip, p50 (p90)", f"{p50:.0f} µs ({p90:.0f} µs)", "", targets[m]))
    out.append(("processes: 2 workers ready (spawn + replay)", f"{res['startup_ms']['processes']:.0f} ms", "", "< 100 ms"))
    out.append(("distributed: 2 workers ready (state fetch + replay)", f"{res['startup_ms']['distributed']:.0f} ms", "", ""))
    for m, mb in res["rss_mb"].items():
        out.append((f"{m}: memory per worker (RSS)", f"{mb:.0f} MB", "", ""))
    return out


if __name__ == "__main__":
    main()
