"""Flow 1 end to end: the real app on devhost against the sandbox over real HTTP(S)."""

from __future__ import annotations

import json
import time
import uuid
from datetime import timedelta
from typing import Any

import pytest

from scripts.localstack import WebhookSink, onboardable_accounts
from tests.e2e.sync import waiting_for_approval
from tests.support.stack import easy_auth_principal

pytestmark = pytest.mark.slow

DURABLE = "/runtime/webhooks/durabletask"


def _accounts(stack, *, approval: bool) -> list[dict[str, Any]]:
    found = onboardable_accounts(stack.sb, needs_approval=approval)
    assert found, "the seed has no such account"
    return found


def _entity(stack, account_id: str) -> dict[str, Any]:
    response = stack.host.get(f"{DURABLE}/entities/record_sync/{account_id}")
    assert response.status == 200, response.text
    return response.json()


def test_a_seeded_account_is_onboarded_end_to_end(stack_factory):
    stack = stack_factory(seed=12)
    account = _accounts(stack, approval=False)[0]

    started = stack.onboard(account["Id"])
    status = stack.host.wait_for(started["id"], timeout=30)

    assert status["runtimeStatus"] == "Completed", status
    output = status["output"]
    assert output["outcome"] == "synced", output
    customers = [c for c in stack.sb.d2c_customers() if c["external_ref"] == account["Id"]]
    assert len(customers) == 1
    customer = customers[0]
    assert customer["name"] == account["Name"] and customer["status"] == "active"
    assert customer["kind"] == "business"
    users = stack.sb.d2c_users(customer["id"])
    assert [u["id"] for u in users] == [output["d2c_primary_user_id"]]
    written = next(a for a in stack.sb.salesforce_records("Account") if a["Id"] == account["Id"])
    assert written["D2C_Customer_Id__c"] == customer["id"]
    assert written["D2C_Primary_User_Id__c"] == output["d2c_primary_user_id"]
    profile = stack.profiles().get(account["Id"])
    assert profile is not None and profile.d2c_customer_id == customer["id"]
    assert profile.people_read_at is not None  # when the starter's read began
    snapshot = stack.data / "lake" / output["snapshot"]
    assert json.loads(snapshot.read_text())["Id"] == account["Id"]
    entity = _entity(stack, account["Id"])
    assert entity["status"] == "synced" and entity["d2c_customer_id"] == customer["id"]


def test_starting_the_same_account_twice_runs_once(stack_factory):
    stack = stack_factory(seed=12)
    account = _accounts(stack, approval=False)[0]

    first = stack.host.post(f"/api/accounts/{account['Id']}/onboard")
    second = stack.host.post(f"/api/accounts/{account['Id']}/onboard")
    stack.host.wait_for(first.json()["id"], timeout=30)

    assert first.status == 202
    assert second.status == 200 and second.json()["started"] is False
    assert second.json()["id"] == first.json()["id"]
    assert len([c for c in stack.sb.d2c_customers() if c["external_ref"] == account["Id"]]) == 1


def test_starting_again_after_it_synced_starts_nothing_and_answers_the_synced_state(
    stack_factory,
):
    stack = stack_factory(seed=12)
    account = _accounts(stack, approval=False)[0]
    first = stack.onboard(account["Id"])
    done = stack.host.wait_for(first["id"], timeout=30)
    # the write-back moved the Account's SystemModstamp, from which instance ids are made
    assert done["output"]["outcome"] == "synced"

    used = stack.sb.stats()["salesforce"]["api_usage"]["used"]

    again = stack.host.post(f"/api/accounts/{account['Id']}/onboard")

    assert again.status == 200, again.text
    assert stack.sb.stats()["salesforce"]["api_usage"]["used"] == used  # nothing read
    body = again.json()
    assert body["started"] is False and body["state"] == "synced"
    assert body["id"] == first["id"] and body["runtimeStatus"] == "Completed"
    assert body["d2cCustomerId"] == done["output"]["d2c_customer_id"]
    assert [i["instanceId"] for i in stack.host.get(f"{DURABLE}/instances").json()] == [first["id"]]


