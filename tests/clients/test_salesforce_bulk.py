"""Bulk API 2.0 ingest through the Salesforce client, against the sandbox over real HTTPS."""

from __future__ import annotations

import pytest

import sandbox
from crosswalk.clients.salesforce import SalesforceClient
from crosswalk.clients.salesforce_bulk import BulkIngest, to_csv
from crosswalk.clients.salesforce_bulk_query import BulkQuery
from crosswalk.errors import TransientError
from crosswalk.settings import SalesforceSettings


@pytest.fixture(scope="module")
def sb():
    with sandbox.run(seed=4, seed_contacts=2) as running:
        yield running


def _client(sb) -> SalesforceClient:
    return SalesforceClient(
        SalesforceSettings.model_validate(
            {
                "login_url": sb.salesforce_url,
                "client_id": sb.salesforce_client_id,
                "client_secret": sb.salesforce_client_secret,
                "ca_bundle": sb.ca_bundle,
            }
        )
    )


def test_records_become_csv_with_nulls_spelled_for_bulk_and_every_value_quoted():
    text = to_csv(
        [
            {"attributes": {"type": "Account"}, "Id": "001A", "Name": 'A "b", c', "Phone": None},
            {"attributes": {"type": "Account"}, "Id": "001B", "Marketing_Consent__c": True},
        ]
    )

    assert text.splitlines() == [
        '"Id","Name","Phone","Marketing_Consent__c"',
        '"001A","A ""b"", c","#N/A",""',
        '"001B","","","true"',
    ]


def test_an_update_of_mixed_types_runs_one_job_per_type_and_names_refused_records(sb):
    accounts = sb.salesforce_records("Account")
    contact = sb.salesforce_records("Contact")[0]
    before = sb.stats()["salesforce"]["calls"]
    records = [
        {"attributes": {"type": "Account"}, "Id": accounts[0]["Id"], "D2C_Customer_Id__c": "c-1"},
        {"attributes": {"type": "Account"}, "Id": accounts[1]["Id"], "Phone": None},
        {"attributes": {"type": "Account"}, "Id": accounts[2]["Id"], "Name": "x" * 300},
        {"attributes": {"type": "Contact"}, "Id": contact["Id"], "D2C_User_Id__c": "u-1"},
    ]

    outcome = BulkIngest(_client(sb)).update(records)

    assert sorted(outcome.written) == sorted([accounts[0]["Id"], accounts[1]["Id"], contact["Id"]])
    assert outcome.refused == [
        {
            "id": accounts[2]["Id"],
            "code": "STRING_TOO_LONG",
            "message": outcome.refused[0]["message"],
        }
    ]
    assert "max length=255" in outcome.refused[0]["message"]
    assert len(outcome.jobs) == 2
    assert sb.salesforce_record("Account", accounts[0]["Id"])["D2C_Customer_Id__c"] == "c-1"
    assert sb.salesforce_record("Account", accounts[1]["Id"])["Phone"] is None
    assert sb.salesforce_record("Contact", contact["Id"])["D2C_User_Id__c"] == "u-1"
    after = sb.stats()["salesforce"]["calls"]
    created = f"POST /services/data/v{sb.api_version}/jobs/ingest"
    assert after.get(created, 0) - before.get(created, 0) == 2


def test_a_query_job_streams_its_results_sets_in_order_with_text_intact_and_nulls_as_none(sb):
    tricky = ["Comma, Inc", 'The "gold" standard', "Two\nlines", "Zürich Ünïcode ✓"]
    ids = [sb.salesforce_create("Account", {"Name": name, "Type": "Stream"}) for name in tricky]
    query = BulkQuery(_client(sb))

    job = query.start(
        "Account",
        "SELECT Id, Name, Industry, IsDeleted FROM Account WHERE Type = 'Stream' ORDER BY Id",
        include_deleted=True,
    )
    info = query.wait("Account", job)
    first = query.results("Account", job, locator=None, max_records=3)
    rows = list(first)
    second = query.results("Account", job, locator=first.locator, max_records=3)
    rows += list(second)

    assert info["numberRecordsProcessed"] == 4
    assert (first.rows, second.rows, second.locator) == (3, 1, None)
    assert [r["Id"] for r in rows] == sorted(ids)
    assert {r["Id"]: r["Name"] for r in rows} == dict(zip(ids, tricky, strict=True))
    assert all(r["Industry"] is None and r["IsDeleted"] == "false" for r in rows)
    assert query.requests == 4  # create, poll, two results sets


def test_a_contacts_job_may_filter_on_its_account_and_order_by_it(sb):
    query = BulkQuery(_client(sb))

    job = query.start(
        "Contact",
        "SELECT Id, AccountId FROM Contact WHERE AccountId != null "
        "AND Account.SystemModstamp > 1970-01-01T00:00:00Z ORDER BY AccountId, Id",
    )
    query.wait("Contact", job)
    rows = list(query.results("Contact", job, locator=None, max_records=50_000))

    keys = [(r["AccountId"], r["Id"]) for r in rows]
    assert keys == sorted(keys) and len(keys) == len(
        [c for c in sb.salesforce_records("Contact") if c["AccountId"]]
    )


def test_a_failed_job_of_either_kind_is_a_transient_error_naming_the_job_and_its_reason(sb):
    account = sb.salesforce_records("Account")[0]
    query = BulkQuery(_client(sb))
    ingest = BulkIngest(_client(sb))

    sb.salesforce_fail_next_bulk_job("Overloaded, try later")
    job = query.start("Account", "SELECT Id FROM Account")
    with pytest.raises(TransientError) as query_failed:
        query.wait("Account", job)
    sb.salesforce_fail_next_bulk_job("Overloaded again")
    with pytest.raises(TransientError) as ingest_failed:
        ingest.update([{"attributes": {"type": "Account"}, "Id": account["Id"], "Phone": None}])

    assert f"Bulk API query job {job} (Account) ended Failed: Overloaded, try later" in str(
        query_failed.value
    )
    assert query.requests == 2  # create, the poll that found it failed
    assert "(Account update) ended Failed: Overloaded again" in str(ingest_failed.value)


def test_a_read_query_job_is_deleted_and_a_running_one_is_aborted_first(sb):
    query = BulkQuery(_client(sb))
    done = query.start("Account", "SELECT Id FROM Account")
    query.wait("Account", done)
    running = query.start("Account", "SELECT Id FROM Account")  # never polled: not terminated

    deleted = query.delete("Account", done)
    aborted_then_deleted = query.delete("Account", running)
    gone = query.delete("Account", done)

    assert (deleted, aborted_then_deleted, gone) == (True, True, False)
    left = {j["id"] for j in sb.salesforce_bulk_jobs("query")}
    assert done not in left and running not in left
    assert query.requests == 3 + 1 + 3 + 1  # create x2, poll; delete; abort + 2 deletes; delete
