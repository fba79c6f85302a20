"""The profile API on devhost: reads/s and latency of `GET /api/profiles/{key}` over N
profiles, and the change feed's paging rate, with a real Entra ID token from the sandbox.

Writes N profiles into the SQLite store the app reads, then reads random profiles by Account
Id, D2C customer id and email from CONCURRENCY clients for a few seconds, and pages the whole
feed with limit=1000; on SQLite also an open-loop run at PACED_RATE reads/s. Every read by a
D2C id or e-mail is a lookup entry and the profile (two point reads on Cosmos DB).
Run: .venv/bin/python bench/profile_api.py [N] (default 10000) [--rate R] [--paced-seconds S]
[--sqlite-only] [--paced-only]: `--sqlite-only --paced-only` is the open-loop measurement alone
(p95 at R reads/s, default 1000, over S seconds, default 10, after a second of warm-up). The
app runs in its own devhost process (`spawn`), so the load generator here shares no
interpreter with it; the load average is printed before and after.
Then the same with the app on Cosmos DB: the `@vercel/cosmosdb-server` the contract suite uses,
through scripts/cosmosdb_server.js (a Node server on this machine: it shows the shape of the
cost, not Azure's latency or RU limits; the app's SDK does not verify TLS for localhost, so its
worker warns). Each store's result line prints as soon as it is measured.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sandbox  # noqa: E402
from crosswalk.profiles import SqliteProfileStore  # noqa: E402
from crosswalk.profiles.cosmos import CosmosProfileStore  # noqa: E402
from devhost.testing import spawn  # noqa: E402
from scripts.localstack import APP_DIR, app_env  # noqa: E402
from tests.cosmos import _node_server  # noqa: E402
from tests.storage.factories import profile  # noqa: E402

CONCURRENCY = 16
SECONDS = 5.0
COSMOS_PROFILES = 2000
PACED_RATE = 1000.0  # the target: p95 under 25 ms at this rate


def _fill(store: SqliteProfileStore, n: int) -> list[str]:
    keys = []
    for i in range(n):
        written = store.upsert(
            profile(
                i,
                d2c_customer_id=f"cus_Bench{i:08d}",
                primary_email=f"buyer{i}@bench{i}.example",
                email_domain=f"bench{i}.example",
            )
        )
        keys += [written.sf_account_id, f"cus_Bench{i:08d}", f"buyer{i}@bench{i}.example"]
    return keys


async def _reads(url: str, token: str, keys: list[str]) -> tuple[int, list[float]]:
    latencies: list[float] = []
    deadline = time.perf_counter() + SECONDS
    headers = {"Authorization": f"Bearer {token}"}
    rng = random.Random(7)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=CONCURRENCY)) as s:

        async def client() -> None:
            while time.perf_counter() < deadline:
                key = rng.choice(keys)
                started = time.perf_counter()
                async with s.get(f"{url}/api/profiles/{key}", headers=headers) as response:
                    await response.read()
                    assert response.status == 200, (key, response.status)
                latencies.append(time.perf_counter() - started)

        await asyncio.gather(*(client() for _ in range(CONCURRENCY)))
    return len(latencies), latencies


async def _paced(
    url: str, token: str, keys: list[str], rate: float, seconds: float
) -> tuple[list[float], float]:
    """Open loop: request i is due at start + i/rate whatever the answers do, and its latency
    counts from when it was due (so a stall is not hidden by clients waiting on it). The first
    second is warm-up (connections opened) and not counted. Returns the latencies and how late
    the generator itself sent its requests at p95 (a busy client shows up there, not as the
    server's latency)."""
    headers = {"Authorization": f"Bearer {token}"}
    rng = random.Random(11)
    latencies: list[float] = []
    sent_late: list[float] = []
    warmup = int(rate)
    connector = aiohttp.TCPConnector(limit=4 * CONCURRENCY)
    async with aiohttp.ClientSession(connector=connector) as s:

        async def one(n: int, key: str, due: float) -> None:
            late = time.perf_counter() - due
            async with s.get(f"{url}/api/profiles/{key}", headers=headers) as response:
                await response.read()
                assert response.status == 200, (key, response.status)
            if n >= warmup:
                latencies.append(time.perf_counter() - due)
                sent_late.append(late)

        start, tasks = time.perf_counter(), []
        for i in range(warmup + int(rate * seconds)):
            due = start + i / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(i, rng.choice(keys), due)))
        await asyncio.gather(*tasks)
    return latencies, statistics.quantiles(sent_late, n=100)[94]


