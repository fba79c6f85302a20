"""A never-synced org's first sync with Bulk API 2.0 write-backs, on devhost + sandbox: pages
stage their write-backs in the lake, the last page sends them in one ingest job per object
type, and nothing is lost when that send fails."""

from __future__ import annotations

import os
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

import sandbox
from devhost.testing import spawn
from scripts.localstack import APP_DIR, app_env
from tests.e2e.drift import DURABLE, by_class, read_org, run_reconciliation

pytestmark = pytest.mark.slow
BULK = {
    "RECONCILE_BULK_THRESHOLD": "10",
    "RECONCILE_PAGE_SIZE": "200",
    "RECONCILE_BULK_SCAN_THRESHOLD": "10",
    "RECONCILE_BULK_RESULTS_PAGE": "300",
}


def _calls(sb: Any, needle: str, method: str = "") -> int:
    calls = sb.stats()["salesforce"]["calls"]
    return sum(n for k, n in calls.items() if needle in k and k.startswith(method))


def _linked(sb: Any, account_ids: list[str]) -> None:
    customers = {c["external_ref"]: c["id"] for c in sb.d2c_customers()}
    for account_id in account_ids:
        record = sb.salesforce_record("Account", account_id)
        assert record["D2C_Customer_Id__c"] == customers[account_id], account_id
        assert record["Crosswalk_Sync_Status__c"] == "synced"
    primaries = [
        c
        for c in sb.salesforce_records("Contact")
        if c["AccountId"] in set(account_ids) and c["D2C_User_Id__c"]
    ]
    assert {c["AccountId"] for c in primaries} == set(account_ids)  # one primary each


def _staged(stack: Any) -> list[Path]:
    return sorted((stack.data / "lake" / "staging").rglob("*.json"))


def test_a_first_sync_writes_back_through_one_ingest_job_per_object_type(stack_factory):
    stack = stack_factory(seed=450, **BULK)
    stack.sb.set_events_to(salesforce="")
    org = read_org(stack.sb)

    report = run_reconciliation(stack.host, timeout=300)

    assert report["status"] == "completed" and report["pages"] > 1, report["page_failures"]
    assert by_class(report)["missing_in_d2c"] == set(org.plain + org.other_qualifying)
    _linked(stack.sb, org.plain)
    assert _calls(stack.sb, "/jobs/query", "POST") == 2  # Accounts, Contacts
    assert _calls(stack.sb, "/jobs/query", "DELETE") == 2  # each once its results were read
    assert stack.sb.salesforce_bulk_jobs("query") == []
    assert _calls(stack.sb, "/queryAll") == 1  # the first REST page showed a large scan
    assert _calls(stack.sb, "/jobs/ingest", "POST") == 2  # Account, Contact
    assert _calls(stack.sb, "/composite/sobjects", "PATCH") == 0
    assert report["salesforce_writes"] == 2 * len(org.plain)
    assert _staged(stack) == []
    watermark = stack.host.get(f"{DURABLE}/entities/watermark/accounts").json()
    assert watermark["watermark"] is not None and watermark["owed_staged"] == []


def test_a_run_that_fails_before_reading_its_query_jobs_still_deletes_them(stack_factory):
    stack = stack_factory(seed=60, **BULK)
    stack.sb.set_events_to(salesforce="")
    stack.sb.faults("salesforce", path=r"/jobs/query/[^/]+/results$", method="GET", status=400)

    failed = run_reconciliation(stack.host, timeout=300)

    assert failed["status"] == "failed", failed
    assert _calls(stack.sb, "/jobs/query", "POST") == 2
    assert _calls(stack.sb, "/jobs/query", "DELETE") == 2
    assert stack.sb.salesforce_bulk_jobs("query") == []


def test_query_jobs_that_cannot_be_deleted_leave_the_run_completed(stack_factory):
    stack = stack_factory(seed=60, **BULK)
    stack.sb.set_events_to(salesforce="")
    stack.sb.faults("salesforce", path=r"/jobs/query/[^/]+$", method="DELETE", status=500)

    report = run_reconciliation(stack.host, timeout=300)

    assert report["status"] == "completed" and report["failed"] == 0, report["page_failures"]
    assert len(stack.sb.salesforce_bulk_jobs("query")) == 2  # logged, left to Salesforce


def test_the_run_after_a_first_sync_reads_its_write_back_echoes_once_and_writes_nothing(
    stack_factory,
):
    stack = stack_factory(seed=450, **BULK)
    stack.sb.set_events_to(salesforce="")
    org = read_org(stack.sb)
    run_reconciliation(stack.host, timeout=300)

    echo = run_reconciliation(stack.host, timeout=300)

    # every write-back moved its Account's modstamp past the watermark: read again, in sync
    assert echo["status"] == "completed" and echo["repaired"] == 0 and echo["failed"] == 0
    assert echo["counts"]["in_sync"] == len(org.plain)
    assert _calls(stack.sb, "/jobs/ingest", "POST") == 2  # the first run's two; none since
    assert _calls(stack.sb, "/composite/sobjects", "PATCH") == 0


