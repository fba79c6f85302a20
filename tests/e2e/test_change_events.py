"""Salesforce change events start onboarding; duplicates and late arrivals collapse into one."""

from __future__ import annotations

from typing import Any

import pytest

from crosswalk.rules import approval_reasons
from crosswalk.salesforce_records import SalesforceAccount
from crosswalk.settings import ApprovalSettings
from tests.e2e.sync import deliver

pytestmark = pytest.mark.slow
DURABLE = "/runtime/webhooks/durabletask"


def _prospect(stack) -> dict[str, Any]:
    """A seeded Prospect that, once it becomes a customer, needs no approval."""
    approval = ApprovalSettings.model_validate({})
    for record in stack.sb.salesforce_records("Account"):
        if record.get("Type") != "Prospect":
            continue
        as_customer = SalesforceAccount.model_validate({**record, "Type": "Customer - Direct"})
        if not approval_reasons(as_customer, approval):
            return record
    raise AssertionError("the seed has no suitable Prospect")


def _instances(stack, account_id: str) -> list[dict[str, Any]]:
    listed = stack.host.get(f"{DURABLE}/instances?instanceIdPrefix=onboard-{account_id}").json()
    return [stack.host.wait_for(i["instanceId"], timeout=60) for i in listed]


def _customers_of(stack, account_id: str) -> list[dict[str, Any]]:
    return [c for c in stack.sb.d2c_customers() if c["external_ref"] == account_id]


def test_a_prospect_that_becomes_a_customer_is_onboarded_from_its_change_event(stack_factory):
    stack = stack_factory(seed=40)
    prospect = _prospect(stack)

    stack.sb.salesforce_edit("Account", prospect["Id"], {"Type": "Customer - Direct"})
    assert stack.sb.wait_events_drained(timeout=30)
    runs = _instances(stack, prospect["Id"])

    assert [r["output"]["outcome"] for r in runs] == ["synced"]
    assert len(_customers_of(stack, prospect["Id"])) == 1


def test_duplicate_deliveries_of_one_change_make_one_onboarding(stack_factory):
    stack = stack_factory(seed=40)
    stack.sb.set_event_delivery(duplicate=1.0)
    prospect = _prospect(stack)

    stack.sb.salesforce_edit("Account", prospect["Id"], {"Type": "Customer - Direct"})
    assert stack.sb.wait_events_drained(timeout=30)
    runs = _instances(stack, prospect["Id"])

    delivered = [
        e for e in stack.sb.events_delivered("salesforce") if e["subject"] == prospect["Id"]
    ]
    assert len(delivered) >= 2
    assert [r["output"]["outcome"] for r in runs] == ["synced"]
    assert len(_customers_of(stack, prospect["Id"])) == 1


def test_out_of_order_changes_make_one_onboarding(stack_factory):
    stack = stack_factory(seed=40)
    stack.sb.set_event_delivery(reorder=True)
    prospect = _prospect(stack)

    stack.sb.salesforce_edit("Account", prospect["Id"], {"Type": "Customer - Direct"})
    stack.sb.salesforce_edit("Account", prospect["Id"], {"Type": "Customer - Channel"})
    assert stack.sb.wait_events_drained(timeout=30)
    runs = _instances(stack, prospect["Id"])

    outcomes = sorted(r["output"]["outcome"] for r in runs)
    assert outcomes.count("synced") == 1, outcomes
    assert set(outcomes) <= {"synced", "skipped"}
    assert len(_customers_of(stack, prospect["Id"])) == 1


def test_events_that_are_not_onboarding_moments_are_acknowledged_and_ignored(stack_factory):
    stack = stack_factory(seed=40)
    prospect = _prospect(stack)

    stack.sb.salesforce_edit("Account", prospect["Id"], {"Phone": "+1 555 0100"})
    assert stack.sb.wait_events_drained(timeout=30)

    assert stack.host.get(f"{DURABLE}/instances").json() == []


@pytest.mark.parametrize(
    "body",
    [
        {"specversion": "1.0", "id": "e1", "source": "/x", "type": "t", "data": {"payload": {}}},
        {"specversion": "1.0", "id": "e2", "source": "/x", "type": "t", "data": "not json"},
        {
            "specversion": "1.0",
            "id": "e3",
            "source": "/x",
            "type": "t",
            "data": {
                "payload": {
                    "ChangeEventHeader": {
                        "entityName": "Account",
                        "recordIds": ["001-bad"],
                        "changeType": "CREATE",
                        "commitTimestamp": 1,
                    },
                    "Type": "Customer - Direct",
                }
            },
        },
        {
            "specversion": "1.0",
            "id": "e4",
            "source": "/x",
            "type": "t",
            "data": {
                "payload": {
                    "ChangeEventHeader": {
                        "entityName": "Account",
                        "recordIds": ["001dL0000004C92QAE"],
                        "changeType": "CREATE",
                        "commitTimestamp": "1795730000000",  # text, not a number
                    },
                    "Type": "Customer - Direct",
                }
            },
        },
    ],
    ids=["no-header", "data-not-an-object", "bad-record-id", "timestamp-as-text"],
)
def test_malformed_change_events_are_dead_lettered_and_start_nothing(stack_factory, body):
    stack = stack_factory(seed=2)

    deliver(stack, body)

    assert stack.host.get(f"{DURABLE}/instances").json() == []
    letters = list((stack.data / "lake" / "deadletter" / "salesforce").rglob(f"{body['id']}.json"))
    assert len(letters) == 1
