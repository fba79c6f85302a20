"""The support API end to end, repairs: retry, cancel, finishing an undo and bulk retry.
The real app on devhost + sandbox, called as support staff. One stack
for the module; each test takes its own seeded accounts.
"""

from __future__ import annotations

import pytest

from tests.support.stack import OPERATE, READ, audit_items, failed_onboarding, synced_account

pytestmark = pytest.mark.slow


# ------------------------------------------------------------------ retry and cancel


def test_retry_restarts_a_failed_onboarding_under_a_new_id_and_it_syncs(stack):
    account, instance_id = failed_onboarding(stack)

    response = stack.post(f"instances/{instance_id}/retry", {"reason": "D2C fixed"}, OPERATE)
    body = response.json()
    status = stack.finished(body["instanceId"])

    assert response.status == 202, response.text
    assert body["mode"] == "restart" and body["instanceId"] == instance_id + "-r1"
    assert status["output"]["outcome"] == "synced", status
    record = stack.get(f"records/{account['Id']}", READ).json()
    assert [i["instanceId"] for i in record["instances"]][:2] == [instance_id + "-r1", instance_id]
    assert record["state"]["status"] == "synced"
    entry = audit_items(stack, target=account["Id"])[0]
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
    outcomes = [
        e["outcome"] for e in audit_items(stack, action="finish_undo", target=account["Id"])
    ]
    assert outcomes == ["refused: record_moved_on", "done"]


def test_only_an_onboarding_that_ended_needs_attention_has_an_undo_to_finish(stack):
    account = synced_account(stack)
    (instance,) = stack.get(f"records/{account['Id']}", READ).json()["instances"]

    refused = stack.post(f"instances/{instance['instanceId']}/undo", {"reason": "x"}, OPERATE)

    assert refused.status == 409 and refused.json()["error"]["code"] == "nothing_to_undo"


def test_bulk_retry_counts_first_then_retries_every_record_of_the_reason(stack):
    failed = [failed_onboarding(stack, status=400) for _ in range(2)]
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
    actions = [e["action"] for e in audit_items(stack, limit="10")]
    assert actions[0] == "bulk_retry" and "bulk_retry_dry_run" in actions
    assert stack.post("retries", {**body, "dryRun": False}, OPERATE).json()["count"] == 0


def test_bulk_retry_never_spends_the_reserved_share_of_the_salesforce_api_allowance(stack):
    failed_onboarding(stack, status=409)
    failed_onboarding(stack, status=409)
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
    (entry,) = audit_items(stack, action="bulk_retry", limit="1")
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
