"""N seeded accounts onboarded through the HTTP starter, on devhost + sandbox.

Prints accounts per minute, end-to-end latency p50/p95 (start request -> Completed, from the
instances' created/last-updated times), and Salesforce and D2C API calls per account from the
sandbox's own counters (token requests included). The floor is 2 Salesforce calls per account:
one read of the Account with its Contacts (the starter's, handed to the saga) and one write-back.
The same onboardings run in BENCH_PAIRS (default 5) interleaved pairs, telemetry off and
exporting over OTLP/HTTP to a local receiver (scripts/otlp_sink.py, in a process of its own, as
a collector is: in the bench's process it would take the GIL from the host it measures); the
overhead (goal < 10%) is the median of the pairs', printed with its spread, for wall time and
for the workers' CPU during the onboardings (read from /proc before the first start request
and after the last onboarding ends). What telemetry adds once, at the worker's start (importing
the SDK and its exporters), is printed apart, and so is the CPU with the start included, so
neither hides the other. Given more sizes (`bench/onboarding.py 300 600`), each pair runs each.
Run: .venv/bin/python bench/onboarding.py [N [N2]] (default 1000). The last line is the result.
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sandbox  # noqa: E402
from devhost.testing import run  # noqa: E402
from scripts.localstack import app_env, onboardable_accounts  # noqa: E402

_RECEIVER = """
import sys
from scripts.otlp_sink import receiver
with receiver(decode=False) as (endpoint, received):
    print(endpoint, flush=True)
    sys.stdin.read()
    print(sum(received.requests.values()), flush=True)
"""


def _eligible(sb: sandbox.Sandbox, n: int) -> list[str]:
    ids = [a["Id"] for a in onboardable_accounts(sb, needs_approval=False)]
    if len(ids) < n:
        raise SystemExit(f"the seed gave only {len(ids)} eligible accounts for N={n}")
    return ids[:n]


def _stamp(text: str) -> float:
    """History timestamps carry 7 fractional digits (.NET ticks); Python takes up to 6."""
    head, _, frac = text.rstrip("Z").partition(".")
    return datetime.fromisoformat(f"{head}.{(frac + '000000')[:6]}+00:00").timestamp()


def _calls(stats: dict, service: str) -> int:
    return int(stats[service]["total"])


@dataclass(frozen=True)
class Result:
    wall: float
    p50: float
    p95: float
    sf_calls: float
    d2c_calls: float
    outcomes: list[str]
    worker_cpu: float  # CPU seconds the worker processes used (user + system), start included
    onboarding_cpu: float  # the workers' CPU seconds from the first start request to the last end


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _live_worker_cpu() -> float:
    """CPU seconds the running devhost workers (this process's children) have used so far,
    from /proc: read before the first onboarding and after the last, it leaves out the
    worker's start (importing the app), which telemetry's per-onboarding cost is not."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        fields = stat.rpartition(")")[2].split()
        if int(fields[1]) == os.getpid() and b"devhost.worker" in command:
            total += (int(fields[11]) + int(fields[12])) / tick  # utime, stime
    return total


def _measure(n: int, workers: int, telemetry: dict[str, str]) -> Result:
    cpu_before = _children_cpu()
    with tempfile.TemporaryDirectory() as tmp, sandbox.run(seed=int(n * 1.6) + 50) as sb:
        account_ids = _eligible(sb, n)
        data = Path(tmp)
        with run(ROOT, env=app_env(sb, data, **telemetry), workers=workers) as host:
            before = sb.stats()
            started_cpu = _live_worker_cpu()
            started = time.perf_counter()
            with ThreadPoolExecutor(16) as pool:
                responses = list(
                    pool.map(lambda a: host.post(f"/api/accounts/{a}/onboard"), account_ids)
                )
            instance_ids = [r.json()["id"] for r in responses]
            finals = [host.wait_for(i, timeout=600) for i in instance_ids]
            wall = time.perf_counter() - started
            onboarding_cpu = _live_worker_cpu() - started_cpu
            after = sb.stats()
            histories = [host.status(i, show_history=True)["historyEvents"] for i in instance_ids]
    worker_cpu = _children_cpu() - cpu_before  # the workers have exited and been reaped
    latencies = sorted(_stamp(h[-1]["Timestamp"]) - _stamp(h[0]["Timestamp"]) for h in histories)
    return Result(
        wall=wall,
        p50=statistics.median(latencies),
        p95=latencies[int(0.95 * (len(latencies) - 1))],
        sf_calls=(_calls(after, "salesforce") - _calls(before, "salesforce")) / n,
        d2c_calls=(_calls(after, "d2c") - _calls(before, "d2c")) / n,
        outcomes=sorted({f["output"]["outcome"] for f in finals}),
        worker_cpu=worker_cpu,
        onboarding_cpu=onboarding_cpu,
    )


