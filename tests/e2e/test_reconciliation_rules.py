"""Reconciliation against the strict sandbox: what a real org refuses or pages, the run fits."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pytest

from tests.e2e.drift import (
    by_class,
    in_sync,
    never_synced,
    read_org,
    run_reconciliation,
    scan_floor,
)

pytestmark = pytest.mark.slow

QUERY = ("GET /services/data/v59.0/queryAll", "GET /services/data/v59.0/query/{locator}")
COLLECTIONS = "PATCH /services/data/v59.0/composite/sobjects"


def _calls(sb) -> dict[str, int]:
    stats = sb.stats()["salesforce"]
    calls = stats["calls"]
    return {
        "total": int(stats["total"]),
        "query": sum(calls.get(k, 0) for k in QUERY),
        "writes": int(calls.get(COLLECTIONS, 0)),
    }


@pytest.mark.timeout(900)  # 2,000 onboarding sagas: ~95 s alone on 2 cores, more under load
def test_a_never_synced_org_of_2000_accounts_is_linked_in_the_floor_of_calls(stack_factory):
    stack = stack_factory(seed=0)
    sb = stack.sb
    sb.set_events_to(salesforce="")
    accounts = never_synced(sb, 2000, contacts_each=2)
    floor_query = scan_floor(sb)  # 3 rows an Account: 666 a page, 4 pages
    before = _calls(sb)

    done = run_reconciliation(stack.host, timeout=900)

    used = {k: v - before[k] for k, v in _calls(sb).items()}
    writes = 2 * len(accounts)  # each Account and its primary Contact get the D2C ids
    assert floor_query == 4
    assert done["status"] == "completed" and done["failed"] == 0
    assert done["repaired"] == 2000 and done["salesforce_writes"] == writes
    assert used["query"] == floor_query and used["writes"] == math.ceil(writes / 200)
    assert used["total"] == floor_query + math.ceil(writes / 200) + 1  # and one token
    linked = {a["Id"]: a for a in sb.salesforce_records("Account") if a["D2C_Customer_Id__c"]}
    assert set(linked) == set(accounts)
    primaries = [c for c in sb.salesforce_records("Contact") if c["D2C_User_Id__c"]]
    assert len(primaries) == 2000


def test_a_write_back_refused_for_a_row_lock_is_sent_again_and_lands(stack_factory):
    stack = stack_factory(seed=0)
    sb = stack.sb
    sb.set_events_to(salesforce="")
    first, second = never_synced(sb, 2, contacts_each=2)
    sb.salesforce_hold_row_lock(first, writes=2)

    done = run_reconciliation(stack.host, timeout=120)

    assert done["failed"] == 0 and done["repaired"] == 2
    assert sb.salesforce_record("Account", first)["D2C_Customer_Id__c"]
    assert sb.salesforce_record("Account", second)["D2C_Customer_Id__c"]


def test_storefront_values_the_org_refuses_are_findings_naming_code_and_field(stack_factory):
    stack = stack_factory(
        seed=12,
        FIELD_OWNER_INDUSTRY="d2c",
        FIELD_OWNER_BILLING_ADDRESS="d2c",
        SALESFORCE_STATE_COUNTRY_PICKLISTS="true",
    )
    sb, store = stack.sb, stack.profiles()
    sb.set_events_to(salesforce="")
    org = read_org(sb)
    in_sync(sb, store, org, org.plain)
    picky, moved = org.plain[:2]
    customers = {c["external_ref"]: c for c in sb.d2c_customers()}
    sb.d2c_edit(customers[picky]["id"], {"industry": "Underwater Basket Weaving"})
    address = {"line1": "1 Congress Ave", "city": "Austin", "region": "TX", "country": "US"}
    sb.d2c_edit(customers[moved]["id"], {"billing_address": address})
    sb.salesforce_org_rules(restricted_picklists=["Account.Industry"], state_country_picklists=True)

    done = run_reconciliation(stack.host, timeout=120)

    errors = [f["repair_error"] for f in done["findings"] if f["sf_account_id"] == picky]
    assert any("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST" in (e or "") for e in errors), errors
    assert any("Industry" in (e or "") for e in errors)
    stored = sb.salesforce_record("Account", moved)
    assert (stored["BillingCountryCode"], stored["BillingStateCode"]) == ("US", "TX")
    assert (stored["BillingCountry"], stored["BillingState"]) == ("United States", "Texas")


@pytest.mark.parametrize(("overlap", "found"), [("300", True), ("0", False)])
def test_an_edit_committed_late_with_an_earlier_stamp_is_read_by_the_next_run(
    stack_factory, overlap, found
):
    stack = stack_factory(seed=8, RECONCILE_OVERLAP_SECONDS=overlap)
    sb, store = stack.sb, stack.profiles()
    sb.set_events_to(salesforce="")
    org = read_org(sb)
    in_sync(sb, store, org, org.plain)
    first = run_reconciliation(stack.host)
    watermark = datetime.fromisoformat(first["watermark_to"])
    late = org.plain[0]
    now = datetime.fromtimestamp(sb.clock.now_ms() / 1000, UTC)
    began = (now - watermark).total_seconds() + 10  # stamped 10 s before the watermark

    sb.salesforce_edit_in_flight("Account", late, {"Industry": "Shipbuilding"}, began)
    second = run_reconciliation(stack.host)

    customer = next(c for c in sb.d2c_customers() if c["external_ref"] == late)
    assert (late in by_class(second).get("stale_in_d2c", set())) is found
    assert (customer["industry"] == "Shipbuilding") is found
