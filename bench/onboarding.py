"""N seeded accounts onboarded through the HTTP starter, on devhost + sandbox.

Prints accounts per minute, end-to-end latency p50/p95 (start request -> Completed, from the
instances' created/last-updated times), and Salesforce and D2C API calls per account from the
sandbox's own counters (token requests included). Goal: <= 3 Salesforce calls per account.
Run: .venv/bin/python bench/onboarding.py [N] (default 1000). The last line is the result.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sandbox  # noqa: E402
from devhost.testing import run  # noqa: E402
from scripts.localstack import app_env, onboardable_accounts  # noqa: E402


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


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    workers = int(os.environ.get("BENCH_WORKERS", "1"))
    with tempfile.TemporaryDirectory() as tmp, sandbox.run(seed=int(n * 1.6) + 50) as sb:
        account_ids = _eligible(sb, n)
        data = Path(tmp)
        with run(ROOT, env=app_env(sb, data), workers=workers) as host:
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
    outcomes = {f["output"]["outcome"] for f in finals}
    latencies = sorted(_stamp(h[-1]["Timestamp"]) - _stamp(h[0]["Timestamp"]) for h in histories)
    sf_calls = (_calls(after, "salesforce") - _calls(before, "salesforce")) / n
    d2c_calls = (_calls(after, "d2c") - _calls(before, "d2c")) / n
    p50 = statistics.median(latencies)
    p95 = latencies[int(0.95 * (len(latencies) - 1))]
    print(f"accounts: {n}   outcomes: {sorted(outcomes)}   wall: {wall:.1f} s   workers: {workers}")
    print(f"end-to-end latency (ExecutionStarted -> completed): p50 {p50:.2f} s   p95 {p95:.2f} s")
    print(f"Salesforce calls per account: {sf_calls:.2f} (goal <= 3)")
    print(f"D2C calls per account: {d2c_calls:.2f}")
    print(
        f"onboarding: {n / wall * 60:.0f} accounts/min, p50 {p50:.2f} s, p95 {p95:.2f} s, "
        f"{sf_calls:.2f} Salesforce + {d2c_calls:.2f} D2C calls/account"
    )


if __name__ == "__main__":
    main()
