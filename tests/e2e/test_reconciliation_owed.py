"""Write-backs a reconciliation owes Salesforce are never dropped: a run that fails to send
them leaves them with the watermark entity, and the next run sends them first."""

from __future__ import annotations

import pytest

from tests.e2e.drift import DURABLE, read_org, run_reconciliation

pytestmark = pytest.mark.slow


def test_write_backs_a_failed_run_could_not_send_are_sent_by_the_next_run(stack_factory):
    stack = stack_factory(seed=6)
    stack.sb.set_events_to(salesforce="")  # the drift here is the point
    org = read_org(stack.sb)
    stack.sb.faults("salesforce", path=r"/composite/sobjects$", method="PATCH", status=503)

    failed = run_reconciliation(stack.host)
    owed = stack.host.get(f"{DURABLE}/entities/watermark/accounts").json()["owed"]
    stack.sb.clear_faults("salesforce")
    second = run_reconciliation(stack.host)

    assert failed["status"] == "failed"
    assert {w["account"] for w in owed} == set(org.plain)
    assert second["status"] == "completed"
    customers = {c["external_ref"]: c["id"] for c in stack.sb.d2c_customers()}
    for account_id in org.plain:
        record = stack.sb.salesforce_record("Account", account_id)
        assert record["D2C_Customer_Id__c"] == customers[account_id]
    assert len(customers) == len(set(customers.values()))  # one customer each, none twice
    watermark = stack.host.get(f"{DURABLE}/entities/watermark/accounts").json()
    assert watermark["owed"] == [] and watermark["holder"] is None