def test_staged_write_backs_of_a_run_whose_bulk_send_failed_are_sent_by_the_next_run(
    stack_factory,
):
    stack = stack_factory(seed=60, **BULK)
    stack.sb.set_events_to(salesforce="")
    org = read_org(stack.sb)
    stack.sb.faults("salesforce", path=r"/jobs/ingest$", method="POST", status=503)

    failed = run_reconciliation(stack.host, timeout=300)
    owed = stack.host.get(f"{DURABLE}/entities/watermark/accounts").json()["owed_staged"]
    stack.sb.clear_faults("salesforce")
    second = run_reconciliation(stack.host, timeout=300)

    assert failed["status"] == "failed" and owed and len(_staged(stack)) == 0
    assert second["status"] == "completed"
    _linked(stack.sb, org.plain)
    assert len({c["external_ref"] for c in stack.sb.d2c_customers()}) == len(
        stack.sb.d2c_customers()
    )


def test_a_first_sync_killed_mid_load_resumes_without_duplicates(tmp_path: Path):
    data = tmp_path / "data"
    data.mkdir()
    with sandbox.run(seed=600, seed_contacts=2) as sb:
        sb.set_events_to(salesforce="")
        org = read_org(sb)
        env = {**os.environ, **app_env(sb, data, RETRY_FIRST_INTERVAL_SECONDS="1", **BULK)}
        with spawn(APP_DIR, data_dir=tmp_path / "hub", env=env) as host:
            started = host.post("/api/reconciliations")
            assert started.status == 202, started.text
            run_id = started.json()["runId"]
            deadline = time.monotonic() + 120
            while len(sb.d2c_customers()) < len(org.plain) // 2:  # half way through
                assert time.monotonic() < deadline, "the load did not get half way"
                time.sleep(0.02)
            host.kill()
            host.launch()
            status = host.wait_for(run_id, timeout=300)
            body = host.get(f"/api/reconciliations/{run_id}").json()
        assert status["runtimeStatus"] == "Completed", status
        assert body["status"] == "completed" and body["failed"] == 0
        _linked(sb, org.plain)
        per_account = Counter(c["external_ref"] for c in sb.d2c_customers())
        assert all(per_account[a] == 1 for a in org.plain)
        assert _calls(sb, "/jobs/ingest", "POST") == 2
        assert not list((data / "lake" / "staging").rglob("*.json"))


def test_a_bulk_write_back_refused_for_a_row_lock_is_sent_again_and_lands(stack_factory):
    stack = stack_factory(seed=60, **BULK)
    stack.sb.set_events_to(salesforce="")
    org = read_org(stack.sb)
    locked = org.plain[0]
    stack.sb.salesforce_hold_row_lock(locked, writes=2)  # the ingest job, then its retry

    started = stack.host.post("/api/reconciliations")
    report = stack.host.wait_for(started.json()["runId"], timeout=300)
    body = stack.host.get(f"/api/reconciliations/{started.json()['runId']}").json()

    assert report["runtimeStatus"] == "Completed"
    assert body["status"] == "completed" and body["failed"] == 0, body["findings"][:3]
    assert _calls(stack.sb, "failedResults") >= 1  # the ingest job named the locked record
    _linked(stack.sb, org.plain)
    assert body["salesforce_writes"] == 2 * len(org.plain)  # each record written once


def test_a_first_sync_that_runs_the_org_dry_mid_load_waits_and_finishes_when_calls_return(
    stack_factory,
):
    stack = stack_factory(
        seed=450,
        time_skipping=False,
        SALESFORCE_API_RESERVE_PERCENT="0",
        SALESFORCE_ALLOWANCE_WAIT_SECONDS="1",
        **BULK,
    )
    sb = stack.sb
    sb.set_events_to(salesforce="")
    org = read_org(sb)
    run_id = stack.host.post("/api/reconciliations").json()["runId"]
    deadline = time.monotonic() + 120
    while len(sb.d2c_customers()) < len(org.plain) // 3:  # a third of the way
        assert time.monotonic() < deadline, "the load did not get a third of the way"
        time.sleep(0.02)

    sb.salesforce_set_api_usage(sb.salesforce_api_usage()["max"])  # other integrations
    waiting = _waiting_for_allowance(stack, run_id)
    sb.advance_clock(24 * 3600 + 60)  # the rolling 24 hours give every call back
    status = stack.host.wait_for(run_id, timeout=300)
    body = stack.host.get(f"/api/reconciliations/{run_id}").json()

    assert waiting["runtimeStatus"] == "Running"
    assert waiting["customStatus"]["allowance"]["step"].startswith("reconcile_")
    assert status["runtimeStatus"] == "Completed" and body["status"] == "completed"
    assert body["failed"] == 0
    _linked(sb, org.plain)
    per_account = Counter(c["external_ref"] for c in sb.d2c_customers())
    assert all(per_account[a] == 1 for a in org.plain)  # nothing onboarded twice
    assert _calls(sb, "/jobs/ingest", "POST") == 2  # written back once
    assert body["salesforce_writes"] == 2 * len(org.plain)


def _waiting_for_allowance(stack: Any, run_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        status = stack.host.status(run_id) or {}
        if (status.get("customStatus") or {}).get("waiting_for") == "salesforce_allowance":
            return status
        assert status.get("runtimeStatus") not in ("Completed", "Failed"), status
        time.sleep(0.05)
    raise AssertionError(f"{run_id} never waited for the allowance")
