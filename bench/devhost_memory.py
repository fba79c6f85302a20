"""devhost's memory over a long load: HelloSequence5 x N, at most WINDOW instances in flight.

devhost runs as its own process (`devhost.testing.spawn`), so its memory is its own. For each
N it prints the resident memory (VmRSS) of devhost and of its worker as the load goes on, and
at the end the peak (VmHWM) of each; the last line is the ratio of the largest N's peaks to
the smallest's (goal: at most 1.2). Run:
.venv/bin/python bench/devhost_memory.py [N ...] (default 10000 100000).
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from devhost_processes import children, peak_kb, status_kb
from devhost_throughput import APP, EXPECTED  # the same HelloSequence5 app

from devhost.testing import spawn

WINDOW = 1_000  # a steady load: a batch of starts, then the batch waited for
REPORTS = 10  # memory lines per run


def _print_rss(done: int, pid: int) -> None:
    host_mb = status_kb(pid, "VmRSS") / 1024
    worker_mb = sum(status_kb(p, "VmRSS") for p in children(pid)) / 1024
    print(
        f"  {done:>7,} finished: devhost {host_mb:.0f} MB, worker {worker_mb:.0f} MB; "
        f"load {os.getloadavg()[0]:.1f}",
        flush=True,
    )


def one_run(n: int) -> tuple[float, float, float]:
    """(orchestrations/s, devhost peak MB, worker peak MB)."""
    with tempfile.TemporaryDirectory() as tmp:
        app = Path(tmp) / "app"
        app.mkdir()
        (app / "function_app.py").write_text(APP)
        with spawn(app, data_dir=Path(tmp) / "hub", workers=1) as host:
            assert host.pid is not None
            started, every = time.perf_counter(), max(WINDOW, n // REPORTS)
            with ThreadPoolExecutor(8) as pool:
                for first in range(0, n, WINDOW):
                    batch = min(WINDOW, n - first)
                    ids = list(pool.map(lambda _: host.start("hello_sequence5"), range(batch)))
                    for iid in ids:
                        assert host.wait_for(iid, timeout=300)["output"] == EXPECTED
                    done = first + batch
                    if done % every == 0 or done == n:
                        _print_rss(done, host.pid)
            rate = n / (time.perf_counter() - started)
            host_mb = peak_kb(host.pid) / 1024
            worker_mb = max((peak_kb(p) for p in children(host.pid)), default=0) / 1024
    return rate, host_mb, worker_mb


def main() -> None:
    sizes = [int(a) for a in sys.argv[1:]] or [10_000, 100_000]
    peaks: list[tuple[int, float, float]] = []
    for n in sizes:
        print(f"HelloSequence5 x {n:,} ({WINDOW:,} in flight at most):", flush=True)
        rate, host_mb, worker_mb = one_run(n)
        peaks.append((n, host_mb, worker_mb))
        print(
            f"N={n:,}: {rate:.0f} orchestrations/s; peak memory devhost {host_mb:.0f} MB, "
            f"worker {worker_mb:.0f} MB; load {os.getloadavg()[0]:.1f}",
            flush=True,
        )
    (small, host_s, worker_s), (large, host_l, worker_l) = peaks[0], peaks[-1]
    print(
        f"devhost_memory: peak at N={large:,} over N={small:,}: devhost "
        f"x{host_l / host_s:.2f}, worker x{worker_l / worker_s:.2f}, together "
        f"x{(host_l + worker_l) / (host_s + worker_s):.2f} (goal x1.2)"
    )


if __name__ == "__main__":
    main()
