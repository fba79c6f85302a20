"""Flow 2 end to end, order and races: an older change after a newer one, duplicate deliveries,
echoes of Crosswalk's own writes, a D2C conflict, concurrent edits in both systems, a stale
Account copy, and an edit made while the onboarding waits for approval.
"""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from crosswalk.rules import approval_reasons
from crosswalk.salesforce_records import SalesforceAccount
from crosswalk.settings import ApprovalSettings, load_settings
from crosswalk.sync_changes import ChangeRequest
from crosswalk.updates import UpdateInput, sync_policy
from scripts.localstack import WebhookSink
from tests.e2e.sync import (
    calls,
    customer_of,
    deliver,
    entity,
    onboarded,
    running,
    settle,
    update_runs,
    updates_stack,
    waiting_for_approval,
    wire_d2c_events,
)

pytestmark = pytest.mark.slow


def test_the_newer_change_applied_first_makes_the_older_one_change_nothing(stack_factory):
    stack = updates_stack(stack_factory)
    (account,) = onboarded(stack)
    with WebhookSink() as recorder:
        stack.sb.set_events_to(salesforce=recorder.url)
        stack.sb.salesforce_edit("Account", account["Id"], {"Name": "Older Name AG"})
        stack.sb.advance_clock(1)  # a later commit, not one in the same millisecond
        stack.sb.salesforce_edit("Account", account["Id"], {"Name": "Newer Name AG"})
        assert stack.sb.wait_events_drained(timeout=30)
    older, newer = recorder.received

    deliver(stack, newer)
    settle(stack)
    before = calls(stack)
    deliver(stack, older)
    settle(stack)

    assert customer_of(stack, account["Id"])["name"] == "Newer Name AG"
    assert stack.profiles().get(account["Id"]).name == "Newer Name AG"
    outcomes = sorted(r["output"]["outcome"] for r in update_runs(stack, account["Id"]))
    assert outcomes == ["applied", "stale"]
    assert calls(stack) == before


def test_duplicate_deliveries_of_an_update_apply_it_once(stack_factory):
    stack = updates_stack(stack_factory)
    (account,) = onboarded(stack)
    stack.sb.set_event_delivery(duplicate=1.0)
    before = calls(stack)

    stack.sb.salesforce_edit("Account", account["Id"], {"Industry": "Shipping"})
    settle(stack)

    assert customer_of(stack, account["Id"])["industry"] == "Shipping"
    assert [r["output"]["outcome"] for r in update_runs(stack, account["Id"])] == ["applied"]
    assert calls(stack)["d2c"] - before["d2c"] == 1


def test_no_echo_loop_counters_stay_flat_for_a_quiet_period(stack_factory):
    stack = updates_stack(stack_factory)
    (account,) = onboarded(stack)
    customer = customer_of(stack, account["Id"])
    stack.sb.salesforce_edit("Account", account["Id"], {"Name": "Quiet Period KG"})
    stack.sb.d2c_edit(customer["id"], {"phone": "+49 30 555"})
    settle(stack)
    stats = stack.sb.stats()
    listed = stack.host.get("/runtime/webhooks/durabletask/instances").json()

    stack.host.advance(timedelta(hours=6))  # every durable timer that could fire, fires
    settle(stack)

    after = stack.sb.stats()
    assert after["salesforce"]["calls"] == stats["salesforce"]["calls"]
    assert after["d2c"]["calls"] == stats["d2c"]["calls"]
    assert after["events"] == stats["events"]
    assert stack.host.get("/runtime/webhooks/durabletask/instances").json() == listed
    assert running(stack) == []
    changes = entity(stack, "record_sync", account["Id"])["changes"]
    echoes = [c for c in changes if c["outcome"] == "echo"]
    assert {c["origin"] for c in echoes} == {"salesforce", "d2c"}
    assert all("echo of our own change" in c["note"] for c in echoes)


