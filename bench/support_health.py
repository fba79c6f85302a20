"""The support front page at scale: `GET /api/support/health` over N records, on devhost.

Gives N record_sync entities a state through the Durable HTTP API (a claim each: an onboarding
in flight, a tenth of them 30 hours old, so `stale`), then times the health view, which the
console's front page and the hourly digest both use: it pages through every entity, lists the
waiting approvals and reads the newest reconciliation report. Run:
.venv/bin/python bench/support_health.py [N] (default 10000). The last line is the result.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sandbox  # noqa: E402
from devhost.testing import run  # noqa: E402
from scripts.localstack import app_env  # noqa: E402
from tests.support.stack import KEY, READ, SupportStack  # noqa: E402

ENTITIES = "/runtime/webhooks/durabletask/entities/record_sync"
SENDERS = 32


async def _claim_all(url: str, n: int) -> None:
    now = datetime.now(UTC)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=SENDERS)) as session:
        queue: asyncio.Queue[int] = asyncio.Queue()
        for i in range(n):
            queue.put_nowait(i)

        async def sender() -> None:
            while not queue.empty():
                i = queue.get_nowait()
                at = now - timedelta(hours=30 if i % 10 == 0 else 1)
                body = {
                    "instance_id": f"onboard-001{i:012d}AAA-bench",
                    "modstamp": at.isoformat(),
                    "at": at.isoformat(),
                }
                path = f"{url}{ENTITIES}/001{i:012d}AAA?op=claim"
                # as the Python SDK's client sends it: the input JSON-encoded, then as JSON
                async with session.post(path, json=json.dumps(body)) as response:
                    assert response.status == 202, response.status

        await asyncio.gather(*(sender() for _ in range(SENDERS)))


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    support = {"SUPPORT_AUTH_MODE": "dev_token", "SUPPORT_DEV_TOKEN_KEY": KEY}
    with tempfile.TemporaryDirectory() as tmp, sandbox.run(seed=5) as sb:
        env = app_env(sb, Path(tmp), **support)
        with run(ROOT, env=env) as host:
            started = time.perf_counter()
            asyncio.run(_claim_all(host.url, n))
            headers = {"Authorization": f"Bearer {SupportStack.token(READ)}"}
            while True:  # until every signal has been applied
                health = host.get("/api/support/health", headers=headers).json()
                if health["records"].get("onboarding", 0) >= n:
                    break
                time.sleep(0.5)
            loaded = time.perf_counter() - started
            timings = []
            for _ in range(5):
                begin = time.perf_counter()
                health = host.get("/api/support/health", headers=headers).json()
                timings.append(time.perf_counter() - begin)
    records = health["records"]
    p50 = statistics.median(timings)
    print(f"{n} records given a state in {loaded:.1f} s; counted: {records}")
    print(f"GET /api/support/health: p50 {p50:.2f} s, max {max(timings):.2f} s over 5 reads")
    print(
        f"support_health: n={n} p50 {p50:.2f} s ({n / p50:,.0f} records/s), "
        f"stale={records.get('stale', 0)}"
    )


if __name__ == "__main__":
    main()
