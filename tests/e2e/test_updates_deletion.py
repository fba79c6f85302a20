"""Flow 2 end to end, deletion: an Account deleted in Salesforce (or lost in a gap event)
deactivates its D2C organisation unless a setting says not to, and one restored from the
recycle bin gets it back.
"""

from __future__ import annotations

import pytest

from crosswalk.models import ProfileStatus
from tests.e2e.sync import (
    SF_EVENTS,
    customer_of,
    deliver,
    entity,
    onboarded,
    settle,
    update_runs,
    updates_stack,
)

pytestmark = pytest.mark.slow


def test_an_account_deleted_in_salesforce_deactivates_d2c_and_marks_the_profile(stack_factory):
    stack = updates_stack(stack_factory)
    (account,) = onboarded(stack)

    stack.sb.salesforce_delete("Account", account["Id"])
    settle(stack)

    customer = customer_of(stack, account["Id"])
    assert customer["status"] == "deactivated"
    assert stack.profiles().get(account["Id"]).status is ProfileStatus.DELETED_IN_SALESFORCE
    assert entity(stack, "record_sync", account["Id"])["status"] == "deleted"


def test_an_account_restored_from_the_recycle_bin_gets_its_organisation_back(stack_factory):
    stack = updates_stack(stack_factory)
    (account,) = onboarded(stack)
    before = customer_of(stack, account["Id"])
    stack.sb.salesforce_delete("Account", account["Id"])
    settle(stack)
    assert customer_of(stack, account["Id"])["status"] == "deactivated"

    stack.sb.salesforce_undelete("Account", account["Id"])
    settle(stack)

    customer = customer_of(stack, account["Id"])  # still exactly one
    assert customer["id"] == before["id"] and customer["status"] == "active"
    assert len(stack.sb.d2c_users(customer["id"])) == 1  # its user was adopted, not re-invited
    assert entity(stack, "record_sync", account["Id"])["status"] == "synced"
    assert stack.profiles().get(account["Id"]).status is ProfileStatus.ACTIVE
    restored = stack.sb.salesforce_record("Account", account["Id"])
    assert restored["D2C_Customer_Id__c"] == customer["id"]


def test_a_gap_event_rereads_the_account_and_applies_what_changed(stack_factory):
    stack = updates_stack(stack_factory)
    (account,) = onboarded(stack)

    stack.sb.salesforce_edit_outside_transactions(
        "Account", account["Id"], {"Name": "Cleaned Up GmbH", "Industry": "Energy"}
    )
    settle(stack)

    customer = customer_of(stack, account["Id"])
    assert customer["name"] == "Cleaned Up GmbH" and customer["industry"] == "Energy"
    (update,) = update_runs(stack, account["Id"])
    assert update["output"]["outcome"] == "applied"


def test_a_gap_delete_deactivates_the_d2c_organisation_like_a_delete(stack_factory):
    stack = updates_stack(stack_factory)
    (account,) = onboarded(stack)
    stack.sb.set_events_to(salesforce="")  # the DELETE event is lost...
    stack.sb.salesforce_delete("Account", account["Id"])
    stack.sb.set_events_to(salesforce=f"{stack.host.url}{SF_EVENTS}")

    gap = {
        "ChangeEventHeader": {
            "entityName": "Account",
            "recordIds": [account["Id"]],
            "changeType": "GAP_DELETE",  # ...and Salesforce sends a gap event instead
            "changedFields": [],
            "commitTimestamp": 1_790_000_000_000,
            "commitUser": "005000000000001AAA",
        }
    }
    deliver(
        stack,
        {
            "specversion": "1.0",
            "id": "gap-delete-1",
            "source": "/services/data/v59.0/sobjects/Account",
            "type": "com.salesforce.cdc.AccountChangeEvent",
            "datacontenttype": "application/json",
            "data": {"schema": "gap", "payload": gap, "event": {"replayId": 9}},
        },
    )
    settle(stack)

    assert customer_of(stack, account["Id"])["status"] == "deactivated"
    assert entity(stack, "record_sync", account["Id"])["status"] == "deleted"


def test_deletion_can_leave_the_d2c_organisation_active_by_setting(stack_factory):
    stack = updates_stack(stack_factory, SYNC_DEACTIVATE_ON_DELETE="false")
    (account,) = onboarded(stack)

    stack.sb.salesforce_delete("Account", account["Id"])
    settle(stack)

    assert customer_of(stack, account["Id"])["status"] == "active"
    assert stack.profiles().get(account["Id"]).status is ProfileStatus.DELETED_IN_SALESFORCE