def test_an_onboarding_spends_two_salesforce_calls_one_read_and_one_write_back(stack_factory):
    stack = stack_factory(seed=12)
    account = _accounts(stack, approval=False)[0]
    before = stack.sb.stats()["salesforce"]["api_usage"]["used"]

    started = stack.onboard(account["Id"])
    done = stack.host.wait_for(started["id"], timeout=30)
    used = stack.sb.stats()["salesforce"]["api_usage"]["used"] - before

    assert done["output"]["outcome"] == "synced"
    assert used == 2  # the starter's read is handed to the saga; then the write-back


def test_an_approved_onboarding_completes_with_the_approver_recorded(stack_factory):
    stack = stack_factory(seed=30, time_skipping=False)
    account = _accounts(stack, approval=True)[0]
    instance_id = stack.onboard(account["Id"])["id"]
    waiting_for_approval(stack, instance_id)

    decided = stack.decide(instance_id, "approve", "known customer", approver="kim@support")
    status = stack.host.wait_for(instance_id, timeout=30)

    assert decided.status == 202, decided.text
    assert status["output"]["outcome"] == "synced", status
    assert status["output"]["approval"]["approver"] == "kim@support"
    assert stack.profiles().get(account["Id"]).approval.reason == "known customer"
    assert _entity(stack, account["Id"])["approval"]["approver"] == "kim@support"


def _approve_after_editing(stack, account: dict[str, Any], **fields: Any) -> str:
    """Start, wait for approval, change the Account in Salesforce, then approve."""
    stack.sb.set_events_to(salesforce="")  # the edit's change event is not what is tested
    instance_id = stack.onboard(account["Id"])["id"]
    waiting_for_approval(stack, instance_id)
    stack.sb.salesforce_edit("Account", account["Id"], fields)
    decided = stack.decide(instance_id, "approve", "known customer", approver="kim@support")
    assert decided.status == 202, decided.text
    return instance_id


def test_an_account_that_stopped_qualifying_during_the_wait_ends_not_qualified(stack_factory):
    stack = stack_factory(seed=30, time_skipping=False)
    account = _accounts(stack, approval=True)[0]

    instance_id = _approve_after_editing(stack, account, Type="Prospect")
    status = stack.host.wait_for(instance_id, timeout=30)

    assert status["output"]["outcome"] == "not_qualified", status
    assert "Prospect" in status["output"]["reason"]
    assert not [c for c in stack.sb.d2c_customers() if c["external_ref"] == account["Id"]]
    assert stack.profiles().get(account["Id"]) is None
    assert _entity(stack, account["Id"])["status"] == "new"


def test_an_account_that_changed_past_its_approval_is_asked_about_again(stack_factory):
    with WebhookSink() as chat:
        stack = stack_factory(seed=30, time_skipping=False, NOTIFY_WEBHOOK_URL=chat.url)
        account = _accounts(stack, approval=True)[0]

        instance_id = _approve_after_editing(stack, account, Credit_Limit__c=987_654_321)
        deadline = time.monotonic() + 30
        while (stack.host.status(instance_id).get("customStatus") or {}).get("changed") is None:
            assert time.monotonic() < deadline, stack.host.status(instance_id)
            time.sleep(0.05)
        asking = stack.host.status(instance_id)
        stack.decide(instance_id, "approve", "limit agreed", approver="lee@support")
        status = stack.host.wait_for(instance_id, timeout=30)

    custom = asking["customStatus"]
    assert asking["runtimeStatus"] == "Running" and custom["waiting_for"] == "ApprovalDecision"
    assert [r["code"] for r in custom["changed"]] == ["CREDIT_LIMIT_OVER_THRESHOLD"]
    assert "987,654,321" in custom["asked_again"]
    assert status["output"]["outcome"] == "synced", status
    assert status["output"]["approval"]["approver"] == "lee@support"
    about_it = [m for m in chat.received if m["crosswalk"].get("accountId") == account["Id"]]
    assert [m["crosswalk"]["kind"] for m in about_it] == ["approval_requested"] * 2
    assert "changed after it was approved" in about_it[1]["text"]
    assert "987,654,321" in about_it[1]["text"]


def test_an_account_whose_approval_reasons_did_not_change_proceeds_after_one_approval(
    stack_factory,
):
    with WebhookSink() as chat:
        stack = stack_factory(seed=30, time_skipping=False, NOTIFY_WEBHOOK_URL=chat.url)
        account = _accounts(stack, approval=True)[0]

        instance_id = _approve_after_editing(stack, account, Phone="+1 555 0100")
        status = stack.host.wait_for(instance_id, timeout=30)

    assert status["output"]["outcome"] == "synced", status
    about_it = [m for m in chat.received if m["crosswalk"].get("accountId") == account["Id"]]
    assert [m["crosswalk"]["kind"] for m in about_it] == ["approval_requested"]