def _spread(values: list[float]) -> str:
    return (
        f"median {statistics.median(values):+.1f}%, min {min(values):+.1f}%, "
        f"max {max(values):+.1f}% (each: {', '.join(f'{v:+.0f}' for v in values)})"
    )


class _Receiver:
    """scripts/otlp_sink.py's receiver in a child process: (endpoint, requests counted at exit)."""

    def __enter__(self) -> str:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _RECEIVER],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        return self.proc.stdout.readline().strip()

    requests = 0

    def __exit__(self, *exc: object) -> None:
        out, _ = self.proc.communicate("", timeout=30)
        self.requests = int(out.strip() or 0)


def main() -> None:
    sizes = [int(a) for a in sys.argv[1:]] or [1000]
    workers = int(os.environ.get("BENCH_WORKERS", "1"))
    pairs = int(os.environ.get("BENCH_PAIRS", "5"))
    offs: dict[int, list[Result]] = {n: [] for n in sizes}
    ons: dict[int, list[Result]] = {n: [] for n in sizes}
    requests = 0

    def measure(n: int, on: bool) -> Result:
        nonlocal requests
        if not on:
            return _measure(n, workers, {})
        sink = _Receiver()
        with sink as endpoint:
            result = _measure(n, workers, {"OTEL_EXPORTER_OTLP_ENDPOINT": endpoint})
        requests += sink.requests
        return result

    # The machine is shared and its load drifts: one pair of runs proves nothing either way.
    # Pairs run back to back, off first in odd pairs and on first in even ones, and the
    # overhead is the median of the pairs' overheads, printed with its spread.
    for pair in range(pairs):
        for n in sizes:
            order = (False, True) if pair % 2 == 0 else (True, False)
            for on in order:
                (ons if on else offs)[n].append(measure(n, on))
            off, on_ = offs[n][-1], ons[n][-1]
            print(
                f"pair {pair + 1} N={n}: off {off.wall:.1f} s, on {on_.wall:.1f} s wall; "
                f"worker CPU during the onboardings off {off.onboarding_cpu / n * 1000:.1f}, "
                f"on {on_.onboarding_cpu / n * 1000:.1f} ms/account; at the worker's start "
                f"off {_start_cpu(off):.2f}, on {_start_cpu(on_):.2f} s; load {_load()}",
                flush=True,
            )
    n = sizes[0]
    for label, results in (("telemetry off", offs[n]), ("telemetry on (OTLP)", ons[n])):
        best = min(results, key=lambda r: r.wall)
        print(
            f"{label}: accounts {n}   outcomes {best.outcomes}   workers {workers}   "
            f"best p50 {best.p50:.2f} s   p95 {best.p95:.2f} s"
        )
    off = min(offs[n], key=lambda r: r.wall)
    print(f"OTLP export requests received: {requests}")
    print(f"Salesforce calls per account: {off.sf_calls:.2f} (floor 2: one read, one write-back)")
    print(f"D2C calls per account: {off.d2c_calls:.2f}")
    summary = []
    for size in sizes:
        pairs_of = list(zip(offs[size], ons[size], strict=True))
        wall = [(b.wall / a.wall - 1) * 100 for a, b in pairs_of]
        cpu = [(b.onboarding_cpu / a.onboarding_cpu - 1) * 100 for a, b in pairs_of]
        with_start = [(b.worker_cpu / a.worker_cpu - 1) * 100 for a, b in pairs_of]
        start = [_start_cpu(b) - _start_cpu(a) for a, b in pairs_of]
        print(f"N={size}: telemetry overhead, wall time over {pairs} pairs: {_spread(wall)}")
        print(
            f"N={size}: telemetry overhead, worker CPU during the onboardings over {pairs} "
            f"pairs: {_spread(cpu)}"
        )
        print(
            f"N={size}: telemetry overhead, worker CPU with the worker's start: "
            f"{_spread(with_start)}; the start itself: median "
            f"{statistics.median(start):+.2f} s (each: {', '.join(f'{v:+.2f}' for v in start)})"
        )
        summary.append(
            f"N={size} {statistics.median(wall):+.1f}% wall, "
            f"{statistics.median(cpu):+.1f}% worker CPU"
        )
    print(
        f"onboarding: {n / off.wall * 60:.0f} accounts/min, p50 {off.p50:.2f} s, "
        f"p95 {off.p95:.2f} s, {off.sf_calls:.2f} Salesforce + {off.d2c_calls:.2f} D2C "
        f"calls/account; telemetry overhead median over {pairs} pairs: {'; '.join(summary)} "
        f"(goal < 10%)"
    )


def _start_cpu(result: Result) -> float:
    """The worker's CPU seconds outside the onboardings: its start (importing the app)."""
    return result.worker_cpu - result.onboarding_cpu


def _load() -> str:
    return " ".join(f"{v:.1f}" for v in os.getloadavg())


if __name__ == "__main__":
    main()
