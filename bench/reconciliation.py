"""Reconciliation over 10,000 and 50,000 seeded accounts with 5% drift, on devhost + sandbox.

The org is first made "already in sync" (tests/e2e/drift.py: D2C customers, Salesforce D2C
ids, profiles), then 5% of the qualifying accounts drift: 40% missing in D2C, 40% stale
(half a Salesforce-owned field edited on the storefront, half an Account edit in Salesforce),
20% orphans (half deleted, half no longer a customer Type). One run repairs them.

Prints per size: wall time, records/s, Salesforce API calls used (sandbox counters, token
requests included) beside the physical floor: the query pages the Accounts need with their
Contacts counted toward each page's 2,000 rows (Salesforce's batch size counts child rows, so
a seeded org's ~2.5 Contacts an Account make pages of ~570 Accounts, not 2,000) +
ceil(writes/200) collection calls, and D2C calls per record. Goal: within 10% of the floor.
Also the repair concurrency the host really achieved (from the repair chunks' histories:
each repair's scheduled -> finished interval), beside RECONCILE_FANOUT: the peak and the
time-weighted mean of repairs in flight while any was.
Run: .venv/bin/python bench/reconciliation.py [N ...] (default 10000 50000).
"""

from __future__ import annotations

import math
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sandbox  # noqa: E402
from crosswalk.profiles import SqliteProfileStore  # noqa: E402
from devhost.history import parse_iso  # noqa: E402
from devhost.testing import run  # noqa: E402
from scripts.localstack import app_env  # noqa: E402
from tests.e2e.drift import in_sync, read_org, scan_floor  # noqa: E402

DRIFT = 0.05
FANOUT = 50  # RECONCILE_FANOUT for the run (the setting's default)
_DONE = {
    "TaskCompleted",
    "TaskFailed",
    "SubOrchestrationInstanceCompleted",
    "SubOrchestrationInstanceFailed",
}


def concurrency(host, run_id: str) -> tuple[int, float]:
    """(peak, time-weighted mean) repairs in flight, read from the chunks' histories.

    A repair is an activity or sub-orchestration a `reconcile_repairs` chunk scheduled; the
    host's history conversion puts its ScheduledTime on the completion event.
    """
    api = "/runtime/webhooks/durabletask/instances"
    chunks = host.get(f"{api}?instanceIdPrefix={run_id}:p&top=1000").json()
    edges: list[tuple[float, int]] = []
    for chunk in chunks:
        status = host.get(f"{api}/{chunk['instanceId']}?showHistory=true").json()
        for ev in status.get("historyEvents") or []:
            if ev["EventType"] in _DONE and ev.get("ScheduledTime"):
                edges.append((parse_iso(ev["ScheduledTime"]), 1))
                edges.append((parse_iso(ev["Timestamp"]), -1))
    edges.sort()
    peak = level = 0
    busy = area = 0.0
    last = edges[0][0] if edges else 0.0
    for at, step in edges:
        if level:
            busy += at - last
            area += level * (at - last)
        level += step
        peak = max(peak, level)
        last = at
    return peak, (area / busy if busy else 0.0)


def _sf_calls(stats: dict) -> dict[str, int]:
    calls = stats["salesforce"]["calls"]
    return {
        "total": int(stats["salesforce"]["total"]),
        "query": sum(v for k, v in calls.items() if "/query" in k),
        "writes": sum(v for k, v in calls.items() if k.startswith("PATCH") and "composite" in k),
    }


def bench(n: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp, sandbox.run(seed=n) as sb:
        data = Path(tmp)
        org = read_org(sb)
        qualifying = org.plain + org.other_qualifying
        drifted = int(len(qualifying) * DRIFT)
        missing = org.plain[: int(drifted * 0.4)]
        synced = [a for a in qualifying if a not in set(missing)]
        in_sync(sb, SqliteProfileStore(data / "profiles.sqlite3"), org, synced)
        customers = {c["external_ref"]: c for c in sb.d2c_customers()}
        stale = synced[: int(drifted * 0.4)]
        orphans = synced[len(stale) : len(stale) + int(drifted * 0.2)]
        for i, account_id in enumerate(stale):
            if i % 2:
                sb.d2c_edit(customers[account_id]["id"], {"industry": "Drifted"})
            else:
                sb.salesforce_edit("Account", account_id, {"Industry": "Shipbuilding"})
        for i, account_id in enumerate(orphans):
            if i % 2:
                sb.salesforce_delete("Account", account_id)
            else:
                sb.salesforce_edit("Account", account_id, {"Type": "Prospect"})
        floor_query = scan_floor(sb)
        env = app_env(sb, data, RECONCILE_SCHEDULE="0 0 0 29 2 *", RECONCILE_FANOUT=str(FANOUT))
        with run(ROOT, env=env) as host:
            before_sf, before_d2c = _sf_calls(sb.stats()), int(sb.stats()["d2c"]["total"])
            started = time.perf_counter()
            answer = host.post("/api/reconciliations")
            run_id = answer.json()["runId"]
            status = host.wait_for(run_id, timeout=3600)
            wall = time.perf_counter() - started
            assert status["runtimeStatus"] == "Completed", status
            report = host.get(f"/api/reconciliations/{run_id}").json()
            after = sb.stats()
            peak, mean = concurrency(host, run_id)
    sf = {k: v - before_sf[k] for k, v in _sf_calls(after).items()}
    d2c = int(after["d2c"]["total"]) - before_d2c
    writes = report["salesforce_writes"]
    floor_writes = math.ceil(writes / 200)
    return {
        "n": n,
        "drifted": len(missing) + len(stale) + len(orphans),
        "repaired": report["repaired"],
        "failed": report["failed"],
        "wall": wall,
        "rate": n / wall,
        "sf_total": sf["total"],
        "sf_query": sf["query"],
        "sf_writes": sf["writes"],
        "sf_other": sf["total"] - sf["query"] - sf["writes"],
        "records_written": writes,
        "floor_query": floor_query,
        "floor_writes": floor_writes,
        "floor": floor_query + floor_writes,
        "d2c_per_record": d2c / n,
        "d2c_total": d2c,
        "peak": peak,
        "mean": mean,
    }


def main() -> None:
    sizes = [int(a) for a in sys.argv[1:]] or [10_000, 50_000]
    for n in sizes:
        r = bench(n)
        over = (r["sf_total"] / r["floor"] - 1) * 100
        print(
            f"N={r['n']:,}: drifted {r['drifted']}, repaired {r['repaired']}, failed "
            f"{r['failed']}; wall {r['wall']:.1f} s, {r['rate']:,.0f} records/s"
        )
        print(
            f"  Salesforce calls {r['sf_total']} (query {r['sf_query']}, collections "
            f"{r['sf_writes']}, other {r['sf_other']}) | floor {r['floor']} (query "
            f"{r['floor_query']} + collections {r['floor_writes']} for "
            f"{r['records_written']} records) | {over:+.0f}% vs floor"
        )
        print(f"  D2C calls {r['d2c_total']} = {r['d2c_per_record']:.4f} per record")
        print(
            f"  repairs in flight: peak {r['peak']}, mean {r['mean']:.1f} while busy "
            f"(RECONCILE_FANOUT={FANOUT})"
        )
    print(
        "reconciliation: "
        + "; ".join(f"N={n:,} see above" for n in sizes)
        + " (Salesforce calls vs floor: query pages with child rows counted + ceil(writes/200))"
    )


if __name__ == "__main__":
    main()
