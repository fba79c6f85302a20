"""Reconciliation against the strict sandbox: what a real org refuses or pages, the run fits."""

from __future__ import annotations

import math

import pytest

from tests.e2e.drift import never_synced, run_reconciliation, scan_floor

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
