"""What landing events in the raw zone costs the sync, and how fast batches are written.

1. The receivers on devhost: N D2C `customer.updated` events (storefront edits of a sign-up
   field nothing is linked to yet, so each one is parsed, routed and ends at the receiver) and
   N Salesforce Contact change events (parsed, routed, nothing to start), posted one event
   per request from 8 threads as Event Grid would, once with `LAKE_RAW_ENABLED=false` and
   once with it on; prints events/s both ways. With it on, it then waits for the raw zone to
   hold all 2N events (each once) and says how long after the last post that took.
2. `RawZone.write` alone on the folder lake: events/s for batches of 500.

Run: .venv/bin/python bench/raw_zone.py [N] (default 1000). The last line is the result.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sandbox  # noqa: E402
from crosswalk.lake.folder import FolderLake  # noqa: E402
from crosswalk.lake.raw import RawEvent, RawZone, decode_lines  # noqa: E402
from devhost.testing import RunningHost, run  # noqa: E402
from scripts.localstack import app_env  # noqa: E402
from tests.e2e.sync import D2C_EVENTS, SF_EVENTS  # noqa: E402

HEADERS = {"Content-Type": "application/cloudevents+json", "aeg-event-type": "Notification"}


def _d2c_event(n: int) -> dict[str, Any]:
    now = datetime.now(UTC).isoformat()
    customer = {
        "id": f"cus_bench{n:08d}",
        "kind": "consumer",
        "name": f"Bench {n}",
        "status": "active",
        "version": 2,
        "created_at": now,
        "updated_at": now,
    }
    return {
        "specversion": "1.0",
        "id": f"evt_bench_{uuid.uuid4().hex}",
        "source": "/d2c/customers",
        "type": "customer.updated",
        "time": now,
        "data": {"customer": customer, "changed_fields": ["tags"], "origin": "storefront"},
    }


def _salesforce_event(n: int) -> dict[str, Any]:
    commit = int(time.time() * 1000)
    header = {
        "entityName": "Contact",
        "recordIds": [f"003{n:012d}AAA"],
        "changeType": "UPDATE",
        "changedFields": ["Title"],
        "commitTimestamp": commit,
        "changeOrigin": "com/salesforce/api/rest/59.0",
    }
    return {
        "specversion": "1.0",
        "id": str(uuid.uuid4()),
        "source": "/services/data/v59.0/sobjects/Contact",
        "type": "com.salesforce.cdc.ContactChangeEvent",
        "time": datetime.fromtimestamp(commit / 1000, UTC).isoformat(),
        "data": {"payload": {"ChangeEventHeader": header, "Title": "CTO"}},
    }


def _post_all(host: RunningHost, events: list[tuple[str, dict[str, Any]]]) -> float:
    def post(item: tuple[str, dict[str, Any]]) -> int:
        path, event = item
        return host.post(path, data=json.dumps(event), headers=HEADERS).status

    started = time.perf_counter()
    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(post, events))
    elapsed = time.perf_counter() - started
    bad = [s for s in statuses if not 200 <= s < 300]
    assert not bad, f"{len(bad)} deliveries failed: {bad[:5]}"
    return elapsed


def _events(n: int) -> list[tuple[str, dict[str, Any]]]:
    pairs: list[tuple[str, dict[str, Any]]] = []
    for i in range(n):
        pairs.append((D2C_EVENTS, _d2c_event(i)))
        pairs.append((SF_EVENTS, _salesforce_event(i)))
    return pairs


def _landed_ids(lake: FolderLake) -> list[str]:
    return [
        line["id"]
        for path in lake.list("raw/")
        for line in decode_lines(lake.get_bytes(path), path)
    ]


def receivers(n: int) -> tuple[float, float, float]:
    rates: dict[str, float] = {}
    drained = 0.0
    with tempfile.TemporaryDirectory() as tmp, sandbox.run(seed=5) as sb:
        for enabled in ("false", "true"):
            data = Path(tmp) / enabled
            env = app_env(sb, data, LAKE_RAW_ENABLED=enabled, LAKE_RAW_FLUSH_SECONDS="1")
            with run(ROOT, env=env) as host:
                events = _events(n)
                _post_all(host, _events(50))  # warm the worker up
                elapsed = _post_all(host, events)
                rates[enabled] = len(events) / elapsed
                if enabled == "true":
                    lake, wanted = FolderLake(data / "lake"), {e["id"] for _p, e in events}
                    after = time.perf_counter()
                    while not wanted <= set(ids := _landed_ids(lake)):
                        assert time.perf_counter() - after < 60, "the raw zone never caught up"
                        time.sleep(0.1)
                    drained = time.perf_counter() - after
                    assert len(ids) == len(set(ids)), "an event landed twice"
    return rates["false"], rates["true"], drained


def writes(n: int) -> float:
    base = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    events = [
        RawEvent(
            system="d2c",
            entity="customer",
            id=f"evt-{i}",
            type="customer.updated",
            time=base + timedelta(milliseconds=i),
            data=_d2c_event(i)["data"],
        )
        for i in range(n)
    ]
    with tempfile.TemporaryDirectory() as tmp:
        zone = RawZone(FolderLake(tmp))
        started = time.perf_counter()
        for start in range(0, n, 500):
            zone.write(events[start : start + 500])
        return n / (time.perf_counter() - started)


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    without, with_landing, drained = receivers(n)
    print(f"receivers, {2 * n} events: {without:.0f} events/s without the raw zone")
    print(f"receivers, {2 * n} events: {with_landing:.0f} events/s with the raw zone")
    print(f"raw zone held all {2 * n} events, each once, {drained:.1f} s after the last post")
    written = writes(50 * n)
    print(f"RawZone.write, folder, batches of 500: {written:.0f} events/s")
    change = (with_landing - without) / without * 100
    print(
        f"result: {without:.0f} events/s without landing, {with_landing:.0f} with"
        f" ({change:+.1f}%); raw zone writes {written:.0f} events/s"
    )


if __name__ == "__main__":
    main()
