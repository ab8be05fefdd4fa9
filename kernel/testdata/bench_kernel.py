"""Kernel speed, measured with a real Jupyter client, against ipykernel in
the same run: a trivial cell's round trip (execute_request sent to idle
received) and start-up (kernel process started to first kernel_info_reply).

usage: bench_kernel.py [--runs N] [--starts M] [--kernels atonce,python3]
Prints a Markdown table. Medians; ratios against ipykernel.
"""
import argparse
import statistics
import time

from jupyter_client.manager import KernelManager


def start_time(name):
    km = KernelManager(kernel_name=name)
    t0 = time.perf_counter()
    km.start_kernel()
    kc = km.client()
    kc.start_channels()
    while True:
        msg_id = kc.kernel_info()
        try:
            while True:
                rep = kc.get_shell_msg(timeout=0.05)
                if rep["parent_header"].get("msg_id") == msg_id:
                    break
            break
        except Exception:
            continue
    took = time.perf_counter() - t0
    return took, km, kc


def wait_iopub(kc):
    """PUB/SUB drops what is published before the subscription lands:
    ask for kernel_info until its status reaches iopub."""
    for _ in range(100):
        msg_id = kc.kernel_info()
        try:
            while True:
                msg = kc.get_iopub_msg(timeout=0.2)
                if msg["parent_header"].get("msg_id") == msg_id:
                    return
        except Exception:
            continue
    raise RuntimeError("iopub never connected")


def round_trip(kc, code):
    t0 = time.perf_counter()
    msg_id = kc.execute(code, store_history=False)
    while True:
        msg = kc.get_iopub_msg(timeout=10)
        if (msg["parent_header"].get("msg_id") == msg_id and msg["msg_type"] == "status"
                and msg["content"]["execution_state"] == "idle"):
            break
    took = time.perf_counter() - t0
    kc.get_shell_msg(timeout=10)
    return took


def measure(runs=40, starts=10, kernels=("atonce", "python3")):
    """Round trip (ms) and start-up (s) medians per kernel."""
    trivial = {"atonce": "x := 1", "python3": "x = 1"}
    out = {}
    for name in kernels:
        times = []
        for _ in range(starts):
            took, km, kc = start_time(name)
            times.append(took)
            kc.stop_channels()
            km.shutdown_kernel(now=True)
        took, km, kc = start_time(name)
        wait_iopub(kc)
        while True:  # drop the replies wait_iopub left
            try:
                kc.get_shell_msg(timeout=0.2)
            except Exception:
                break
        for _ in range(5):  # warm up
            round_trip(kc, trivial.get(name, "1"))
        trips = [round_trip(kc, trivial.get(name, "1")) for _ in range(runs)]
        kc.stop_channels()
        km.shutdown_kernel(now=True)
        out[name] = {"round_trip_ms": statistics.median(trips) * 1000, "start_s": statistics.median(times)}
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=40)
    ap.add_argument("--starts", type=int, default=10)
    ap.add_argument("--kernels", default="atonce,python3")
    args = ap.parse_args()
    res = measure(args.runs, args.starts, args.kernels.split(","))
    base = res.get("python3")
    print(f"| kernel | trivial cell round trip, median of {args.runs} (ms) | start to first kernel_info_reply, median of {args.starts} (s) |")
    print("|---|---|---|")
    for name, r in res.items():
        ratio = ("", "")
        if base and name != "python3":
            ratio = f" ({r['round_trip_ms'] / base['round_trip_ms']:.2f}x ipykernel)", f" ({r['start_s'] / base['start_s']:.2f}x ipykernel)"
        print(f"| {name} | {r['round_trip_ms']:.2f}{ratio[0]} | {r['start_s']:.3f}{ratio[1]} |")


if __name__ == "__main__":
    main()
