"""The support API end to end: the real app on devhost + sandbox, called as support staff.

One stack for the module; each test takes its own seeded accounts.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from crosswalk.models import DriftClass, DriftFinding, ReconciliationReport
from crosswalk.profiles import SqliteProfileStore
from tests.support.stack import APPROVE, OPERATE, READ, SupportStack

pytestmark = pytest.mark.slow
ALL = (READ, OPERATE, APPROVE)

READS = [
    "me",
    "records/001dL0000004C92QAE",
    "records?state=failed",
    "failures",
    "approvals",
    "health",
    "reconciliations",
    "audit",
    "deadletters",
]
ACTIONS = [
    ("approvals/onboard-001dL0000004C92QAE-20240130T114106850Z", APPROVE),
    ("instances/onboard-001dL0000004C92QAE-20240130T114106850Z/retry", OPERATE),
    ("instances/onboard-001dL0000004C92QAE-20240130T114106850Z/cancel", OPERATE),
    ("instances/onboard-001dL0000004C92QAE-20240130T114106850Z/undo", OPERATE),
    ("retries", OPERATE),
    ("deadletters/replay", APPROVE),
]


def _synced(stack: SupportStack) -> dict[str, Any]:
    account = next(stack.plain)
    status = stack.finished(stack.onboard(account["Id"]))
    assert status["output"]["outcome"] == "synced", status
    return account


def _failed(stack: SupportStack, status: int = 422) -> tuple[dict[str, Any], str]:
    """An onboarding that failed for good before anything was created (D2C refused it once)."""
    account = next(stack.plain)
    stack.sb.faults("d2c", path=r"/v1/customers$", method="POST", status=status, fail_next=1)
    instance_id = stack.onboard(account["Id"])
    assert stack.finished(instance_id)["output"]["outcome"] == "failed"
    return account, instance_id


def _audit(stack: SupportStack, **query: str) -> list[dict[str, Any]]:
    qs = "&".join(f"{k}={v}" for k, v in query.items())
    return stack.get(f"audit?{qs}", READ).json()["items"]


# ------------------------------------------------------------------ authentication and roles


@pytest.mark.parametrize("path", READS)
def test_reads_without_credentials_are_401_json_and_leak_nothing(stack, path):
    response = stack.host.get(f"/api/support/{path}")

    assert response.status == 401
    assert response.json()["error"]["code"] == "unauthenticated"
    assert "001dL" not in response.text


@pytest.mark.parametrize(("path", "role"), ACTIONS)
def test_actions_without_credentials_are_401(stack, path, role):
    response = stack.host.post(f"/api/support/{path}", json={"reason": "x"})

    assert response.status == 401


@pytest.mark.parametrize(
    "header",
    [
        "Bearer not-a-token",
        "Basic a2ltOnB3",
        "Bearer " + SupportStack.token(READ)[:-3] + "abc",  # signature tampered
    ],
    ids=["garbage", "wrong-scheme", "tampered"],
)
def test_bad_tokens_are_401(stack, header):
    response = stack.host.get("/api/support/me", headers={"Authorization": header})

    assert response.status == 401
    assert header.split(" ")[-1] not in response.text


def test_a_token_signed_with_another_key_is_401(stack):
    from crosswalk.support.auth import make_dev_token

    forged = make_dev_token("x" * 40, "mallory", ALL)
    response = stack.host.get("/api/support/me", headers={"Authorization": f"Bearer {forged}"})

    assert response.status == 401


def test_a_token_without_support_roles_is_403(stack):
    response = stack.get("approvals", "Sales.Read")

    assert response.status == 403
    assert response.json()["error"]["code"] == "forbidden"


@pytest.mark.parametrize("role", ALL)
@pytest.mark.parametrize("path", [p for p in READS if "/" not in p or p.startswith("records?")])
def test_every_support_role_may_read(stack, role, path):
    assert stack.get(path, role).status == 200


@pytest.mark.parametrize(("path", "role"), ACTIONS)
def test_actions_refuse_the_other_roles_before_reading_the_body(stack, path, role):
    for other in set(ALL) - {role}:
        response = stack.post(path, {"not": "valid"}, other)
        assert response.status == 403, (other, response.text)
        assert role in response.json()["error"]["message"]


def test_me_names_the_caller_and_their_roles(stack):
    body = stack.get("me", READ, OPERATE).json()

    assert body["principal"] == {
        "name": "kim@support.example",
        "roles": [OPERATE, READ],
        "provider": "dev",
    }
    assert body["masked"] is True


# ------------------------------------------------------------------ records


def test_a_record_is_found_by_account_id_d2c_customer_id_and_email(stack):
    account = _synced(stack)
    by_id = stack.get(f"records/{account['Id']}", APPROVE).json()
    customer_id = by_id["state"]["d2c_customer_id"]
    email = by_id["profile"]["primary_email"]

    by_customer = stack.get(f"records/{customer_id}", APPROVE).json()
    by_email = stack.get(f"records/{email.upper()}", APPROVE).json()

    assert by_id["key"]["kind"] == "salesforce_account_id"
    assert by_customer["accountId"] == by_email["accountId"] == account["Id"]
    assert by_customer["key"]["kind"] == "d2c_customer_id"
    assert by_email["key"]["kind"] == "email"
    assert by_id["state"]["status"] == "synced"
    instance = by_id["instances"][0]
    assert instance["runtimeStatus"] == "Completed" and instance["output"]["outcome"] == "synced"
    # the starter's read was handed to the saga, so the first step is the lake snapshot
    assert by_id["ledger"]["steps_done"][0] == "lake_put_account_snapshot"
    assert "d2c_create_customer" in by_id["ledger"]["steps_done"]
    assert by_id["ledger"]["pending"] == []
    kinds = [(e["source"], e["kind"]) for e in by_id["timeline"]]
    assert ("workflow", "started") in kinds and ("entity", "state") in kinds
    assert ("workflow", "completed") in kinds
    times = [e["at"] for e in by_id["timeline"] if e["at"]]
    assert len(times) >= 8


def test_personal_data_is_masked_unless_the_caller_has_the_pii_role(stack):
    account = _synced(stack)

    masked = stack.get(f"records/{account['Id']}", READ, OPERATE)
    clear = stack.get(f"records/{account['Id']}", APPROVE).json()

    email = clear["profile"]["primary_email"]
    assert "@" in email and email not in masked.text
    body = masked.json()
    assert body["masked"] is True and clear["masked"] is False
    assert body["profile"]["primary_email"] == email[0] + "***@" + email.split("@")[1]
    contacts = [e for e in body["timeline"] if "Phone" in str(e) or "BillingStreet" in str(e)]
    assert contacts == [] or all("***" in str(e) for e in contacts)
    assert account["Phone"] not in masked.text
    assert account["BillingStreet"] not in masked.text


@pytest.mark.parametrize("key", ["001-not-an-id", "003dL0000004C92QAE", "hello", "cus_!"], ids=str)
def test_a_key_that_is_no_kind_of_key_is_a_400_naming_key(stack, key):
    response = stack.get(f"records/{key}", READ)

    assert response.status == 400
    assert [f["field"] for f in response.json()["error"]["fields"]] == ["key"]


@pytest.mark.parametrize("key", ["001RM000004UF9sYAG", "cus_0000000000000000", "no@body.example"])
def test_a_well_formed_key_nobody_knows_is_a_404(stack, key):
    response = stack.get(f"records/{key}", READ)

    assert response.status == 404
    assert response.json()["error"]["code"] == "not_found"


def test_records_list_failed_shows_the_failure_reason(stack):
    account, instance_id = _failed(stack)

    body = stack.get("records?state=failed&limit=200", READ).json()

    mine = [r for r in body["items"] if r["accountId"] == account["Id"]]
    assert mine and mine[0]["instanceId"] == instance_id
    assert mine[0]["failureReason"] == "d2c_create_customer:d2c 422"
    assert mine[0]["status"] == "failed"
    older = stack.get("records?state=failed&olderThan=1d", READ).json()
    assert account["Id"] not in {r["accountId"] for r in older["items"]}
    record = stack.get(f"records/{account['Id']}", READ).json()
    assert any(e["kind"] == "step_failed" for e in record["timeline"])


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("", "state"),
        ("state=broken", "state"),
        ("state=failed&limit=0", "limit"),
        ("state=failed&limit=abc", "limit"),
        ("state=stale&olderThan=soon", "olderThan"),
    ],
)
def test_records_list_bad_query_is_a_400_naming_the_field(stack, query, field):
    response = stack.get(f"records?{query}", READ)

    assert response.status == 400
    assert field in [f["field"] for f in response.json()["error"]["fields"]]


def test_records_list_pages_with_a_cursor(stack):
    _synced(stack)
    first = stack.get("records?state=stale&olderThan=2000-01-01T00:00:00Z&limit=1", READ).json()

    assert first["items"] == []
    assert first["nextCursor"] is None or isinstance(first["nextCursor"], str)


# ------------------------------------------------------------------ approvals


def test_the_inbox_lists_a_waiting_onboarding_and_approval_completes_it(stack):
    account = next(stack.needing_approval)
    instance_id = stack.onboard(account["Id"])
    stack.waiting_for_approval(instance_id)

    inbox = stack.get("approvals", READ).json()["items"]
    pending = next(a for a in inbox if a["instanceId"] == instance_id)
    decided = stack.post(
        f"approvals/{instance_id}", {"decision": "approve", "reason": "known customer"}, APPROVE
    )
    status = stack.finished(instance_id)

    assert pending["accountId"] == account["Id"]
    assert pending["reasons"] and pending["reasons"][0]["code"]
    assert pending["waitingHours"] >= 0 and pending["overdue"] is False
    assert pending["slaHours"] == 24 and pending["deadline"]
    assert decided.status == 202, decided.text
    assert decided.json()["accepted"]["approver"] == "kim@support.example"
    assert status["output"]["outcome"] == "synced"
    assert stack.entity(account["Id"])["approval"]["approver"] == "kim@support.example"
    entry = _audit(stack, target=account["Id"])[0]
    assert entry["action"] == "approve" and entry["actor"] == "kim@support.example"
    assert entry["reason"] == "known customer" and entry["outcome"] == "done"
    record = stack.get(f"records/{account['Id']}", READ).json()
    assert any(e["source"] == "approval" for e in record["timeline"])
    assert any(e["source"] == "support" for e in record["timeline"])


def test_a_rejection_through_support_ends_the_onboarding(stack):
    account = next(stack.needing_approval)
    instance_id = stack.onboard(account["Id"])
    stack.waiting_for_approval(instance_id)

    stack.post(f"approvals/{instance_id}", {"decision": "reject", "reason": "sanctions"}, APPROVE)

    assert stack.finished(instance_id)["output"] == {"outcome": "rejected", "reason": "sanctions"}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"decision": "approve"}, "reason"),
        ({"decision": "approve", "reason": ""}, "reason"),
        ({"decision": "maybe", "reason": "x"}, "decision"),
        ({"decision": "approve", "reason": "x", "approver": "someone@else"}, "approver"),
    ],
)
def test_a_bad_decision_is_a_400_naming_the_field(stack, body, field):
    response = stack.post("approvals/onboard-x", body, APPROVE)

    assert response.status == 400
    assert [f["field"] for f in response.json()["error"]["fields"]] == [field]


def test_deciding_an_instance_that_is_not_waiting_is_409_and_audited(stack):
    account = _synced(stack)
    instance_id = stack.get(f"records/{account['Id']}", READ).json()["instances"][0]["instanceId"]

    response = stack.post(
        f"approvals/{instance_id}", {"decision": "approve", "reason": "x"}, APPROVE
    )
    unknown = stack.post("approvals/onboard-nope", {"decision": "approve", "reason": "x"}, APPROVE)

    assert response.status == 409 and unknown.status == 404
    assert _audit(stack, target=account["Id"])[0]["outcome"] == "refused: not_waiting"


# ------------------------------------------------------------------ retry and cancel


def test_retry_restarts_a_failed_onboarding_under_a_new_id_and_it_syncs(stack):
    account, instance_id = _failed(stack)

    response = stack.post(f"instances/{instance_id}/retry", {"reason": "D2C fixed"}, OPERATE)
    body = response.json()
    status = stack.finished(body["instanceId"])

    assert response.status == 202, response.text
    assert body["mode"] == "restart" and body["instanceId"] == instance_id + "-r1"
    assert status["output"]["outcome"] == "synced", status
    record = stack.get(f"records/{account['Id']}", READ).json()
    assert [i["instanceId"] for i in record["instances"]][:2] == [instance_id + "-r1", instance_id]
    assert record["state"]["status"] == "synced"
    entry = _audit(stack, target=account["Id"])[0]
    assert (entry["action"], entry["reason"], entry["outcome"]) == ("retry", "D2C fixed", "done")
    again = stack.post(f"instances/{body['instanceId']}/retry", {"reason": "again"}, OPERATE)
    assert again.status == 409 and again.json()["error"]["code"] == "already_synced"


def test_retry_and_cancel_bad_input(stack):
    assert stack.post("instances/onboard-nope/retry", {"reason": "x"}, OPERATE).status == 404
    assert stack.post("instances/onboard-nope/cancel", {"reason": "x"}, OPERATE).status == 404
    no_reason = stack.post("instances/onboard-nope/retry", {}, OPERATE)
    bad_mode = stack.post("instances/onboard-nope/retry", {"reason": "x", "mode": "x"}, OPERATE)
    not_json = stack.host.post(
        "/api/support/instances/onboard-nope/cancel",
        data=b"{nope",
        headers={**stack.auth(OPERATE), "Content-Type": "application/json"},
    )
    assert [f["field"] for f in no_reason.json()["error"]["fields"]] == ["reason"]
    assert [f["field"] for f in bad_mode.json()["error"]["fields"]] == ["mode"]
    assert not_json.status == 400 and not_json.json()["error"]["fields"][0]["field"] == "body"


def test_finish_undo_bad_input_is_a_400_naming_the_field_and_an_unknown_instance_404(stack):
    unknown = stack.post("instances/onboard-nope/undo", {"reason": "x"}, OPERATE)
    no_reason = stack.post("instances/onboard-nope/undo", {}, OPERATE)
    extra = stack.post("instances/onboard-nope/undo", {"reason": "x", "force": True}, OPERATE)

    assert unknown.status == 404
    assert no_reason.status == 400
    assert [f["field"] for f in no_reason.json()["error"]["fields"]] == ["reason"]
    assert extra.status == 400 and extra.json()["error"]["fields"][0]["field"] == "force"


def test_cancel_of_a_waiting_onboarding_is_a_decision_not_a_failure(stack):
    account = next(stack.needing_approval)
    instance_id = stack.onboard(account["Id"])
    stack.waiting_for_approval(instance_id)

    response = stack.post(f"instances/{instance_id}/cancel", {"reason": "duplicate"}, OPERATE)
    body = response.json()
    undo = stack.finished(body["cancelInstanceId"])

    assert response.status == 202, response.text
    assert undo["output"]["ledger"]["compensated"] == []
    assert undo["output"]["ledger"]["in_flight"] == []
    assert stack.host.status(instance_id)["runtimeStatus"] == "Terminated"
    assert undo["output"]["outcome"] == "cancelled" and undo["output"]["entity_updated"] is True
    entity = stack.entity(account["Id"])
    assert entity["status"] == "cancelled" and entity["current_instance_id"] is None
    assert "cancelled by kim@support.example: duplicate" in entity["last_error"]["detail"]
    # its own state: listed as cancelled, not waiting for a person, not offered for bulk retry
    cancelled = stack.get("records?state=cancelled", READ).json()["items"]
    assert account["Id"] in [r["accountId"] for r in cancelled]
    failures = stack.get("failures", READ).json()["reasons"]
    assert not [r for r in failures if r["failureReason"].startswith("cancel:")]
    health = stack.get("health", READ).json()
    assert health["records"]["cancelled"] >= 1
    assert "cancelled" not in {a["kind"] for a in health["attention"]}
    bulk = {"failureReason": "cancel:support cancelled", "reason": "x", "dryRun": True}
    assert stack.post("retries", bulk, OPERATE).json()["count"] == 0
    again = stack.post(f"instances/{instance_id}/cancel", {"reason": "again"}, OPERATE)
    assert again.status == 409 and again.json()["error"]["code"] == "not_running"
    record = stack.get(f"records/{account['Id']}", READ).json()
    assert record["state"]["status"] == "cancelled"
    assert {i["name"] for i in record["instances"]} == {"account_onboarding", "support_cancel"}
    assert any(e["kind"] == "terminated" for e in record["timeline"])
    retried = stack.post(f"instances/{instance_id}/retry", {"reason": "not a duplicate"}, OPERATE)
    assert retried.status == 202, retried.text  # one person's retry still may


def test_cancel_mid_saga_undoes_the_d2c_organisation(stack):
    account = next(stack.plain)
    stack.sb.faults("d2c", path=r"/users$", method="POST", latency=3.0, fail_next=1)
    instance_id = stack.onboard(account["Id"])
    stack.eventually(
        instance_id, lambda s: (s.get("customStatus") or {}).get("step") == "d2c_invite_user"
    )

    response = stack.post(f"instances/{instance_id}/cancel", {"reason": "wrong account"}, OPERATE)
    body = response.json()
    undo = stack.finished(body["cancelInstanceId"])

    assert response.status == 202, response.text
    assert undo["output"]["ledger"]["in_flight"] == ["d2c_invite_user"]
    assert undo["output"]["ledger"]["compensated"] == [{"step": "d2c_deactivate_customer"}]
    assert undo["output"]["outcome"] == "needs_attention"  # the invite was still in flight
    customers = [c for c in stack.sb.d2c_customers() if c["external_ref"] == account["Id"]]
    assert [c["status"] for c in customers] == ["deactivated"]
    assert stack.entity(account["Id"])["status"] == "needs_attention"


def test_finishing_a_half_done_undo_deactivates_the_organisation_and_settles_the_record(stack):
    account = next(stack.plain)
    stack.sb.faults("d2c", path=r"/users$", method="POST", status=422, fail_next=1)
    stack.sb.faults("d2c", path=r"/deactivate$", method="POST", status=503, fail_next=2)
    instance_id = stack.onboard(account["Id"])
    assert stack.finished(instance_id)["output"]["outcome"] == "needs_attention"

    response = stack.post(f"instances/{instance_id}/undo", {"reason": "D2C is back"}, OPERATE)
    body = response.json()
    undo = stack.finished(body["undoInstanceId"])

    assert response.status == 202, response.text
    assert body["compensations"] == ["d2c_deactivate_customer"]
    assert undo["output"]["outcome"] == "compensated" and undo["output"]["entity_updated"]
    customers = [c for c in stack.sb.d2c_customers() if c["external_ref"] == account["Id"]]
    assert [c["status"] for c in customers] == ["deactivated"]
    assert "undo finished by kim@support.example" in customers[0]["deactivation_reason"]
    assert stack.entity(account["Id"])["status"] == "compensated"
    again = stack.post(f"instances/{instance_id}/undo", {"reason": "again"}, OPERATE)
    assert again.status == 409 and again.json()["error"]["code"] == "record_moved_on"
    names = {i["name"] for i in stack.get(f"records/{account['Id']}", READ).json()["instances"]}
    assert names == {"account_onboarding", "support_cancel"}
    outcomes = [e["outcome"] for e in _audit(stack, action="finish_undo", target=account["Id"])]
    assert outcomes == ["refused: record_moved_on", "done"]


def test_only_an_onboarding_that_ended_needs_attention_has_an_undo_to_finish(stack):
    account = _synced(stack)
    (instance,) = stack.get(f"records/{account['Id']}", READ).json()["instances"]

    refused = stack.post(f"instances/{instance['instanceId']}/undo", {"reason": "x"}, OPERATE)

    assert refused.status == 409 and refused.json()["error"]["code"] == "nothing_to_undo"


def test_bulk_retry_counts_first_then_retries_every_record_of_the_reason(stack):
    failed = [_failed(stack, status=400) for _ in range(2)]
    body = {"failureReason": "d2c_create_customer:d2c 400", "reason": "D2C outage over"}

    reasons = stack.get("failures", READ).json()["reasons"]
    dry = stack.post("retries", body, OPERATE)
    real = stack.post("retries", {**body, "dryRun": False}, OPERATE)
    started = real.json()["started"]
    for item in started:
        assert stack.finished(item["instanceId"])["output"]["outcome"] == "synced"

    assert {"failureReason": body["failureReason"], "count": 2} in reasons
    assert dry.status == 200 and dry.json()["count"] == 2
    assert real.status == 202 and len(started) == 2 and real.json()["refused"] == []
    assert {s["retryOf"] for s in started} == {iid for _, iid in failed}
    actions = [e["action"] for e in _audit(stack, limit="10")]
    assert actions[0] == "bulk_retry" and "bulk_retry_dry_run" in actions
    assert stack.post("retries", {**body, "dryRun": False}, OPERATE).json()["count"] == 0


def test_bulk_retry_never_spends_the_reserved_share_of_the_salesforce_api_allowance(stack):
    _failed(stack, status=409)
    _failed(stack, status=409)
    body = {"failureReason": "d2c_create_customer:d2c 409", "reason": "D2C fixed"}
    allowance = stack.sb.salesforce_api_usage()["max"]
    stack.sb.salesforce_set_api_usage(allowance - int(allowance * 0.2) - 1)  # 1 call to spare

    dry = stack.post("retries", body, OPERATE).json()
    refused = stack.post("retries", {**body, "dryRun": False}, OPERATE)
    stack.sb.salesforce_set_api_usage(0)

    assert dry["count"] == 2 and dry["salesforce"]["callsNeeded"] == 6
    assert dry["salesforce"]["reservePercent"] == 20 and dry["salesforce"]["retriesAllowed"] == 0
    assert refused.status == 409 and refused.json()["error"]["code"] == "salesforce_budget"
    assert "Retry at most 0" in refused.json()["error"]["message"]
    (entry,) = _audit(stack, action="bulk_retry", limit="1")
    assert entry["outcome"] == "refused: salesforce_budget"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"reason": "x"}, "failureReason"),
        ({"failureReason": "x"}, "reason"),
        ({"failureReason": "x", "reason": "y", "dryRun": "perhaps"}, "dryRun"),
        ({"failureReason": "x", "reason": "y", "limit": 0}, "limit"),
    ],
)
def test_bulk_retry_bad_body_is_a_400_naming_the_field(stack, body, field):
    response = stack.post("retries", body, OPERATE)

    assert response.status == 400
    assert [f["field"] for f in response.json()["error"]["fields"]] == [field]


# ------------------------------------------------------------------ reports, audit, docs


def test_reconciliation_reports_and_their_findings_on_the_record(stack):
    account = _synced(stack)
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
    account, instance_id = _failed(stack)
    for reason in ("first", "second"):
        stack.post(f"instances/{instance_id}-r9/retry", {"reason": reason}, OPERATE)

    mine = _audit(stack, target=account["Id"])
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
    _failed(stack)
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
    account = _synced(stack)
    instance_id = stack.get(f"records/{account['Id']}", READ).json()["instances"][0]["instanceId"]

    stack.post(
        f"approvals/{instance_id}",
        {"decision": "approve", "reason": "customer jane.doe@acme.example called"},
        APPROVE,
    )

    (entry,) = _audit(stack, target=account["Id"])
    assert "jane.doe@acme.example" not in json.dumps(entry)
    assert entry["reason"] == "customer j***@acme.example called"
    assert entry["actor"] != "***"  # staff's own identity stays: that is the audit's point