def test_a_d2c_conflict_rereads_and_applies_both_sides(stack_factory):
    stack = updates_stack(stack_factory)
    (account,) = onboarded(stack)
    customer = customer_of(stack, account["Id"])
    stack.sb.set_events_to(d2c="")  # the storefront edit stays unknown to the app ...
    stack.sb.d2c_edit(customer["id"], {"phone": "+33 1 555"})

    stack.sb.salesforce_edit("Account", account["Id"], {"Name": "Conflict SARL"})  # ... until 412
    settle(stack)

    current = customer_of(stack, account["Id"])
    assert current["name"] == "Conflict SARL" and current["phone"] == "+33 1 555"
    assert stack.sb.salesforce_record("Account", account["Id"])["Phone"] == "+33 1 555"
    patches = stack.sb.stats()["d2c"]["calls"]["PATCH /v1/customers/{customerId}"]
    assert patches == 2  # the 412, then the re-applied change


def test_concurrent_edits_in_both_systems_converge_to_the_owners_values(stack_factory):
    stack = updates_stack(stack_factory)
    accounts = onboarded(stack, 3)
    customers = {a["Id"]: customer_of(stack, a["Id"]) for a in accounts}

    def salesforce_side() -> None:
        for round_ in range(3):
            for a in accounts:
                stack.sb.salesforce_edit(
                    "Account",
                    a["Id"],
                    {"Name": f"SF {round_} {a['Id'][-4:]}", "Phone": f"+1 {round_}"},
                )

    def d2c_side() -> None:
        for round_ in range(3):
            for a in accounts:
                stack.sb.d2c_edit(
                    customers[a["Id"]]["id"],
                    {"name": f"Shop {round_}", "phone": f"+44 {round_}", "marketing_consent": True},
                )

    workers = [threading.Thread(target=salesforce_side), threading.Thread(target=d2c_side)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    settle(stack)

    for a in accounts:
        record = stack.sb.salesforce_record("Account", a["Id"])
        customer = customer_of(stack, a["Id"])
        assert record["Name"] == customer["name"] == f"SF 2 {a['Id'][-4:]}"
        assert record["Phone"] == customer["phone"] == "+44 2"
        assert record["Marketing_Consent__c"] is True and customer["marketing_consent"] is True
        state = entity(stack, "record_sync", a["Id"])
        assert state["update_lease"] is None and state["pending"] is None


def test_a_starters_account_copy_older_than_what_was_applied_is_read_again(stack_factory):
    stack = updates_stack(stack_factory)
    (account,) = onboarded(stack)
    old_copy = stack.sb.salesforce_record("Account", account["Id"])
    stack.sb.salesforce_edit("Account", account["Id"], {"Name": "Applied Later GmbH"})
    settle(stack)

    update = UpdateInput(
        account_id=account["Id"],
        request=ChangeRequest(
            origin="reconciliation", modstamp=old_copy["SystemModstamp"], full=True
        ),
        policy=sync_policy(load_settings(stack.env)),
        account=old_copy,
    )
    started = stack.host.start("account_update", input=update.model_dump(mode="json"))
    status = stack.host.wait_for(started, timeout=60)

    assert status["output"]["outcome"] == "no_change", status["output"]
    assert customer_of(stack, account["Id"])["name"] == "Applied Later GmbH"


def test_an_edit_made_while_the_onboarding_awaits_approval_reaches_d2c(stack_factory):
    """The onboarding reads the Account again after the wait, so the organisation is created
    with the edit; the update that waited for it then finds nothing left to apply."""
    stack = wire_d2c_events(stack_factory(seed=40, time_skipping=False))
    approval = ApprovalSettings.model_validate({})
    account = next(
        r
        for r in stack.sb.salesforce_records("Account")
        if r["Type"] in ("Customer - Direct", "Customer - Channel")
        and approval_reasons(SalesforceAccount.model_validate(r), approval)
    )
    onboarding = stack.onboard(account["Id"])["id"]
    waiting_for_approval(stack, onboarding)

    stack.sb.salesforce_edit("Account", account["Id"], {"Name": "Renamed During Approval"})
    assert stack.sb.wait_events_drained(timeout=30)
    (waiting,) = [i for i in running(stack) if i.startswith("update-")]
    decided = stack.decide(onboarding, "approve", "known customer", approver="qa@example.com")
    assert decided.status == 202, decided.text
    assert stack.host.wait_for(onboarding, timeout=60)["output"]["outcome"] == "synced"
    stack.host.advance(timedelta(minutes=1))  # the waiting update asks again
    final = stack.host.wait_for(waiting, timeout=60)
    settle(stack)

    assert final["output"]["outcome"] == "no_change", final["output"]
    assert customer_of(stack, account["Id"])["name"] == "Renamed During Approval"
