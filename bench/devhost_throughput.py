"""HelloSequence5 x N on devhost (SQLite, durable) and on durabletask's in-memory backend.

Prints, for each of PAIRS turns (devhost, then the peer), orchestrations/s for both, the
ratio, devhost's activity dispatch latency (queued -> handed to a worker) p50/p99, where
devhost's time goes, and the CPU time each side spent per orchestration (devhost: this
process, which holds the host and the HTTP client, plus its workers; the peer: this process,
which holds its backend, worker and client), a figure a crowded machine moves far less than
throughput; the last lines are the median ratios with their spread. Run:
.venv/bin/python bench/devhost_throughput.py [N] [PAIRS].
"""

from __future__ import annotations

import logging
import os
import socket
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from devhost.testing import run

sys.path.insert(0, str(Path(__file__).resolve().parent))
from devhost_processes import children, cpu_seconds

APP = """
import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.orchestration_trigger(context_name="context")
def hello_sequence5(context):
    out = []
    for city in ("Tokyo", "Seattle", "London", "Paris", "Cairo"):
        out.append((yield context.call_activity("say_hello", city)))
    return out


@app.activity_trigger(input_name="city")
def say_hello(city: str) -> str:
    return f"Hello {city}"
"""
WORKERS = int(os.environ.get("DEVHOST_BENCH_WORKERS", "1"))
EXPECTED = [f"Hello {c}" for c in ("Tokyo", "Seattle", "London", "Paris", "Cairo")]


def _cpu_now() -> float:
    """CPU seconds of this process and of its children that are still running."""
    return time.process_time() + sum(cpu_seconds(p) for p in children(os.getpid()))


def bench_devhost(n: int) -> tuple[float, float, dict]:
    """(orchestrations/s, CPU seconds per orchestration, host counters)."""
    with tempfile.TemporaryDirectory() as app_dir:
        (Path(app_dir) / "function_app.py").write_text(APP)
        with run(app_dir, workers=WORKERS) as host:
            host.wait_for(host.start("hello_sequence5"))  # warm up the workers
            cpu = _cpu_now()
            t0 = time.perf_counter()
            with ThreadPoolExecutor(8) as pool:
                ids = list(pool.map(lambda _: host.start("hello_sequence5"), range(n)))
            for iid in ids:
                status = host.wait_for(iid, timeout=300)
                assert status["output"] == EXPECTED, status
            elapsed = time.perf_counter() - t0
            cpu = _cpu_now() - cpu
            stats = host.get("/admin/devhost/stats").json()
    return n / elapsed, cpu / n, stats


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def bench_durabletask(n: int) -> tuple[float, float]:
    """(orchestrations/s, CPU seconds per orchestration)."""
    from durabletask import client, task, worker
    from durabletask.testing import create_test_backend

    def say_hello(ctx: task.ActivityContext, city: str) -> str:
        return f"Hello {city}"

    def hello_sequence5(ctx: task.OrchestrationContext, _: object):
        out = []
        for city in ("Tokyo", "Seattle", "London", "Paris", "Cairo"):
            out.append((yield ctx.call_activity(say_hello, input=city)))
        return out

    port = _free_port()
    backend = create_test_backend(port=port)
    address = f"localhost:{port}"
    w = worker.TaskHubGrpcWorker(host_address=address)
    w.add_orchestrator(hello_sequence5)
    w.add_activity(say_hello)
    w.start()
    c = client.TaskHubGrpcClient(host_address=address)
    try:
        first = c.schedule_new_orchestration(hello_sequence5)
        c.wait_for_orchestration_completion(first, timeout=60)
        cpu = time.process_time()
        t0 = time.perf_counter()
        with ThreadPoolExecutor(8) as pool:
            ids = list(pool.map(lambda _: c.schedule_new_orchestration(hello_sequence5), range(n)))
        for iid in ids:
            state = c.wait_for_orchestration_completion(iid, timeout=300)
            assert state is not None and state.serialized_output is not None
        return n / (time.perf_counter() - t0), (time.process_time() - cpu) / n
    finally:
        w.stop()
        backend.stop()


def main() -> None:
    logging.disable(logging.INFO)
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    pairs = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    # The machine is shared: a run of one side can meet a load spike the other missed, so the
    # two run in turns and the ratio is the median of the pairs, with its spread.
    ratios: list[float] = []
    cpu_ratios: list[float] = []
    for round_ in range(1, pairs + 1):
        dh_rate, dh_cpu, stats = bench_devhost(n)
        dt_rate, dt_cpu = bench_durabletask(n)
        ratios.append(dh_rate / dt_rate)
        cpu_ratios.append(dt_cpu / dh_cpu)
        latencies = sorted(stats["dispatch_latency"])
        p50 = statistics.median(latencies) * 1000
        p99 = latencies[int(len(latencies) * 0.99) - 1] * 1000
        print(
            f"pair {round_}: devhost {dh_rate:.0f} orchestrations/s ({stats['episodes']} "
            f"episodes, {stats['activities']} activities; dispatch p50 {p50:.2f} ms, "
            f"p99 {p99:.2f} ms), durabletask in-memory {dt_rate:.0f} orchestrations/s, "
            f"ratio {ratios[-1]:.2f}x"
        )
        print(
            f"  devhost time (summed over concurrent work): replay in workers "
            f"{stats['replay_seconds']:.2f}s, activities in workers "
            f"{stats['activity_seconds']:.2f}s, host commit+simulation "
            f"{stats['commit_seconds']:.2f}s in {stats['groups']} group commits "
            f"({(stats['episodes'] + stats['activities']) / max(stats['groups'], 1):.1f} "
            "episodes and activity results each)"
        )
        print(
            f"  CPU per orchestration: devhost {dh_cpu * 1000:.2f} ms, durabletask "
            f"{dt_cpu * 1000:.2f} ms ({cpu_ratios[-1]:.2f}x less for devhost); load "
            f"{os.getloadavg()[0]:.1f}"
        )
    median = statistics.median(ratios)
    print(
        f"devhost_throughput CPU per orchestration, peer over devhost: median "
        f"{statistics.median(cpu_ratios):.2f}x min={min(cpu_ratios):.2f}x "
        f"max={max(cpu_ratios):.2f}x"
    )
    print(
        f"devhost_throughput n={n} pairs={pairs} ratio median={median:.2f}x "
        f"min={min(ratios):.2f}x max={max(ratios):.2f}x "
        f"(each: {', '.join(f'{r:.2f}' for r in ratios)})"
    )


if __name__ == "__main__":
    main()
