"""A first sync through batched onboarding (`onboard_batch`), on devhost + sandbox: the
accounts that need nobody are onboarded many per orchestration with the saga's guarantees,
the ones an approval rule catches still wait for a person on their own saga."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.e2e.drift import DURABLE, by_class, read_org, run_reconciliation

pytestmark = pytest.mark.slow


def _entity(stack: Any, account_id: str) -> dict[str, Any]:
    return stack.host.get(f"{DURABLE}/entities/record_sync/{account_id}").json()


def _instances(stack: Any, prefix: str) -> list[dict[str, Any]]:
    return stack.host.get(f"{DURABLE}/instances?instanceIdPrefix={prefix}&top=1000").json()


def _customers(stack: Any) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    for customer in stack.sb.d2c_customers():
        found.setdefault(customer["external_ref"], []).append(customer)
    return found


def _linked_once(stack: Any, account_ids: list[str]) -> None:
    """One active D2C customer each, its id on the Account, its user on one Contact, the
    record synced by a batch, the profile active."""
    customers = _customers(stack)
    store = stack.profiles()
    primaries = Counter(
        c["AccountId"] for c in stack.sb.salesforce_records("Contact") if c["D2C_User_Id__c"]
    )
    for account_id in account_ids:
        (customer,) = customers[account_id]
        assert customer["status"] == "active"
        record = stack.sb.salesforce_record("Account", account_id)
        assert record["D2C_Customer_Id__c"] == customer["id"], account_id
        assert record["Crosswalk_Sync_Status__c"] == "synced"
        assert primaries[account_id] == 1
        entity = _entity(stack, account_id)
        assert entity["status"] == "synced" and entity["d2c_customer_id"] == customer["id"]
        assert entity["current_instance_id"] is None
        assert entity["last_instance_id"].startswith("onboard-batch-")
        profile = store.get(account_id)
        assert profile is not None and profile.status == "active"
        assert profile.d2c_customer_id == customer["id"]


def test_a_first_sync_onboards_in_batches_and_approval_bound_accounts_still_wait(
    stack_factory,
):
    stack = stack_factory(seed=300, time_skipping=False, RECONCILE_PAGE_SIZE="200")
    stack.sb.set_events_to(salesforce="")
    org = read_org(stack.sb)

    body = run_reconciliation(stack.host, timeout=600)

    assert body["status"] == "completed" and body["failed"] == 0
    assert by_class(body)["missing_in_d2c"] == set(org.plain + org.other_qualifying)
    _linked_once(stack, org.plain)
    assert body["salesforce_writes"] == 2 * len(org.plain)  # one Account + one Contact each
    batches = _instances(stack, "onboard-batch-")
    assert batches and {b["name"] for b in batches} == {"onboard_batch"}
    assert {b["runtimeStatus"] for b in batches} == {"Completed"}
    assert sum(len(b["output"]["accounts"]) for b in batches) == len(org.plain)
    for account_id in org.plain:  # no saga of their own
        assert _instances(stack, f"onboard-{account_id}") == []
    # each profile notes when the scan's read of its people began (a later read's stand)
    assert all(stack.profiles().get(a).people_read_at is not None for a in org.plain)
    # the approval-bound accounts wait for a person on their own saga
    waiting = org.other_qualifying[0]
    assert all(_entity(stack, a)["status"] == "awaiting_approval" for a in org.other_qualifying)
    (saga,) = _instances(stack, f"onboard-{waiting}")
    assert saga["name"] == "account_onboarding" and saga["runtimeStatus"] == "Running"
    asked = datetime.now(UTC)
    decided = stack.decide(saga["instanceId"], "approve", "known customer")
    assert decided.status == 202, decided.text
    done = stack.host.wait_for(saga["instanceId"], timeout=60)
    assert done["output"]["outcome"] == "synced"
    record = stack.sb.salesforce_record("Account", waiting)
    assert record["D2C_Customer_Id__c"] == done["output"]["d2c_customer_id"]
    # its people come from the read after the approval, not the scan's
    read_after_wait = stack.profiles().get(waiting).people_read_at
    assert read_after_wait is not None and read_after_wait >= asked


def test_d2c_failures_mid_batch_are_retried_and_one_that_stays_failed_is_undone(stack_factory):
    stack = stack_factory(seed=60)
    stack.sb.set_events_to(salesforce="")
    org = read_org(stack.sb)
    stack.sb.faults("d2c", path=r"/customers$", method="POST", status=503, fail_next=3)
    stack.sb.faults("d2c", path=r"/users$", method="POST", status=422, fail_next=1)

    body = run_reconciliation(stack.host, timeout=300)

    failed = [f for f in body["findings"] if f.get("repair_error")]
    assert len(failed) == 1, failed
    lost = failed[0]["sf_account_id"]
    assert "onboarding ended compensated" in failed[0]["repair_error"]
    _linked_once(stack, [a for a in org.plain if a != lost])
    # the failed account: its organisation undone, nothing in Salesforce, the reason kept
    (customer,) = _customers(stack)[lost]
    assert customer["status"] == "deactivated"
    assert stack.sb.salesforce_record("Account", lost)["D2C_Customer_Id__c"] is None
    entity = _entity(stack, lost)
    assert entity["status"] == "compensated"
    assert entity["last_error"]["step"] == "d2c_invite_user"
    assert entity["last_error"]["status"] == 422
    profile = stack.profiles().get(lost)
    assert profile is not None and profile.status == "failed"
    assert profile.failure["step"] == "d2c_invite_user"
    # the transient ones were retried with the same keys: one organisation per account
    assert all(len(made) == 1 for made in _customers(stack).values())
    # a person's retry (a fresh saga for the account) brings back the same organisation
    started = stack.onboard(lost)
    retried = stack.host.wait_for(started["id"], timeout=60)["output"]
    assert retried["outcome"] == "synced", retried
    assert retried["reactivated_customer"] and retried["d2c_customer_id"] == customer["id"]
    assert _entity(stack, lost)["status"] == "synced"


def test_an_undo_that_keeps_failing_leaves_the_account_needing_attention(stack_factory):
    stack = stack_factory(seed=60)
    stack.sb.set_events_to(salesforce="")
    org = read_org(stack.sb)
    stack.sb.faults("d2c", path=r"/users$", method="POST", status=422, fail_next=1)
    stack.sb.faults("d2c", path=r"/deactivate$", method="POST", status=503)

    body = run_reconciliation(stack.host, timeout=300)

    (failed,) = [f for f in body["findings"] if f.get("repair_error")]
    stuck = failed["sf_account_id"]
    assert "onboarding ended needs_attention" in failed["repair_error"]
    entity = _entity(stack, stuck)
    assert entity["status"] == "needs_attention"
    assert entity["last_error"]["step"] == "d2c_invite_user"
    (customer,) = _customers(stack)[stuck]
    assert customer["status"] == "active"  # the undo never got through: for a person
    assert stack.sb.salesforce_record("Account", stuck)["D2C_Customer_Id__c"] is None
    _linked_once(stack, [a for a in org.plain if a != stuck])
