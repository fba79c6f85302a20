"""N seeded accounts onboarded through the HTTP starter, on devhost + sandbox.

Prints accounts per minute, end-to-end latency p50/p95 (start request -> Completed, from the
instances' created/last-updated times), and Salesforce and D2C API calls per account from the
sandbox's own counters (token requests included). The floor is 2 Salesforce calls per account:
one read of the Account with its Contacts (the starter's, handed to the saga) and one write-back.
The same onboardings run in BENCH_PAIRS (default 5) interleaved pairs, telemetry off and
exporting over OTLP/HTTP to a local receiver (scripts/otlp_sink.py); the overhead (goal < 10%)
is the median of the pairs', printed with its spread, for wall time and worker CPU.
Run: .venv/bin/python bench/onboarding.py [N] (default 1000). The last line is the result.
"""

from __future__ import annotations

import os
import resource
import statistics
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
from scripts.otlp_sink import receiver  # noqa: E402


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
    worker_cpu: float  # CPU seconds the worker processes used (user + system)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _measure(n: int, workers: int, telemetry: dict[str, str]) -> Result:
    cpu_before = _children_cpu()
    with tempfile.TemporaryDirectory() as tmp, sandbox.run(seed=int(n * 1.6) + 50) as sb:
        account_ids = _eligible(sb, n)
        data = Path(tmp)
        with run(ROOT, env=app_env(sb, data, **telemetry), workers=workers) as host:
            before = sb.stats()
            started = time.perf_counter()
            with ThreadPoolExecutor(16) as pool:
                responses = list(
                    pool.map(lambda a: host.post(f"/api/accounts/{a}/onboard"), account_ids)
                )
            instance_ids = [r.json()["id"] for r in responses]
            finals = [host.wait_for(i, timeout=600) for i in instance_ids]
            wall = time.perf_counter() - started
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
    )


def _spread(values: list[float]) -> str:
    return (
        f"median {statistics.median(values):+.1f}%, min {min(values):+.1f}%, "
        f"max {max(values):+.1f}% (each: {', '.join(f'{v:+.0f}' for v in values)})"
    )


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    workers = int(os.environ.get("BENCH_WORKERS", "1"))
    pairs = int(os.environ.get("BENCH_PAIRS", "5"))
    offs: list[Result] = []
    ons: list[Result] = []
    requests = 0

    def measure_on() -> Result:
        nonlocal requests
        with receiver(decode=False) as (endpoint, received):
            result = _measure(n, workers, {"OTEL_EXPORTER_OTLP_ENDPOINT": endpoint})
            requests += sum(received.requests.values())
        return result

    # The machine is shared and its load drifts: one pair of runs proves nothing either way.
    # Pairs run back to back, off first in odd pairs and on first in even ones, and the
    # overhead is the median of the pairs' overheads, printed with its spread.
    for pair in range(pairs):
        if pair % 2 == 0:
            offs.append(_measure(n, workers, {}))
            ons.append(measure_on())
        else:
            ons.append(measure_on())
            offs.append(_measure(n, workers, {}))
        print(
            f"pair {pair + 1}: off {offs[-1].wall:.1f} s, on {ons[-1].wall:.1f} s wall; "
            f"worker CPU off {offs[-1].worker_cpu / n * 1000:.1f}, "
            f"on {ons[-1].worker_cpu / n * 1000:.1f} ms/account",
            flush=True,
        )
    for label, results in (("telemetry off", offs), ("telemetry on (OTLP)", ons)):
        best = min(results, key=lambda r: r.wall)
        print(
            f"{label}: accounts {n}   outcomes {best.outcomes}   workers {workers}   "
            f"best p50 {best.p50:.2f} s   p95 {best.p95:.2f} s"
        )
    off = min(offs, key=lambda r: r.wall)
    print(f"OTLP export requests received: {requests}")
    print(f"Salesforce calls per account: {off.sf_calls:.2f} (floor 2: one read, one write-back)")
    print(f"D2C calls per account: {off.d2c_calls:.2f}")
    wall = [(b.wall / a.wall - 1) * 100 for a, b in zip(offs, ons, strict=True)]
    cpu = [(b.worker_cpu / a.worker_cpu - 1) * 100 for a, b in zip(offs, ons, strict=True)]
    print(f"telemetry overhead, wall time over {pairs} pairs: {_spread(wall)}")
    print(f"telemetry overhead, worker CPU over {pairs} pairs: {_spread(cpu)}")
    print(
        f"onboarding: {n / off.wall * 60:.0f} accounts/min, p50 {off.p50:.2f} s, "
        f"p95 {off.p95:.2f} s, {off.sf_calls:.2f} Salesforce + {off.d2c_calls:.2f} D2C "
        f"calls/account; telemetry overhead median {statistics.median(wall):+.1f}% wall, "
        f"{statistics.median(cpu):+.1f}% worker CPU over {pairs} pairs (goal < 10%)"
    )


if __name__ == "__main__":
    main()
