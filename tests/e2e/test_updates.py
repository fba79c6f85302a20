"""Flow 2 end to end: a synced account stays in step both ways; the owner of each field wins.

Default ownership (README, FIELD_OWNER_*): name, website, tax id, industry, billing address and
credit terms are Salesforce's; phone and marketing consent are D2C's. Events for accounts
Crosswalk never synced, and malformed ones, start nothing. Order, duplicates, echoes and races:
test_updates_ordering; deletion: test_updates_deletion.
"""

from __future__ import annotations

import pytest

from tests.e2e.sync import (
    D2C_EVENTS,
    calls,
    customer_of,
    deliver,
    entity,
    onboarded,
    settle,
    update_runs,
    updates_stack,
)

pytestmark = pytest.mark.slow


def test_a_salesforce_edit_of_an_owned_field_reaches_d2c_and_the_profile(stack_factory):
    stack = updates_stack(stack_factory)
    (account,) = onboarded(stack)
    before = calls(stack)

    stack.sb.salesforce_edit(
        "Account",
        account["Id"],
        {"Name": "Hanse Logistik GmbH", "BillingCity": "Hamburg", "BillingCountry": "Germany"},
    )
    settle(stack)

    customer = customer_of(stack, account["Id"])
    assert customer["name"] == "Hanse Logistik GmbH"
    assert customer["billing_address"]["city"] == "Hamburg"
    assert customer["billing_address"]["country"] == "DE"
    profile = stack.profiles().get(account["Id"])
    assert profile.name == "Hanse Logistik GmbH" and profile.country == "DE"
    (run,) = update_runs(stack, account["Id"])
    assert run["output"]["outcome"] == "applied"
    assert run["output"]["d2c_fields"] == ["billing_address", "name"]
    spent = calls(stack)
    assert spent["salesforce"] - before["salesforce"] == 1  # the read
    assert spent["d2c"] - before["d2c"] == 1  # the PATCH


def test_a_salesforce_edit_of_a_d2c_owned_field_is_ignored_logged_and_restored(stack_factory):
    stack = updates_stack(stack_factory)
    (account,) = onboarded(stack)
    d2c_phone = customer_of(stack, account["Id"])["phone"]

    stack.sb.salesforce_edit("Account", account["Id"], {"Phone": "+1 555 0199"})
    settle(stack)

    assert customer_of(stack, account["Id"])["phone"] == d2c_phone
    assert stack.sb.salesforce_record("Account", account["Id"])["Phone"] == d2c_phone
    (run,) = update_runs(stack, account["Id"])
    assert run["output"]["outcome"] == "ignored"
    assert run["output"]["ignored"] == ["salesforce edit of phone ignored: owned by d2c; restored"]
    notes = [c for c in entity(stack, "record_sync", account["Id"])["changes"]]
    assert any(c["outcome"] == "ignored" and "phone" in c["note"] for c in notes)


def test_without_restoring_a_non_owner_edit_is_only_ignored(stack_factory):
    stack = updates_stack(stack_factory, SYNC_RESTORE_OWNER_VALUES="false")
    (account,) = onboarded(stack)
    d2c_phone = customer_of(stack, account["Id"])["phone"]
    before = calls(stack)

    stack.sb.salesforce_edit("Account", account["Id"], {"Phone": "+1 555 0199"})
    settle(stack)

    assert customer_of(stack, account["Id"])["phone"] == d2c_phone
    assert stack.sb.salesforce_record("Account", account["Id"])["Phone"] == "+1 555 0199"
    assert calls(stack) == before
    (run,) = update_runs(stack, account["Id"])
    assert "not restored" in run["output"]["ignored"][0]


def test_a_storefront_edit_of_d2c_owned_fields_reaches_salesforce(stack_factory):
    stack = updates_stack(stack_factory)
    (account,) = onboarded(stack)
    customer = customer_of(stack, account["Id"])
    before = calls(stack)

    stack.sb.d2c_edit(customer["id"], {"phone": "+49 40 1234567", "marketing_consent": True})
    settle(stack)

    record = stack.sb.salesforce_record("Account", account["Id"])
    assert record["Phone"] == "+49 40 1234567" and record["Marketing_Consent__c"] is True
    spent = calls(stack)
    assert spent["salesforce"] - before["salesforce"] == 1  # the update; the event carried D2C
    assert spent["d2c"] == before["d2c"]


def test_a_storefront_edit_of_a_salesforce_owned_field_is_ignored_and_restored(stack_factory):
    stack = updates_stack(stack_factory)
    (account,) = onboarded(stack)
    customer = customer_of(stack, account["Id"])

    stack.sb.d2c_edit(customer["id"], {"name": "Someone Else Ltd"})
    settle(stack)

    assert customer_of(stack, account["Id"])["name"] == account["Name"]
    assert stack.sb.salesforce_record("Account", account["Id"])["Name"] == account["Name"]
    (run,) = update_runs(stack, account["Id"])
    assert run["output"]["ignored"] == ["d2c edit of name ignored: owned by salesforce; restored"]


def test_edits_of_accounts_crosswalk_never_synced_start_nothing(stack_factory):
    stack = updates_stack(stack_factory)
    account = stack.sb.salesforce_records("Account")[0]

    stack.sb.salesforce_edit("Account", account["Id"], {"Name": "Not A Customer Yet"})
    settle(stack)

    assert stack.host.get("/runtime/webhooks/durabletask/instances").json() == []


@pytest.mark.parametrize(
    "body",
    [
        {
            "specversion": "1.0",
            "id": "d1",
            "source": "/d2c",
            "type": "customer.updated",
            "data": {},
        },
        {
            "specversion": "1.0",
            "id": "d2",
            "source": "/d2c",
            "type": "customer.registered",
            "data": "not json",
        },
        {
            "specversion": "1.0",
            "id": "d3",
            "source": "/d2c",
            "type": "customer.updated",
            "data": {"customer": {"id": "cus_bad"}, "changed_fields": ["name"]},
        },
    ],
    ids=["no-customer", "data-not-an-object", "bad-customer"],
)
def test_malformed_d2c_events_are_dead_lettered_and_start_nothing(stack_factory, body):
    stack = updates_stack(stack_factory)

    deliver(stack, body, D2C_EVENTS)

    assert stack.host.get("/runtime/webhooks/durabletask/instances").json() == []
    letters = list((stack.data / "lake" / "deadletter" / "d2c").rglob(f"{body['id']}.json"))
    assert len(letters) == 1