async def _feed(url: str, token: str) -> tuple[int, float]:
    headers = {"Authorization": f"Bearer {token}"}
    seen, cursor, started = 0, "", time.perf_counter()
    async with aiohttp.ClientSession() as s:
        while True:
            query = "limit=1000" + (f"&cursor={cursor}" if cursor else "")
            async with s.get(f"{url}/api/profiles?{query}", headers=headers) as response:
                page = await response.json()
            seen += len(page["profiles"])
            cursor = page["cursor"]
            if not page["has_more"]:
                return seen, time.perf_counter() - started


def _measure(
    sb: sandbox.Sandbox, env: dict[str, str], store: Any, n: int, label: str, opts: Any
) -> str:
    started = time.perf_counter()
    keys = _fill(store, n)
    store.close()
    print(f"{label}: wrote {n} profiles in {time.perf_counter() - started:.1f} s", flush=True)
    paced_here = label == "sqlite"
    parts = [f"profile API, {label}, {n} profiles"]
    with spawn(APP_DIR, data_dir=Path(env["PROFILE_STORE_SQLITE_PATH"]).parent / "hub",
               env={**os.environ, **env}) as host:  # fmt: skip
        token = sb.entra.fetch_token()
        if not opts.paced_only:
            count, latencies = asyncio.run(_reads(host.url, token, keys))
            cuts = statistics.quantiles(latencies, n=100)
            parts.append(
                f"{CONCURRENCY} clients: {count / SECONDS:.0f} reads/s, p50 {cuts[49] * 1000:.1f}"
                f" ms, p95 {cuts[94] * 1000:.1f} ms"
            )
        if paced_here:
            before = os.getloadavg()[0]
            paced, late = asyncio.run(_paced(host.url, token, keys, opts.rate, opts.paced_seconds))
            at = statistics.quantiles(paced, n=100)
            parts.append(
                f"paced at {opts.rate:.0f} reads/s (open loop, {opts.paced_seconds:.0f} s):"
                f" p50 {at[49] * 1000:.1f} ms, p95 {at[94] * 1000:.1f} ms, p99"
                f" {at[98] * 1000:.1f} ms (generator sent p95 {late * 1000:.1f} ms late; load"
                f" average {before:.2f} before, {os.getloadavg()[0]:.2f} after)"
            )
        if not opts.paced_only:
            time.sleep(float(env.get("PROFILE_STORE_COSMOS_FEED_SETTLE_SECONDS", "0")))
            fed, feed_seconds = asyncio.run(_feed(host.url, token))
            assert fed == n, (fed, n)
            parts.append(f"feed {fed / feed_seconds:.0f} profiles/s (limit 1000)")
    return "; ".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("n", nargs="?", type=int, default=10_000, help="profiles (10000)")
    parser.add_argument("--rate", type=float, default=PACED_RATE, help="open-loop reads/s")
    parser.add_argument("--paced-seconds", type=float, default=10.0, help="open-loop seconds")
    parser.add_argument("--sqlite-only", action="store_true", help="skip the Cosmos DB run")
    parser.add_argument("--paced-only", action="store_true", help="only the open-loop run")
    opts = parser.parse_args()
    n = opts.n
    print(f"load average {os.getloadavg()[0]:.2f} at the start", flush=True)
    with tempfile.TemporaryDirectory() as tmp, sandbox.run(seed=0) as sb:
        data = Path(tmp)
        env = app_env(sb, data / "sqlite")
        store = SqliteProfileStore(Path(env["PROFILE_STORE_SQLITE_PATH"]))
        print(_measure(sb, env, store, n, "sqlite", opts), flush=True)
        if opts.sqlite_only:
            print(f"load average {os.getloadavg()[0]:.2f}")
            return
        # The same against the Cosmos DB API server the contract suite uses (our launcher).
        workspace = data / "cosmos"
        workspace.mkdir()
        with contextlib.contextmanager(_node_server)(workspace) as cosmos:
            env = app_env(
                sb,
                data / "cosmos-app",
                PROFILE_STORE_KIND="cosmos",
                PROFILE_STORE_COSMOS_ENDPOINT=cosmos.url,
                PROFILE_STORE_COSMOS_KEY=cosmos.key or "",
                PROFILE_STORE_COSMOS_FEED_SETTLE_SECONDS="1",
            )
            store = CosmosProfileStore(
                cosmos.url,
                cosmos.key,
                "crosswalk",
                "profiles",
                create_if_missing=True,
                feed_settle_seconds=0,
                **cosmos.client_options(),
            )
            # The stand-in answers the feed's query by scanning every document (profiles and
            # their lookup entries): 2,000 profiles keep its pages under the client timeout.
            count = min(n, COSMOS_PROFILES)
            print(_measure(sb, env, store, count, "cosmosdb-server", opts), flush=True)
    print(f"load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