def test_a_rejected_onboarding_creates_nothing(stack_factory):
    stack = stack_factory(seed=30, time_skipping=False)
    account = _accounts(stack, approval=True)[0]
    instance_id = stack.onboard(account["Id"])["id"]
    waiting_for_approval(stack, instance_id)

    stack.decide(instance_id, "reject", "credit risk", approver="kim@support")
    status = stack.host.wait_for(instance_id, timeout=30)

    assert status["output"] == {"outcome": "rejected", "reason": "credit risk"}
    assert not [c for c in stack.sb.d2c_customers() if c["external_ref"] == account["Id"]]
    assert _entity(stack, account["Id"])["status"] == "rejected"


def test_approval_timeout_escalates_once_then_rejects_on_the_virtual_clock(stack_factory):
    stack = stack_factory(seed=30, time_skipping=False)
    account = _accounts(stack, approval=True)[0]
    instance_id = stack.onboard(account["Id"])["id"]
    first = waiting_for_approval(stack, instance_id)

    stack.host.advance(timedelta(hours=73))
    second = _waiting_for_escalation(stack, instance_id, escalation=1)
    stack.host.advance(timedelta(hours=73))
    status = stack.host.wait_for(instance_id, timeout=30)

    assert first["customStatus"]["escalation"] == 0
    assert second["customStatus"]["escalation"] == 1
    assert status["output"]["outcome"] == "rejected"
    assert "timed out" in status["output"]["reason"]


def test_an_invalid_decision_does_not_stop_the_deadline(stack_factory):
    stack = stack_factory(seed=30, time_skipping=False)
    account = _accounts(stack, approval=True)[0]
    instance_id = stack.onboard(account["Id"])["id"]
    waiting_for_approval(stack, instance_id)

    # straight to the Durable API: the approvals endpoint would refuse this body with a 400
    sent = stack.host.raise_event(instance_id, "ApprovalDecision", {"decision": "maybe"})
    assert sent.status == 202, sent.text
    for _ in range(400):
        history = stack.host.status(instance_id, show_history=True)["historyEvents"]
        if any(e["EventType"] == "EventRaised" for e in history):
            break
    stack.host.advance(timedelta(hours=73))
    escalated = _waiting_for_escalation(stack, instance_id, escalation=1)

    assert escalated["runtimeStatus"] == "Running"
    assert "devhostWaiting" not in escalated


def _waiting_for_escalation(stack, instance_id: str, escalation: int) -> dict[str, Any]:
    # bounded by time, not by a number of polls: a loaded machine answers polls faster than
    # it fires the timer
    deadline = time.monotonic() + 30
    while True:
        status = stack.host.status(instance_id)
        if (status.get("customStatus") or {}).get("escalation") == escalation:
            return status
        if time.monotonic() > deadline:
            raise AssertionError(f"no escalation {escalation}: {status}")
        time.sleep(0.02)


def test_bad_account_id_is_a_400_naming_the_field_and_starts_nothing(stack_factory):
    stack = stack_factory(seed=2)

    response = stack.host.post("/api/accounts/001-not-an-id/onboard")
    instances = stack.host.get(f"{DURABLE}/instances").json()

    assert response.status == 400
    assert response.json()["error"]["fields"][0]["field"] == "sfAccountId"
    assert instances == []


def test_unknown_account_is_a_404_and_starts_nothing(stack_factory):
    stack = stack_factory(seed=2)

    response = stack.host.post("/api/accounts/001RM000004UF9sYAG/onboard")

    assert response.status == 404
    assert stack.host.get(f"{DURABLE}/instances").json() == []


