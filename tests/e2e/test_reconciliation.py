"""Flow 4 end to end: reconciliation on devhost against the sandbox over real HTTP(S)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.e2e.drift import by_class, hold_claim, in_sync, read_org, report, run_reconciliation

pytestmark = pytest.mark.slow


def _quiet(stack_factory, seed: int, **env: str):
    """A stack whose Salesforce change events go nowhere: the drift here is made on purpose."""
    stack = stack_factory(seed=seed, **env)
    stack.sb.set_events_to(salesforce="")
    return stack


def test_one_run_finds_each_kind_of_drift_repairs_it_and_a_second_run_has_nothing_to_do(
    stack_factory,
):
    stack = _quiet(stack_factory, seed=40)
    sb, store = stack.sb, stack.profiles()
    org = read_org(sb)
    missing, (stuck, running) = org.plain[:3], org.plain[3:5]
    synced = [a for a in org.plain + org.other_qualifying if a not in {*missing, stuck, running}]
    in_sync(sb, store, org, synced)
    stale_d2c, stale_sf, deleted, demoted = synced[:4]
    customers = {c["external_ref"]: c for c in sb.d2c_customers()}
    sb.d2c_edit(customers[stale_d2c]["id"], {"phone": "+1 555 0100"})
    sb.salesforce_edit("Account", stale_sf, {"Name": "Renamed In Salesforce Ltd"})
    sb.salesforce_delete("Account", deleted)
    sb.salesforce_edit("Account", demoted, {"Type": "Prospect"})
    hold_claim(stack.host, stuck, at="2020-01-01T00:00:00+00:00")
    hold_claim(stack.host, running, at=datetime.now(UTC).isoformat())

    first = run_reconciliation(stack.host)

    classes = by_class(first)
    assert classes.get("missing_in_d2c") == set(missing)
    assert classes.get("stale_in_d2c") == {stale_d2c, stale_sf}
    assert classes.get("d2c_orphan") == {deleted, demoted}
    assert classes.get("failed_or_stuck") == {stuck, *org.unmappable}
    assert classes.get("in_progress") == {running}
    assert first["status"] == "completed" and first["failed"] == 0
    assert first["repaired"] == 7
    # the repairs happened
    customers = {c["external_ref"]: c for c in sb.d2c_customers()}
    for account_id in missing:
        assert customers[account_id]["status"] == "active"
        record = sb.salesforce_record("Account", account_id)
        assert record["D2C_Customer_Id__c"] == customers[account_id]["id"]
    assert customers[stale_d2c]["phone"] == org.accounts[stale_d2c].Phone
    assert customers[stale_sf]["name"] == "Renamed In Salesforce Ltd"
    assert customers[deleted]["status"] == "deactivated"
    assert customers[demoted]["status"] == "deactivated"
    assert store.get(deleted).status == "deleted_in_salesforce"

    second = run_reconciliation(stack.host)

    assert second["repaired"] == 0 and second["failed"] == 0
    assert not set(by_class(second)) & {"missing_in_d2c", "stale_in_d2c", "d2c_orphan"}
    full = run_reconciliation(stack.host, since="2000-01-01T00:00:00Z", dryRun=True)
    assert set(by_class(full)) <= {"failed_or_stuck", "in_progress"}
    assert report(stack.host, full["run_id"])["dry_run"] is True
