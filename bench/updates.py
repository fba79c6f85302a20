"""Two-way updates after onboarding, on devhost + sandbox: N edits each way.

Onboards A accounts (default 200) through the HTTP starter, wires both event streams to the
app, then:
1. Salesforce -> D2C: N edits of a Salesforce-owned field (the account name), made as a person
   would in Salesforce, round-robin over the accounts (so each account gets N/A edits);
2. D2C -> Salesforce: N storefront edits of a D2C-owned field (the phone), likewise.
For each direction it prints the propagation latency p50/p95 (edit committed -> the value, or a
later edit of the same account, visible in the other system), and the Salesforce and D2C API
calls per update from the sandbox's own counters. Edits of one account that arrive while its
update runs are applied together (the record's update lease), so calls per update fall below
one per side when edits bunch up. Finally it checks that the counters stay flat for a quiet
period (no echo loop). Run: .venv/bin/python bench/updates.py [N] [A] [RATE] (defaults 1000,
200, and 0 = every edit at once; RATE edits/s paces them). The last line is the result.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sandbox  # noqa: E402
from devhost.testing import RunningHost, run  # noqa: E402
from scripts.localstack import app_env  # noqa: E402
from tests.e2e.conftest import QUIET_SCHEDULE, Stack  # noqa: E402
from tests.e2e.sync import (  # noqa: E402
    D2C_EVENTS,
    SF_EVENTS,
    list_instances,
    plain_accounts,
    running,
    settle,
)


def _calls(sb: sandbox.Sandbox) -> dict[str, int]:
    stats = sb.stats()
    return {"salesforce": int(stats["salesforce"]["total"]), "d2c": int(stats["d2c"]["total"])}


def _onboard(host: RunningHost, account_ids: list[str]) -> None:
    with ThreadPoolExecutor(16) as pool:
        responses = list(pool.map(lambda a: host.post(f"/api/accounts/{a}/onboard"), account_ids))
    for response in responses:
        status = host.wait_for(response.json()["id"], timeout=600)
        assert status["output"]["outcome"] == "synced", status


def _stamp(text: str) -> float:
    """Status timestamps may carry 7 fractional digits (.NET ticks); Python takes up to 6."""
    head, _, frac = text.rstrip("Z").partition(".")
    return datetime.fromisoformat(f"{head}.{(frac + '000000')[:6]}+00:00").timestamp()


def _runs(host: RunningHost, prefix: str, skip: set[str]) -> tuple[dict[str, int], list[float]]:
    """Outcome counts and run times (first -> last history event) of the update instances not
    in `skip`, which it extends."""
    counts: dict[str, int] = {}
    times: list[float] = []
    for item in list_instances(host, f"instanceIdPrefix={prefix}"):
        if item["instanceId"] in skip:
            continue
        skip.add(item["instanceId"])
        outcome = (item.get("output") or {}).get("outcome", item["runtimeStatus"])
        counts[outcome] = counts.get(outcome, 0) + 1
        history = host.status(item["instanceId"], show_history=True)["historyEvents"]
        times.append(_stamp(history[-1]["Timestamp"]) - _stamp(history[0]["Timestamp"]))
    return counts, sorted(times)


def _measure(
    sb: sandbox.Sandbox,
    stack: Stack,
    n: int,
    keys: list[str],
    edit: Callable[[str, str], None],
    visible: Callable[[], dict[str, Any]],
    value: Callable[[int, str], str],
    rate: float,
) -> dict[str, Any]:
    """Make n edits round-robin over `keys`; time each until its value (or a later one) shows."""
    order: dict[tuple[str, Any], int] = {}  # (key, value) -> edit number
    committed: dict[int, float] = {}
    seen: dict[int, float] = {}
    newest_seen: dict[str, int] = {}
    done = threading.Event()

    def watch() -> None:
        while not done.is_set() or len(seen) < len(committed):
            now = time.perf_counter()
            for key, current in visible().items():
                number = order.get((key, current))
                if number is not None and number > newest_seen.get(key, -1):
                    newest_seen[key] = number
            for number, started in list(committed.items()):
                key = keys[number % len(keys)]
                if number not in seen and newest_seen.get(key, -1) >= number:
                    seen[number] = max(now - started, 0.0)
            if done.is_set() and len(seen) == len(committed):
                return
            time.sleep(0.005)

    before = _calls(sb)
    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    started = time.perf_counter()
    for number in range(n):
        if rate > 0:  # paced: edit number i at i/rate seconds
            time.sleep(max(0.0, started + number / rate - time.perf_counter()))
        key = keys[number % len(keys)]
        text = value(number, key)
        order[(key, text)] = number
        edit(key, text)
        committed[number] = time.perf_counter()
    done.set()
    watcher.join(timeout=600)
    settle(stack)
    wall = time.perf_counter() - started
    after = _calls(sb)
    latencies = sorted(seen.values())
    return {
        "wall": wall,
        "propagated": len(seen),
        "p50": statistics.median(latencies),
        "p95": latencies[int(0.95 * (len(latencies) - 1))],
        "salesforce": (after["salesforce"] - before["salesforce"]) / n,
        "d2c": (after["d2c"] - before["d2c"]) / n,
    }


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    accounts = int(sys.argv[2]) if len(sys.argv) > 2 else 200
    rate = float(sys.argv[3]) if len(sys.argv) > 3 else 0.0
    with tempfile.TemporaryDirectory() as tmp, sandbox.run(seed=int(accounts * 1.6) + 50) as sb:
        ids = [a["Id"] for a in plain_accounts(Stack(sb=sb, host=None, data=None, env={}))]
        if len(ids) < accounts:
            raise SystemExit(f"the seed gave only {len(ids)} plain accounts for A={accounts}")
        ids = ids[:accounts]
        data = Path(tmp)
        env = app_env(sb, data, **QUIET_SCHEDULE)  # no reconciliation run in the quiet period
        with run(ROOT, env=env) as host:
            stack = Stack(sb=sb, host=host, data=data, env=env)
            sb.set_events_to(salesforce=f"{host.url}{SF_EVENTS}", d2c=f"{host.url}{D2C_EVENTS}")
            onboard_started = time.perf_counter()
            _onboard(host, ids)
            settle(stack)
            onboard_wall = time.perf_counter() - onboard_started
            customers = {c["external_ref"]: c["id"] for c in sb.d2c_customers()}

            def names() -> dict[str, Any]:
                return {c["external_ref"]: c["name"] for c in sb.d2c_customers()}

            def phones() -> dict[str, Any]:
                return {a: sb.salesforce_record("Account", a)["Phone"] for a in ids}

            to_d2c = _measure(
                sb,
                stack,
                n,
                ids,
                edit=lambda a, v: sb.salesforce_edit("Account", a, {"Name": v}),
                visible=names,
                value=lambda i, a: f"Bench {a[-6:]} #{i}",
                rate=rate,
            )
            seen_runs: set[str] = set()
            sf_outcomes, sf_times = _runs(host, "update-", seen_runs)
            to_sf = _measure(
                sb,
                stack,
                n,
                ids,
                edit=lambda a, v: sb.d2c_edit(customers[a], {"phone": v}),
                visible=phones,
                value=lambda i, a: f"+1 555 {i:07d}",
                rate=rate,
            )
            d2c_outcomes, d2c_times = _runs(host, "update-", seen_runs)

            quiet = sb.stats()
            host.advance(21600)  # six hours of virtual time: any timer that could fire, fires
            settle(stack)
            after = sb.stats()
            flat = (
                after["salesforce"]["calls"] == quiet["salesforce"]["calls"]
                and after["d2c"]["calls"] == quiet["d2c"]["calls"]
                and not running(stack)
            )
    pace = f"paced at {rate:g}/s" if rate > 0 else "all at once (a burst)"
    print(f"onboarded {accounts} accounts in {onboard_wall:.1f} s; {n} updates each way, {pace}")
    for label, result, outcomes, times in (
        ("Salesforce -> D2C (Account.Name)", to_d2c, sf_outcomes, sf_times),
        ("D2C -> Salesforce (phone)", to_sf, d2c_outcomes, d2c_times),
    ):
        print(f"{label}: {result['propagated']}/{n} propagated in {result['wall']:.1f} s")
        print(
            f"  propagation latency (edit -> visible on the other side): "
            f"p50 {result['p50']:.2f} s  p95 {result['p95']:.2f} s"
        )
        p95 = times[int(0.95 * (len(times) - 1))]
        print(
            f"  update runs {dict(sorted(outcomes.items()))}; run time (started -> "
            f"done) p50 {statistics.median(times):.3f} s  p95 {p95:.3f} s"
        )
        print(f"  calls per update: Salesforce {result['salesforce']:.2f}, D2C {result['d2c']:.2f}")
    print(f"quiet period after both (6 h virtual): counters flat = {flat}")
    print(
        f"updates: SF->D2C p50 {to_d2c['p50']:.2f} s p95 {to_d2c['p95']:.2f} s "
        f"{to_d2c['salesforce']:.2f} SF + {to_d2c['d2c']:.2f} D2C calls/update; "
        f"D2C->SF p50 {to_sf['p50']:.2f} s p95 {to_sf['p95']:.2f} s "
        f"{to_sf['salesforce']:.2f} SF + {to_sf['d2c']:.2f} D2C calls/update; no echo: {flat}"
    )


if __name__ == "__main__":
    main()
