"""The support API end to end, what support staff read back: reconciliation reports, the
audit log, the front page and the API's own documents. The real app on devhost + sandbox,
called as support staff. One stack
for the module; each test takes its own seeded accounts.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from crosswalk.models import DriftClass, DriftFinding, ReconciliationReport
from crosswalk.profiles import SqliteProfileStore
from tests.support.stack import (
    APPROVE,
    OPERATE,
    READ,
    audit_items,
    failed_onboarding,
    synced_account,
)

pytestmark = pytest.mark.slow


# ------------------------------------------------------------------ reports, audit, docs


def test_reconciliation_reports_and_their_findings_on_the_record(stack):
    account = synced_account(stack)
    store = SqliteProfileStore(stack.data / "profiles.sqlite3")
    now = datetime.now(UTC)
    store.put_report(
        ReconciliationReport(
            run_id="recon-test-1",
            started_at=now,
            finished_at=now,
            counts={DriftClass.STALE_IN_D2C: 1},
            findings=[
                DriftFinding(
                    sf_account_id=account["Id"],
                    drift=DriftClass.STALE_IN_D2C,
                    reason="name differs",
                )
            ],
            status="completed",
        )
    )
    store.close()

    reports = stack.get("reconciliations?limit=5", READ).json()["items"]
    record = stack.get(f"records/{account['Id']}", READ).json()

    assert any(r["run_id"] == "recon-test-1" for r in reports)
    assert [f["kind"] for f in record["findings"]] == ["stale_in_d2c"]
    assert stack.get("reconciliations?limit=0", READ).status == 400


def test_audit_pages_and_filters(stack):
    account, instance_id = failed_onboarding(stack)
    for reason in ("first", "second"):
        stack.post(f"instances/{instance_id}-r9/retry", {"reason": reason}, OPERATE)

    mine = audit_items(stack, target=account["Id"])
    page = stack.get("audit?limit=1", READ).json()
    nxt = stack.get(f"audit?limit=1&before={page['nextBefore']}", READ).json()

    assert [e["reason"] for e in mine[:2]] == ["second", "first"]
    assert all(e["outcome"] == "refused: not_found" for e in mine[:2])
    assert page["nextBefore"] and nxt["items"][0]["id"] != page["items"][0]["id"]
    assert stack.get("audit?limit=9999", READ).status == 400


def test_a_compensated_onboarding_waits_for_a_person_on_the_front_page(stack):
    account = next(stack.plain)
    stack.sb.faults("d2c", path=r"/users$", method="POST", status=422, fail_next=1)
    instance_id = stack.onboard(account["Id"])
    assert stack.finished(instance_id)["output"]["outcome"] == "compensated"

    health = stack.get("health", READ).json()
    listed = stack.get("records?state=compensated", READ).json()["items"]

    item = next(a for a in health["attention"] if a["kind"] == "compensated")
    assert item["page"] == "#/list/compensated"
    assert item["count"] == health["records"]["compensated"] >= 1
    assert account["Id"] in [r["accountId"] for r in listed]


def test_health_counts_records_and_puts_what_needs_a_person_first(stack):
    failed_onboarding(stack)
    waiting = stack.onboard(next(stack.needing_approval)["Id"])
    stack.waiting_for_approval(waiting)

    health = stack.get("health", READ).json()

    assert health["records"]["failed"] >= 1 and health["records"]["awaiting_approval"] >= 1
    assert health["approvals"]["pending"] >= 1 and health["approvals"]["overdue"] == 0
    failed = next(a for a in health["attention"] if a["kind"] == "failed")
    assert failed["page"] == "#/list/failed" and failed["count"] == health["records"]["failed"]
    assert len(health["fingerprint"]) == 16 and health["partial"] is False


def test_openapi_document_and_console_are_served(stack):
    spec = stack.host.get("/api/support/openapi.json").json()
    console = stack.host.get("/api/support/console")
    script = stack.host.get("/api/support/console/app.js")

    assert spec["openapi"].startswith("3.") and "/records/{key}" in spec["paths"]
    assert set(spec["paths"]) >= {"/approvals/{instanceId}", "/retries", "/audit"}
    assert console.status == 200 and "text/html" in console.headers["Content-Type"]
    assert "default-src 'self'" in console.headers["Content-Security-Policy"]
    assert script.status == 200 and "javascript" in script.headers["Content-Type"]
    assert stack.host.get("/api/support/console/../function_app.py").status == 404
    assert stack.host.get("/api/support/console/secret.txt").status == 404


def test_the_audit_log_never_receives_a_customers_email_typed_into_a_reason(stack):
    account = synced_account(stack)
    instance_id = stack.get(f"records/{account['Id']}", READ).json()["instances"][0]["instanceId"]

    stack.post(
        f"approvals/{instance_id}",
        {"decision": "approve", "reason": "customer jane.doe@acme.example called"},
        APPROVE,
    )

    (entry,) = audit_items(stack, target=account["Id"])
    assert "jane.doe@acme.example" not in json.dumps(entry)
    assert entry["reason"] == "customer j***@acme.example called"
    assert entry["actor"] != "***"  # staff's own identity stays: that is the audit's point
