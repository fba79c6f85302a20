"""kill -9 of devhost in the middle of a reconciliation run: it resumes and ends with the same
totals, and no record is repaired twice."""

from __future__ import annotations

import os
import time
from collections import Counter
from pathlib import Path

import pytest

import sandbox
from devhost.testing import spawn
from scripts.localstack import APP_DIR, app_env
from tests.e2e.drift import by_class, in_sync, read_org, report, scan_floor

pytestmark = pytest.mark.slow
ACCOUNTS = 3000


def _wait_until(predicate, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.02)


def test_a_run_killed_twice_resumes_and_reports_the_same_totals(tmp_path: Path):
    from crosswalk.profiles import SqliteProfileStore

    data = tmp_path / "data"
    data.mkdir()
    with sandbox.run(seed=ACCOUNTS) as sb:
        org = read_org(sb)
        missing = org.plain[:80]
        synced = [a for a in org.plain + org.other_qualifying if a not in set(missing)]
        store = SqliteProfileStore(data / "profiles.sqlite3")
        in_sync(sb, store, org, synced)
        customers = {c["external_ref"]: c for c in sb.d2c_customers()}
        stale, deleted = synced[:40], synced[40:60]
        for account_id in stale:
            sb.d2c_edit(customers[account_id]["id"], {"industry": "Drifted"})
        for account_id in deleted:
            sb.salesforce_delete("Account", account_id)
        pages = scan_floor(sb)  # child rows count toward each page: 6 pages, not 2
        env = {**os.environ, **app_env(sb, data, RETRY_FIRST_INTERVAL_SECONDS="1")}
        with spawn(APP_DIR, data_dir=tmp_path / "hub", env=env) as host:
            started = host.post("/api/reconciliations")
            assert started.status == 202, started.text
            run_id = started.json()["runId"]
            for threshold in (20, 60):  # customers created by the run's onboardings
                _wait_until(lambda t=threshold: len(sb.d2c_customers()) >= len(synced) + t, 60)
                host.kill()
                host.launch()
            status = host.wait_for(run_id, timeout=120)
            body = report(host, run_id)

    assert status["runtimeStatus"] == "Completed", status
    assert body["status"] == "completed" and body["pages"] == pages
    assert sum(body["counts"].values()) == ACCOUNTS
    classes = by_class(body)
    assert classes["missing_in_d2c"] == set(missing)
    assert classes["stale_in_d2c"] == set(stale)
    assert classes["d2c_orphan"] == set(deleted)
    assert body["repaired"] == len(missing) + len(stale) + len(deleted)
    assert body["failed"] == 0
    per_account = Counter(c["external_ref"] for c in sb.d2c_customers())
    assert all(per_account[a] == 1 for a in missing)
    assert Counter(f["sf_account_id"] for f in body["findings"]).most_common(1)[0][1] == 1