def test_a_decision_is_taken_by_a_signed_in_approver_never_a_name_in_a_body(stack_factory):
    stack = stack_factory(seed=30, time_skipping=False)
    account = _accounts(stack, approval=True)[0]
    instance_id = stack.onboard(account["Id"])["id"]
    waiting_for_approval(stack, instance_id)
    named = {"decision": "approve", "approver": "ceo@example.com", "reason": "trust me"}

    plain = stack.host.post(f"/api/approvals/{instance_id}", json=named)
    anonymous = stack.host.post(f"/api/support/approvals/{instance_id}", json=named)
    body_names_one = stack.host.post(
        f"/api/support/approvals/{instance_id}",
        json=named,
        headers=easy_auth_principal("kim@support", "Support.Approve"),
    )
    still = stack.host.status(instance_id)
    decided = stack.decide(instance_id, "approve", "known customer", approver="kim@support")
    status = stack.host.wait_for(instance_id, timeout=30)

    assert plain.status == 404  # no function-key route decides
    assert anonymous.status == 401
    assert body_names_one.status == 400
    assert [f["field"] for f in body_names_one.json()["error"]["fields"]] == ["approver"]
    assert still["customStatus"]["waiting_for"] == "ApprovalDecision"
    assert decided.status == 202, decided.text
    assert status["output"]["approval"]["approver"] == "kim@support"


def test_a_decision_for_an_unknown_instance_is_404_and_for_a_finished_one_409(stack_factory):
    stack = stack_factory(seed=12)
    account = _accounts(stack, approval=False)[0]
    instance_id = stack.onboard(account["Id"])["id"]
    stack.host.wait_for(instance_id, timeout=30)

    unknown = stack.decide("no-such-instance", "approve", "ok")
    finished = stack.decide(instance_id, "approve", "ok")

    assert unknown.status == 404
    assert finished.status == 409


@pytest.mark.azurite
def test_the_snapshot_lands_in_blob_storage_when_the_lake_is_blob(
    stack_factory, azurite_connection_string
):
    from crosswalk.lake.blob import BlobLake

    container = f"lake-{uuid.uuid4().hex[:12]}"
    stack = stack_factory(
        seed=12,
        LAKE_KIND="blob",
        LAKE_CONNECTION_STRING=azurite_connection_string,
        LAKE_CONTAINER=container,
    )
    account = _accounts(stack, approval=False)[0]

    status = stack.host.wait_for(stack.onboard(account["Id"])["id"], timeout=30)

    lake = BlobLake.from_connection_string(azurite_connection_string, container)
    snapshot = lake.get_json(status["output"]["snapshot"])
    assert snapshot["Id"] == account["Id"]
    assert not (stack.data / "lake").exists()


def test_approvers_are_told_when_a_wait_starts_escalates_and_times_out(stack_factory):
    with WebhookSink() as chat:
        stack = stack_factory(
            seed=30,
            time_skipping=False,
            NOTIFY_WEBHOOK_URL=chat.url,
            NOTIFY_CONSOLE_URL="https://crosswalk.example/api/support/console",
        )
        account = _accounts(stack, approval=True)[0]
        instance_id = stack.onboard(account["Id"])["id"]
        waiting_for_approval(stack, instance_id)

        stack.host.advance(timedelta(hours=73))
        _waiting_for_escalation(stack, instance_id, escalation=1)
        stack.host.advance(timedelta(hours=73))
        stack.host.wait_for(instance_id, timeout=30)

    about_it = [m for m in chat.received if m["crosswalk"].get("accountId") == account["Id"]]
    kinds = [m["crosswalk"]["kind"] for m in about_it]  # (the hourly digest may speak too)
    assert kinds == ["approval_requested", "approval_escalated", "approval_timed_out"]
    first = about_it[0]
    assert first["crosswalk"]["accountId"] == account["Id"] and first["crosswalk"]["reasons"]
    assert account["Name"] in first["text"] and instance_id in first["text"]
    assert f"console#/record/{account['Id']}" in first["text"]


def test_an_unreachable_chat_webhook_never_fails_the_onboarding(stack_factory):
    stack = stack_factory(
        seed=30,
        time_skipping=False,
        NOTIFY_WEBHOOK_URL="http://127.0.0.1:9/",  # nothing listens on the discard port
        RETRY_MAX_ATTEMPTS="2",
    )
    account = _accounts(stack, approval=True)[0]
    instance_id = stack.onboard(account["Id"])["id"]
    deadline = time.monotonic() + 30
    while "ApprovalDecision" not in json.dumps(stack.host.status(instance_id)["customStatus"]):
        assert time.monotonic() < deadline, "the failed notification held up the approval wait"
        time.sleep(0.05)  # the notification's retry waits on a real-time durable timer

    stack.decide(instance_id, "approve", "known customer", approver="kim@support")

    assert stack.host.wait_for(instance_id, timeout=60)["output"]["outcome"] == "synced"
