"""A never-synced org's first sync (reconciliation since the epoch) on devhost + sandbox.

The org: N Accounts with 2 Contacts each (the sandbox seed: ~10% prospects that do not
qualify, ~10% above the approval threshold, which start onboardings that wait for a person).
devhost runs as its own process with 2 workers, so its memory is its own.

Prints per run:
- Salesforce API requests (sandbox counters, token included) against the Bulk API 2.0 floor:
  two query jobs (create, poll, one results set each, delete) + one ingest job per object written
  (create, upload, close, poll) + the token;
- D2C calls per account; accounts/s end to end (accounts whose D2C ids are in Salesforce at
  the end, over the run's wall time); dry-run records/s;
- peak memory (VmHWM) of devhost and of its workers;
- Durable actions per account, as the Durable Task Scheduler counts them: one per message it
  dispatches (an orchestration or sub-orchestration started, an activity started, a timer
  fired, an entity operation, and the processing of each activity, entity or sub-orchestration
  result), read from the task hub's history events; the activities of the reconciliation's
  earlier executions (their history is gone after `continue_as_new`) come from devhost's
  activity counter, two actions each.
- CPU per account of the sandbox (this process), devhost and its workers: the machine is
  shared, so wall time follows the CPU share the scheduler gives, CPU per account does not.
`--paths saga batch` loads each N once per onboarding path (RECONCILE_ONBOARD_IN_BATCHES off,
then on; `--rounds` repeats the pair) and prints the ratios of the pair, measured back to back.
The scan reads through Bulk API 2.0 query jobs above RECONCILE_BULK_SCAN_THRESHOLD (the first
REST page shows the size: one request over the floor); `--rest N` runs the same load with
Bulk switched off, for the REST request count beside it.
Run: .venv/bin/python bench/initial_load.py [--load N] [--dry N ...] [--paths P ...] [--rest N]
(default --load 20000 --dry 10000 20000 --paths batch).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sqlite3
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sandbox  # noqa: E402
from bench.devhost_processes import children, cpu_seconds, peak_kb  # noqa: E402
from devhost.testing import spawn  # noqa: E402
from scripts.localstack import app_env  # noqa: E402

# DTS actions: scheduling messages and the result messages an orchestrator processes
ACTION_EVENTS = {0, 4, 5, 6, 8, 9, 11, 14, 15}  # ExecutionStarted, Task*, SubOrch results,
# TimerFired, EventSent (entity operation), EventRaised (entity result / external event)
GOAL = 40  # accounts/s end to end on 2 cores (issue 25)
RESULTS_PAGE = 50_000  # Bulk API 2.0 results set (simple-salesforce's maxRecords)


def _actions(hub: Path) -> tuple[int, dict[int, int]]:
    db = sqlite3.connect(hub / "taskhub.sqlite3")
    by_type: dict[int, int] = {}
    for (events,) in db.execute("SELECT events FROM history"):
        for event in json.loads(events):
            kind = int(event.get("EventType", -1))
            by_type[kind] = by_type.get(kind, 0) + 1
    db.close()
    return sum(n for k, n in by_type.items() if k in ACTION_EVENTS), by_type


def bulk_floor(accounts: int, contacts: int, objects_written: int) -> int:
    query = sum(3 + math.ceil(max(rows, 1) / RESULTS_PAGE) for rows in (accounts, contacts))
    return query + 4 * objects_written + 1


REST_ONLY = {
    "RECONCILE_BULK_SCAN_THRESHOLD": "1000000000",
    "RECONCILE_BULK_THRESHOLD": "1000000000",
}


def one_run(n: int, dry: bool, path: str = "batch", rest: bool = False) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp, sandbox.run(seed=n, seed_contacts=2) as sb:
        sb.set_events_to(salesforce="")  # the load's own echoes are not what is measured
        data, hub = Path(tmp) / "data", Path(tmp) / "hub"
        data.mkdir()
        batches = "true" if path == "batch" else "false"
        overrides = {**(REST_ONLY if rest else {}), "RECONCILE_ONBOARD_IN_BATCHES": batches}
        env = {**os.environ, **app_env(sb, data, RECONCILE_SCHEDULE="0 0 0 29 2 *", **overrides)}
        with spawn(ROOT, data_dir=hub, env=env, workers=2) as host:
            before_sf, before_d2c = sb.stats()["salesforce"]["total"], sb.stats()["d2c"]["total"]
            assert host.pid is not None
            workers = children(host.pid)
            cpu_before = {p: cpu_seconds(p) for p in [host.pid, *workers]}
            own_before = time.process_time()
            started = time.perf_counter()
            answer = host.post("/api/reconciliations", json={"dryRun": dry})
            run_id = answer.json()["runId"]
            status = host.wait_for(run_id, timeout=7200)
            wall = time.perf_counter() - started
            assert status["runtimeStatus"] == "Completed", status
            report = host.get(f"/api/reconciliations/{run_id}").json()
            own_cpu = time.process_time() - own_before  # the sandbox's threads, and the polling
            cpu = {p: cpu_seconds(p) - cpu_before.get(p, 0.0) for p in [host.pid, *workers]}
            host_kb = peak_kb(host.pid)
            worker_kb = max((peak_kb(p) for p in children(host.pid)), default=0)
            ran = int(host.get("/admin/devhost/stats").json()["activities"])
            after = sb.stats()
        actions, by_type = _actions(hub)
        actions += 2 * max(0, ran - by_type.get(4, 0))  # activities of replaced histories
        linked = sum(1 for a in sb.salesforce_records("Account") if a["D2C_Customer_Id__c"])
    sf = int(after["salesforce"]["total"]) - int(before_sf)
    written_types = 0 if dry else 2
    return {
        "n": n,
        "dry": dry,
        "wall": wall,
        "rate": n / wall,
        "linked": linked,
        "accounts_per_s": linked / wall,
        "sf": sf,
        "floor": bulk_floor(n, 2 * n, written_types),
        "d2c_per_account": (int(after["d2c"]["total"]) - int(before_d2c)) / n,
        "host_mb": host_kb / 1024,
        "worker_mb": worker_kb / 1024,
        "actions": actions,
        "cpu_ms": {
            "sandbox": 1000 * own_cpu / n,
            "devhost": 1000 * cpu[host.pid] / n,
            "workers": 1000 * sum(v for p, v in cpu.items() if p != host.pid) / n,
        },
        "actions_per_account": actions / n,
        "missing": report["counts"].get("missing_in_d2c", 0),
        "failed": report["failed"],
        "status": report["status"],
    }


def _load(n: int, path: str) -> dict[str, Any]:
    load_before = os.getloadavg()[0]
    r = one_run(n, dry=False, path=path)
    over = (r["sf"] / r["floor"] - 1) * 100
    print(
        f"load N={n:,} ({path}): {r['status']}, {r['linked']:,} of {r['missing']:,} missing "
        f"accounts linked in {r['wall']:.1f} s = {r['accounts_per_s']:.1f} accounts/s "
        f"(x{r['accounts_per_s'] / GOAL:.2f} of the {GOAL}/s goal; failed {r['failed']})"
    )
    print(
        f"  Salesforce requests {r['sf']} vs Bulk floor {r['floor']} ({over:+.0f}%); D2C "
        f"calls {r['d2c_per_account']:.2f}/account; Durable actions "
        f"{r['actions_per_account']:.1f}/account ({r['actions']:,}); peak memory devhost "
        f"{r['host_mb']:.0f} MB, worker {r['worker_mb']:.0f} MB; load "
        f"{load_before:.2f} before, {os.getloadavg()[0]:.2f} after"
    )
    cpu = r["cpu_ms"]
    print(
        f"  CPU per account: sandbox {cpu['sandbox']:.1f} ms, devhost {cpu['devhost']:.1f} "
        f"ms, its workers {cpu['workers']:.1f} ms; total {sum(cpu.values()):.1f} ms = "
        f"{1000 / max(sum(cpu.values()), 1e-9):.0f} accounts per CPU-second (2 cores at "
        f"{GOAL}/s allow {2000 / GOAL:.0f} ms)",
        flush=True,
    )
    return r


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--load", type=int, nargs="*", default=[20_000])
    parser.add_argument("--paths", nargs="*", choices=["saga", "batch"], default=["batch"])
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--dry", type=int, nargs="*", default=[10_000, 20_000])
    parser.add_argument("--rest", type=int, nargs="*", default=[], help="the same load over REST")
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    for n in args.dry:
        r = one_run(n, dry=True)
        print(
            f"dry run N={n:,}: {r['wall']:.1f} s, {r['rate']:,.0f} records/s; Salesforce "
            f"requests {r['sf']} (Bulk floor {r['floor']}); peak memory devhost "
            f"{r['host_mb']:.0f} MB, worker {r['worker_mb']:.0f} MB; Durable actions "
            f"{r['actions_per_account']:.2f}/account; load {os.getloadavg()[0]:.2f}"
        )
    for n in args.load:
        for _ in range(args.rounds):
            pair = {path: _load(n, path) for path in args.paths}
            if len(pair) == 2:
                old, new = pair.values()
                cpu_old, cpu_new = sum(old["cpu_ms"].values()), sum(new["cpu_ms"].values())
                speed = new["accounts_per_s"] / old["accounts_per_s"]
                print(
                    f"  {' -> '.join(pair)}: accounts/s x{speed:.2f}, "
                    f"CPU per account x{cpu_new / cpu_old:.2f}, Durable actions per account "
                    f"x{new['actions_per_account'] / old['actions_per_account']:.2f}; load "
                    f"{os.getloadavg()[0]:.2f}"
                )
    for n in args.rest:
        r = one_run(n, dry=False, rest=True)
        print(
            f"load N={n:,} over REST only (query pages, sObject Collections): {r['status']}, "
            f"{r['linked']:,} linked in {r['wall']:.1f} s; Salesforce requests {r['sf']} "
            f"({r['sf'] / r['floor']:.1f}x the Bulk floor {r['floor']}); load "
            f"{os.getloadavg()[0]:.2f}"
        )
    print("initial_load: done")


if __name__ == "__main__":
    main()
