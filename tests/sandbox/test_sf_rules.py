"""Salesforce's documented limits the stand-in enforces (docs/sandbox.md, "Salesforce's rules,
one by one"): collections chunks, query pages and cursors, row locks, lengths, Composite and
concurrency limits; each through simple-salesforce unmodified, as the app calls them."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from urllib.parse import quote_plus

import pytest
from sbkit import sf_client, wait_until
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import (
    SalesforceGeneralError,
    SalesforceMalformedRequest,
    SalesforceRefusedRequest,
)
from simple_salesforce.format import format_soql

import sandbox

WITH_CONTACTS = "SELECT Id, (SELECT Id FROM Contacts ORDER BY Id) FROM Account ORDER BY Id"


def _account_with_contacts(sb: sandbox.Sandbox, contacts: int) -> tuple[str, list[str]]:
    account_id = sb.salesforce_create("Account", {"Name": f"Aardvark ({contacts} Contacts)"})
    ids = [
        sb.salesforce_create("Contact", {"LastName": f"C{n:04d}", "AccountId": account_id})
        for n in range(contacts)
    ]
    return account_id, ids


def _interleaved(sb: sandbox.Sandbox, pairs: int) -> list[dict]:
    """Account, Contact, Account, Contact...: one chunk per record."""
    records = []
    for account in sb.salesforce_records("Account")[:pairs]:
        contact = next(
            c for c in sb.salesforce_records("Contact") if c["AccountId"] == account["Id"]
        )
        records.append({"attributes": {"type": "Account"}, "Id": account["Id"], "Phone": "1"})
        records.append({"attributes": {"type": "Contact"}, "Id": contact["Id"], "Phone": "2"})
    return records


def test_a_collections_update_of_eleven_type_chunks_is_refused_whole(
    sf: Salesforce, sb: sandbox.Sandbox
) -> None:
    sb.reset(seed=10)
    records = _interleaved(sb, 6)[:11]  # A C A C A C A C A C A: 11 chunks

    with pytest.raises(SalesforceMalformedRequest) as refused:
        sf.restful("composite/sobjects", method="PATCH", json={"records": records})

    assert refused.value.content[0]["errorCode"] == "LIMIT_EXCEEDED"
    assert "more than 10 chunks" in refused.value.content[0]["message"]
    assert all(r["Phone"] != "1" for r in sb.salesforce_records("Account"))


def test_ten_chunks_and_records_grouped_by_type_are_accepted(
    sf: Salesforce, sb: sandbox.Sandbox
) -> None:
    sb.reset(seed=120)
    ten = _interleaved(sb, 5)
    grouped = sorted(_interleaved(sb, 100), key=lambda r: r["attributes"]["type"])

    first = sf.restful("composite/sobjects", method="PATCH", json={"records": ten})
    second = sf.restful("composite/sobjects", method="PATCH", json={"records": grouped})

    assert all(r["success"] for r in [*first, *second]) and len(second) == 200


def test_child_rows_count_toward_the_batch_size(sf: Salesforce, sb: sandbox.Sandbox) -> None:
    sb.reset(seed=300)
    contacts = len(sb.salesforce_records("Contact"))
    headers = {"Sforce-Query-Options": "batchSize=200"}

    page = sf.query(WITH_CONTACTS, headers=headers)
    pages = [page]
    while not page["done"]:
        page = sf.query_more(page["nextRecordsUrl"], identifier_is_url=True, headers=headers)
        pages.append(page)

    def rows(p: dict) -> int:
        return sum(1 + len((r["Contacts"] or {"records": []})["records"]) for r in p["records"])

    assert all(rows(p) <= 200 for p in pages)
    assert sum(len(p["records"]) for p in pages) == 300
    assert sum(rows(p) for p in pages) == 300 + contacts
    assert len(pages) >= (300 + contacts) // 200


def test_batch_size_is_honoured_between_200_and_2000(sf: Salesforce, sb: sandbox.Sandbox) -> None:
    sb.reset(seed=700)

    sized = sf.query("SELECT Id FROM Account", headers={"Sforce-Query-Options": "batchSize=300"})
    floor = sf.query("SELECT Id FROM Account", headers={"Sforce-Query-Options": "batchSize=50"})

    assert len(sized["records"]) == 300 and len(floor["records"]) == 200


def test_a_large_child_subquery_pages_on_its_own_cursor(
    sf: Salesforce, sb: sandbox.Sandbox
) -> None:
    account_id, contact_ids = _account_with_contacts(sb, 250)

    result = sf.query(
        f"SELECT Id, (SELECT Id FROM Contacts ORDER BY Id) FROM Account WHERE Id = '{account_id}'"
    )
    children = result["records"][0]["Contacts"]
    rest = sf.query_more(children["nextRecordsUrl"], identifier_is_url=True)

    assert children["done"] is False and children["totalSize"] == 250
    assert len(children["records"]) == 200
    assert rest["done"] is True
    seen = [c["Id"] for c in [*children["records"], *rest["records"]]]
    assert seen == sorted(contact_ids)


def test_reading_the_next_parent_page_ends_the_child_cursors(
    sf: Salesforce, sb: sandbox.Sandbox
) -> None:
    _account_with_contacts(sb, 201)
    for n in range(300):
        sb.salesforce_create("Account", {"Name": f"Filler {n:03d}"})
    headers = {"Sforce-Query-Options": "batchSize=200"}
    first = sf.query(
        "SELECT Id, (SELECT Id FROM Contacts) FROM Account ORDER BY Name", headers=headers
    )
    child_url = first["records"][0]["Contacts"]["nextRecordsUrl"]

    sf.query_more(first["nextRecordsUrl"], identifier_is_url=True, headers=headers)

    with pytest.raises(SalesforceMalformedRequest) as gone:
        sf.query_more(child_url, identifier_is_url=True)
    assert gone.value.content[0]["errorCode"] == "INVALID_QUERY_LOCATOR"


def test_a_query_locator_expires_after_two_days(sf: Salesforce, sb: sandbox.Sandbox) -> None:
    sb.reset(seed=500)
    headers = {"Sforce-Query-Options": "batchSize=200"}
    page = sf.query("SELECT Id FROM Account", headers=headers)
    sf.query_more(page["nextRecordsUrl"], identifier_is_url=True, headers=headers)  # fresh

    sb.advance_clock(2 * 24 * 3600 + 1)
    later = sf_client(sb)  # the session has expired too; the cursor is what is tested

    with pytest.raises(SalesforceMalformedRequest) as expired:
        later.query_more(page["nextRecordsUrl"], identifier_is_url=True, headers=headers)
    assert expired.value.content[0]["errorCode"] == "INVALID_QUERY_LOCATOR"
    later.session.close()


def test_a_held_row_is_refused_per_record_with_unable_to_lock_row(
    sf: Salesforce, sb: sandbox.Sandbox
) -> None:
    sb.reset(seed=4)
    first, second = (a["Id"] for a in sb.salesforce_records("Account")[:2])
    sb.salesforce_hold_row_lock(first, writes=1)
    records = [
        {"attributes": {"type": "Account"}, "Id": first, "Phone": "+1 555 0100"},
        {"attributes": {"type": "Account"}, "Id": second, "Phone": "+1 555 0101"},
    ]

    locked = sf.restful("composite/sobjects", method="PATCH", json={"records": records})
    again = sf.restful("composite/sobjects", method="PATCH", json={"records": records[:1]})

    assert locked[0]["success"] is False and locked[1]["success"] is True
    assert locked[0]["errors"][0]["statusCode"] == "UNABLE_TO_LOCK_ROW"
    assert again[0]["success"] is True


def test_requests_are_refused_while_the_org_is_at_its_long_running_limit(
    sf: Salesforce, sb: sandbox.Sandbox
) -> None:
    sb.salesforce_org_rules(concurrent_long_requests=1, long_request_seconds=0.2)
    sb.faults("salesforce", path=r"/limits", latency=1.5)

    def refusal() -> SalesforceRefusedRequest | None:
        try:
            sf.query("SELECT Id FROM Account")
        except SalesforceRefusedRequest as exc:
            return exc
        return None

    with ThreadPoolExecutor(1) as pool:
        slow = pool.submit(sf.limits)
        refused = wait_until(refusal, timeout=5)  # once the slow call is 0.2 s old
        slow.result()
    after = sf.query("SELECT Id FROM Account")

    assert refused.status == 403
    assert refused.content[0]["errorCode"] == "REQUEST_LIMIT_EXCEEDED"
    assert refused.content[0]["message"] == "ConcurrentPerOrgLongTxn Limit exceeded."
    assert after["done"] is True


def test_a_query_whose_uri_passes_16384_bytes_is_refused_414(sf: Salesforce) -> None:
    emails = [f"person.{n}@example-{n}.com" for n in range(800)]
    soql = format_soql("SELECT Id FROM Contact WHERE Email IN {}", emails)

    with pytest.raises(SalesforceGeneralError) as refused:
        sf.query(soql)

    assert refused.value.status == 414


def test_a_soql_statement_over_100000_characters_is_refused(sf: Salesforce) -> None:
    emails = [f"person.{n}@example-{n}.com" for n in range(4000)]
    soql = format_soql("SELECT Id FROM Contact WHERE Email IN {}", emails)
    sub = {"method": "GET", "url": f"/services/data/v59.0/query?q={quote_plus(soql)}"}

    answer = sf.restful(
        "composite", method="POST", json={"compositeRequest": [{**sub, "referenceId": "q"}]}
    )

    assert len(soql) > 100_000
    (result,) = answer["compositeResponse"]
    assert result["httpStatusCode"] == 400
    assert result["body"][0]["errorCode"] == "MALFORMED_QUERY"


def test_a_composite_request_takes_at_most_five_query_or_collections_subrequests(
    sf: Salesforce,
) -> None:
    query = {"method": "GET", "url": "/services/data/v59.0/query?q=SELECT+Id+FROM+Account"}
    five = [{**query, "referenceId": f"q{n}"} for n in range(5)]
    six = [*five, {**query, "referenceId": "q5"}]

    ok = sf.restful("composite", method="POST", json={"compositeRequest": five})
    with pytest.raises(SalesforceMalformedRequest) as refused:
        sf.restful("composite", method="POST", json={"compositeRequest": six})

    assert all(r["httpStatusCode"] == 200 for r in ok["compositeResponse"])
    assert refused.value.content[0]["errorCode"] == "LIMIT_EXCEEDED"


def test_query_all_brings_deleted_children_under_live_parents_and_query_does_not(
    sf: Salesforce, sb: sandbox.Sandbox
) -> None:
    account_id, (kept, gone) = _account_with_contacts(sb, 2)
    sb.salesforce_delete("Contact", gone)
    soql = (
        f"SELECT Id, (SELECT Id FROM Contacts ORDER BY Id) FROM Account WHERE Id = '{account_id}'"
    )

    live = sf.query(soql)["records"][0]["Contacts"]["records"]
    everything = sf.query_all(soql, include_deleted=True)["records"][0]["Contacts"]["records"]

    assert [c["Id"] for c in live] == [kept]
    assert sorted(c["Id"] for c in everything) == sorted([kept, gone])


def test_deleted_rows_leave_the_recycle_bin_after_15_days(
    sf: Salesforce, sb: sandbox.Sandbox
) -> None:
    account_id = sb.salesforce_create("Account", {"Name": "Short Lived"})
    sb.salesforce_delete("Account", account_id)
    soql = format_soql("SELECT Id FROM Account WHERE Id = {}", account_id)
    binned = sf.query_all(soql, include_deleted=True)["totalSize"]

    sb.advance_clock(15 * 24 * 3600 + 1)
    later = sf_client(sb)  # a fresh session: the old one has expired
    purged = later.query_all(soql, include_deleted=True)["totalSize"]

    assert (binned, purged) == (1, 0)
    later.session.close()


def test_a_collections_update_with_an_id_of_another_type_is_malformed_id(
    sf: Salesforce, sb: sandbox.Sandbox
) -> None:
    account_id, (contact_id,) = _account_with_contacts(sb, 1)
    records = [{"attributes": {"type": "Account"}, "Id": contact_id, "Phone": "1"}]

    (result,) = sf.restful("composite/sobjects", method="PATCH", json={"records": records})

    assert result["success"] is False
    assert result["errors"][0]["statusCode"] == "MALFORMED_ID"


def test_with_whole_second_stamps_on_audit_stamps_are_whole_seconds_on_every_write(
    sf: Salesforce, sb: sandbox.Sandbox
) -> None:
    sb.salesforce_org_rules(whole_second_stamps=True)

    created = sf.Account.create({"Name": "Stamped"})["id"]
    fresh = sf.Account.get(created)
    sf.Account.update(created, {"Phone": "+49 30 1"})
    edited = sf.Account.get(created)
    sf.Account.delete(created)
    (deleted,) = sf.query_all(
        format_soql("SELECT SystemModstamp FROM Account WHERE Id = {}", created),
        include_deleted=True,
    )["records"]

    stamps = [fresh[f] for f in ("CreatedDate", "LastModifiedDate", "SystemModstamp")]
    stamps += [edited["LastModifiedDate"], edited["SystemModstamp"], deleted["SystemModstamp"]]
    assert all(s.endswith(".000+0000") for s in stamps), stamps
