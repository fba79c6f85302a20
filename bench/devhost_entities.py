"""Entity signals/s on devhost: N signals to one counter entity, and N spread over 100.

Signals go through the Durable HTTP API (`POST .../entities/counter/{key}?op=add`) from 32
concurrent aiohttp senders to a `python -m devhost` process (one worker, SQLite task hub);
the clock stops when every entity's state shows every signal. Printed beside Netherite's
published single-worker figure (900 / 1,400 / 1,900 signals/s on 1 / 2 / 4 cores,
shared/docs/perf-anchors.md, figure C). Run: .venv/bin/python bench/devhost_entities.py [N].
The last line is the one-line result.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
import uuid
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from devhost.testing import spawn

APP = """
import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.entity_trigger(context_name="context")
def counter(context: df.DurableEntityContext) -> None:
    value = context.get_state(lambda: 0) + context.get_input()
    context.set_state(value)
"""
API = "/runtime/webhooks/durabletask/entities/counter"
SENDERS = 32


async def _drive(url: str, n: int, keys: list[str]) -> tuple[float, float]:
    """Send n signals round-robin over keys; returns (send seconds, total seconds)."""
    connector = aiohttp.TCPConnector(limit=SENDERS)
    async with aiohttp.ClientSession(connector=connector) as session:
        queue: asyncio.Queue[str] = asyncio.Queue()
        for i in range(n):
            queue.put_nowait(keys[i % len(keys)])

        async def sender() -> None:
            while not queue.empty():
                key = queue.get_nowait()
                async with session.post(f"{url}{API}/{key}?op=add", json="1") as resp:
                    assert resp.status == 202, resp.status

        started = time.perf_counter()
        await asyncio.gather(*(sender() for _ in range(SENDERS)))
        sent = time.perf_counter() - started
        expected = {k: n // len(keys) + (1 if i < n % len(keys) else 0) for i, k in enumerate(keys)}
        for key, want in expected.items():
            while True:
                async with session.get(f"{url}{API}/{key}") as resp:
                    if resp.status == 200 and await resp.json() == want:
                        break
                await asyncio.sleep(0.005)
        return sent, time.perf_counter() - started


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
    with tempfile.TemporaryDirectory(prefix="devhost-bench-") as tmp:
        app = Path(tmp) / "app"
        app.mkdir()
        (app / "function_app.py").write_text(APP)
        (app / "host.json").write_text('{"version": "2.0"}')
        host = spawn(app, data_dir=Path(tmp) / "hub", workers=1)
        try:
            asyncio.run(_drive(host.url, 200, ["warmup"]))
            prefix = uuid.uuid4().hex[:6]
            one_sent, one_total = asyncio.run(_drive(host.url, n, [f"{prefix}-one"]))
            many = [f"{prefix}-{i}" for i in range(100)]
            many_sent, many_total = asyncio.run(_drive(host.url, n, many))
        finally:
            host.stop()
    one, hundred = n / one_total, n / many_total
    print(f"signals: {n} per run, {SENDERS} concurrent HTTP senders, 1 worker, SQLite (WAL)")
    print(f"1 entity:     {one:.0f} signals/s processed (HTTP intake {n / one_sent:.0f}/s)")
    print(f"100 entities: {hundred:.0f} signals/s processed (HTTP intake {n / many_sent:.0f}/s)")
    print("Netherite single worker (published): 900 / 1,400 / 1,900 signals/s on 1 / 2 / 4 cores")
    print(
        f"devhost entities: 1 entity {one:.0f} signals/s, 100 entities {hundred:.0f} signals/s "
        f"(Netherite 1 worker: 900-1,900 signals/s; ratio vs 2-core 1,400: {one / 1400:.2f}x)"
    )


if __name__ == "__main__":
    main()
