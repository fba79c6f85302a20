"""The allowance governor end to end: work waits for the org's daily API allowance, says so,
and goes on when the rolling 24 hours give calls back (sandbox clock), nothing lost or doubled.

The waits are real seconds (SALESFORCE_ALLOWANCE_WAIT_SECONDS=1): a worker judges a reading's
age by the wall clock, as it does in Azure, where wall clock and durable timers agree.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from scripts.localstack import onboardable_accounts
from tests.support.stack import easy_auth_principal

pytestmark = pytest.mark.slow
DURABLE = "/runtime/webhooks/durabletask"
WAITING = {"SALESFORCE_ALLOWANCE_WAIT_SECONDS": "1"}


def _waiting_status(stack: Any, instance_id: str, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = stack.host.status(instance_id) or {}
        custom = status.get("customStatus") or {}
        if custom.get("waiting_for") == "salesforce_allowance":
            return status
        assert status.get("runtimeStatus") not in ("Completed", "Failed"), status
        time.sleep(0.05)
    raise AssertionError(f"{instance_id} never waited for the allowance")


def _health(stack: Any) -> dict[str, Any]:
    headers = easy_auth_principal("kim@support", "Support.Read")
    response = stack.host.get("/api/support/health", headers=headers)
    assert response.status == 200, response.text
    return response.json()


def test_an_onboarding_that_runs_the_org_dry_waits_shows_why_and_finishes_when_calls_return(
    stack_factory,
):
    stack = stack_factory(
        seed=12, time_skipping=False, SALESFORCE_API_RESERVE_PERCENT="0", **WAITING
    )
    (account, *_) = onboardable_accounts(stack.sb, needs_approval=False)
    limit = stack.sb.salesforce_api_usage()["max"]
    stack.sb.salesforce_set_api_usage(limit - 1)  # the read fits, the write-back does not

    instance_id = stack.onboard(account["Id"])["id"]
    waiting = _waiting_status(stack, instance_id)
    health = _health(stack)
    stack.sb.advance_clock(24 * 3600 + 60)  # the rolling window gives every call back
    done = stack.host.wait_for(instance_id, timeout=60)

    assert waiting["customStatus"]["allowance"]["step"] == "sf_write_back_d2c_ids"
    assert waiting["runtimeStatus"] == "Running"
    assert any(i["kind"] == "salesforce_allowance" and i["count"] == 1 for i in health["attention"])
    assert health["waitingForAllowance"] == 1
    assert done["output"]["outcome"] == "synced", done["output"]
    assert done["customStatus"].get("waiting_for") is None
    customers = [c for c in stack.sb.d2c_customers() if c["external_ref"] == account["Id"]]
    assert len(customers) == 1  # waited, never started over
    record = stack.sb.salesforce_record("Account", account["Id"])
    assert record["D2C_Customer_Id__c"] == customers[0]["id"]


def test_below_the_reserve_no_call_reaches_salesforce_until_the_allowance_returns(stack_factory):
    stack = stack_factory(
        seed=12, time_skipping=False, SALESFORCE_API_RESERVE_PERCENT="50", **WAITING
    )
    (account, *_) = onboardable_accounts(stack.sb, needs_approval=False)
    limit = stack.sb.salesforce_api_usage()["max"]
    stack.sb.salesforce_set_api_usage(limit // 2)  # at the reserve: the first answer says so

    instance_id = stack.onboard(account["Id"])["id"]
    _waiting_status(stack, instance_id)
    used_while_waiting = stack.sb.salesforce_api_usage()["used"]
    stack.sb.salesforce_set_api_usage(0)  # other integrations' calls left the window
    done = stack.host.wait_for(instance_id, timeout=60)

    # the read that showed the org at its reserve, then a `/limits` probe a second at most
    assert used_while_waiting - limit // 2 <= 3
    assert stack.sb.salesforce_record("Account", account["Id"])["D2C_Customer_Id__c"]
    assert done["output"]["outcome"] == "synced", done["output"]
