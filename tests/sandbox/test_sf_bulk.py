"""Bulk API 2.0 query and ingest jobs, through simple-salesforce's own `sf.bulk2`."""

from __future__ import annotations

import csv
import io
import re

import pytest
from sbkit import sf_client
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import (
    SalesforceMalformedRequest,
    SalesforceOperationError,
    SalesforceRefusedRequest,
)

import sandbox

TRICKY = {
    "comma": "Smith, Jones & Partners",
    "quotes": 'The "gold" standard',
    "newline": "Line one\nLine two",
    "non_ascii": "Zürich Straße 5 — 東京",
}


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text, newline="")))


def _pages(sf: Salesforce, soql: str, *, all_rows: bool = False, size: int = 50_000) -> list[str]:
    query = sf.bulk2.Account.query_all if all_rows else sf.bulk2.Account.query
    return list(query(soql, max_records=size, wait=0))


def test_query_results_keep_commas_quotes_newlines_non_ascii_and_nulls(
    sb: sandbox.Sandbox, sf: Salesforce
) -> None:
    ids = {
        key: sb.salesforce_create("Account", {"Name": value, "BillingStreet": value})
        for key, value in TRICKY.items()
    }
    (page,) = _pages(sf, "SELECT Id, Name, BillingStreet, Industry FROM Account")

    rows = {row["Id"]: row for row in _rows(page)}
    for key, value in TRICKY.items():
        assert rows[ids[key]]["Name"] == value
        assert rows[ids[key]]["BillingStreet"] == value
        assert rows[ids[key]]["Industry"] == ""  # null
    assert page.startswith('"Id","Name","BillingStreet","Industry"\n')
    assert '"The ""gold"" standard"' in page  # quotes doubled inside quotes
    assert page.endswith(",\n")  # a null is an empty, unquoted field


def test_query_pages_with_a_locator_and_counts_each_set(
    sb: sandbox.Sandbox, sf: Salesforce
) -> None:
    for n in range(5):
        sb.salesforce_create("Account", {"Name": f"Paged {n}"})
    client = sf.bulk2.Account._client
    job = client.create_job("query", "SELECT Id, Name FROM Account ORDER BY Name")
    client.wait_for_job(job["id"], True, 0)

    first = client.get_query_results(job["id"], max_records=2)
    second = client.get_query_results(job["id"], first["locator"], max_records=2)
    third = client.get_query_results(job["id"], second["locator"], max_records=2)
    again = client.get_query_results(job["id"], first["locator"], max_records=2)

    assert [first["number_of_records"], second["number_of_records"]] == [2, 2]
    assert third["number_of_records"] == 1 and third["locator"] == ""  # "null": the last set
    assert again["records"] == second["records"]  # a locator can be used again
    names = [r["Name"] for p in (first, second, third) for r in _rows(p["records"])]
    assert names == [f"Paged {n}" for n in range(5)]


def test_query_all_includes_deleted_rows_and_parent_columns_and_utc_datetimes(
    sb: sandbox.Sandbox, sf: Salesforce
) -> None:
    gone = sb.salesforce_create("Account", {"Name": "Gone"})
    sb.salesforce_delete("Account", gone)
    soql = "SELECT Id, IsDeleted, CreatedDate, Owner.Name FROM Account"

    live = _rows("".join(_pages(sf, soql)))
    everything = _rows("".join(_pages(sf, soql, all_rows=True)))

    assert gone not in {r["Id"] for r in live}
    (deleted,) = [r for r in everything if r["Id"] == gone]
    assert deleted["IsDeleted"] == "true"
    assert deleted["Owner.Name"] == "Ada Admin"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", deleted["CreatedDate"])


@pytest.mark.parametrize(
    "soql",
    [
        "SELECT Id, (SELECT Id FROM Contacts) FROM Account",
        "SELECT COUNT() FROM Account",
        "SELECT Id FROM Account LIMIT 5 OFFSET 2",
        "SELECT BillingAddress FROM Account",
    ],
)
def test_query_jobs_refuse_what_bulk_api_2_does_not_support(sf: Salesforce, soql: str) -> None:
    with pytest.raises(SalesforceMalformedRequest) as refused:
        sf.bulk2.Account._client.create_job("query", soql)
    assert refused.value.content[0]["errorCode"] == "API_ERROR"


def test_ingest_insert_reports_each_record_and_keeps_tricky_text(
    sb: sandbox.Sandbox, sf: Salesforce
) -> None:
    records = [{"Name": v, "BillingStreet": v} for v in TRICKY.values()] + [{"Name": ""}]

    (result,) = sf.bulk2.Account.insert(records=records, wait=0)

    assert result["numberRecordsProcessed"] == 5 and result["numberRecordsFailed"] == 1
    ok = _rows(sf.bulk2.Account.get_successful_records(result["job_id"]))
    failed = _rows(sf.bulk2.Account.get_failed_records(result["job_id"]))
    assert sorted(r["Name"] for r in ok) == sorted(TRICKY.values())
    assert all(r["sf__Created"] == "true" for r in ok)
    for row in ok:
        assert sb.salesforce_record("Account", row["sf__Id"])["BillingStreet"] == row["Name"]
    assert failed == [
        {
            "sf__Id": "",
            "sf__Error": "REQUIRED_FIELD_MISSING:Required fields are missing: [Name]:Name --",
            "Name": "",
            "BillingStreet": "",
        }
    ]


def test_ingest_update_ignores_empty_values_and_nulls_with_na(
    sb: sandbox.Sandbox, sf: Salesforce
) -> None:
    rid = sb.salesforce_create("Account", {"Name": "Keep", "Phone": "1", "Website": "w.example"})

    (result,) = sf.bulk2.Account.update(
        records=[{"Id": rid, "Name": "", "Phone": "#N/A", "Website": "new.example"}], wait=0
    )

    assert result["numberRecordsFailed"] == 0
    record = sb.salesforce_record("Account", rid)
    assert (record["Name"], record["Phone"], record["Website"]) == ("Keep", None, "new.example")


def test_ingest_upsert_by_external_id_creates_then_updates(
    sb: sandbox.Sandbox, sf: Salesforce
) -> None:
    rows = [{"D2C_Customer_Id__c": "cust-1", "Name": "First"}]
    (created,) = sf.bulk2.Account.upsert(
        records=rows, external_id_field="D2C_Customer_Id__c", wait=0
    )
    rows[0]["Name"] = "Renamed"
    (updated,) = sf.bulk2.Account.upsert(
        records=rows, external_id_field="D2C_Customer_Id__c", wait=0
    )

    first = _rows(sf.bulk2.Account.get_successful_records(created["job_id"]))
    second = _rows(sf.bulk2.Account.get_successful_records(updated["job_id"]))
    assert first[0]["sf__Created"] == "true" and second[0]["sf__Created"] == "false"
    assert first[0]["sf__Id"] == second[0]["sf__Id"]
    assert sb.salesforce_record("Account", first[0]["sf__Id"])["Name"] == "Renamed"


def test_ingest_delete_moves_rows_to_the_recycle_bin_and_names_unknown_ids(
    sb: sandbox.Sandbox, sf: Salesforce
) -> None:
    rid = sb.salesforce_create("Account", {"Name": "Doomed"})

    (result,) = sf.bulk2.Account.delete(records=[{"Id": rid}, {"Id": "001000000000000AAA"}], wait=0)

    assert result["numberRecordsFailed"] == 1
    assert rid not in {r["Id"] for r in sb.salesforce_records("Account")}
    (failed,) = _rows(sf.bulk2.Account.get_failed_records(result["job_id"]))
    assert failed["sf__Error"].startswith("NOT_FOUND:")


def test_ingest_batches_count_per_ten_thousand_records_and_requests_per_call(
    sb: sandbox.Sandbox, sf: Salesforce
) -> None:
    before = sb.salesforce_api_usage()["used"]

    (result,) = sf.bulk2.Account.insert(
        records=[{"Name": f"Bulk {n}"} for n in range(10_001)], wait=0
    )

    assert result["numberRecordsProcessed"] == 10_001 and result["numberRecordsFailed"] == 0
    # create, upload, close, one poll, one final read: five requests for 10,001 records
    assert sb.salesforce_api_usage()["used"] - before == 5
    assert sf.limits()["DailyBulkApiBatches"] == {"Max": 15_000, "Remaining": 14_998}


def test_a_data_file_with_the_wrong_line_ending_fails_the_job(sf: Salesforce) -> None:
    client = sf.bulk2.Account._client
    job = client.create_job("insert", line_ending="LF")
    client.upload_job_data(job["id"], "Name\r\nAcme\r\n")
    client.close_job(job["id"])

    with pytest.raises(SalesforceOperationError, match="LineEnding is invalid"):
        client.wait_for_job(job["id"], False, 0)


def test_an_aborted_job_leaves_its_rows_unprocessed(sb: sandbox.Sandbox, sf: Salesforce) -> None:
    client = sf.bulk2.Account._client
    job = client.create_job("insert")
    client.upload_job_data(job["id"], "Name\nNever\n")

    aborted = client.abort_job(job["id"], False)

    assert aborted["state"] == "Aborted"
    assert _rows(client.get_ingest_results(job["id"], "unprocessedrecords")) == [{"Name": "Never"}]
    assert "Never" not in {r["Name"] for r in sb.salesforce_records("Account")}


def test_a_failed_job_says_why_and_a_finished_one_can_be_deleted(
    sb: sandbox.Sandbox, sf: Salesforce
) -> None:
    sb.salesforce_fail_next_bulk_job("InternalServerError : retried 15 times")
    with pytest.raises(SalesforceOperationError, match="retried 15 times"):
        _pages(sf, "SELECT Id FROM Account")
    client = sf.bulk2.Account._client
    job = client.create_job("query", "SELECT Id FROM Account")
    with pytest.raises(SalesforceMalformedRequest) as early:  # not complete yet
        client.get_query_results(job["id"])
    assert early.value.content[0]["errorCode"] == "INVALIDJOBSTATE"
    client.wait_for_job(job["id"], True, 0)

    deleted = sf.session.delete(
        f"{sf.bulk2_url}query/{job['id']}", headers=sf.bulk2.headers, timeout=10
    )

    assert deleted.status_code == 204
    assert (
        sf.session.get(f"{sf.bulk2_url}query/{job['id']}", headers=sf.bulk2.headers).status_code
        == 404
    )


def test_results_need_the_api_version_the_job_was_made_with(
    sb: sandbox.Sandbox, sf: Salesforce
) -> None:
    client = sf.bulk2.Account._client
    job = client.create_job("query", "SELECT Id FROM Account")
    client.wait_for_job(job["id"], True, 0)
    older = sf.bulk2_url.replace(f"v{sb.api_version}", "v58.0")

    answer = sf.session.get(f"{older}query/{job['id']}/results", headers=sf.bulk2.headers)

    assert answer.status_code == 409


def test_the_daily_allocation_rolls_over_24_hours_and_token_calls_are_free() -> None:
    with sandbox.run(daily_api_limit=3, token_ttl=3 * 86400) as sb:
        sf = sf_client(sb)  # the token request is not counted
        sf.query("SELECT Id FROM Account")
        sb.advance_clock(12 * 3600)
        sf.query("SELECT Id FROM Account")
        sf.query("SELECT Id FROM Account")
        with pytest.raises(SalesforceRefusedRequest) as spent:
            sf.bulk2.Account._client.create_job("query", "SELECT Id FROM Account")
        assert spent.value.content[0]["errorCode"] == "REQUEST_LIMIT_EXCEEDED"
        assert sb.salesforce_api_usage()["used"] == 3

        sb.advance_clock(12 * 3600 + 60)  # the first call leaves the window

        assert sf.query("SELECT COUNT() FROM Account")["totalSize"] >= 0
        assert sf.api_usage["api-usage"].used == 3 and sf.api_usage["api-usage"].total == 3
        with pytest.raises(SalesforceRefusedRequest):
            sf.query("SELECT Id FROM Account")
        sf.session.close()


def test_query_jobs_take_order_by_limit_and_parent_filters_and_refuse_group_by(
    sb: sandbox.Sandbox, sf: Salesforce
) -> None:
    for n in range(3):
        account = sb.salesforce_create("Account", {"Name": f"Ordered {n}"})
        for m in range(2):
            sb.salesforce_create("Contact", {"LastName": f"C{n}{m}", "AccountId": account})
    client = sf.bulk2.Contact._client
    ordered = client.create_job(
        "query",
        "SELECT Id, AccountId FROM Contact WHERE Account.Name != null "
        "ORDER BY AccountId, Id LIMIT 5",
    )
    client.wait_for_job(ordered["id"], True, 0)
    rows = _rows(client.get_query_results(ordered["id"])["records"])

    assert [(r["AccountId"], r["Id"]) for r in rows] == sorted(
        (r["AccountId"], r["Id"]) for r in rows
    )
    assert len(rows) == 5
    with pytest.raises(SalesforceMalformedRequest) as refused:
        client.create_job("query", "SELECT Industry FROM Account GROUP BY Industry")
    assert refused.value.content[0]["errorCode"] == "MALFORMED_QUERY"


def test_a_query_job_is_deleted_only_once_terminated_and_then_is_gone(
    sb: sandbox.Sandbox, sf: Salesforce
) -> None:
    client = sf.bulk2.Account._client
    job = client.create_job("query", "SELECT Id FROM Account")  # UploadComplete: not terminated
    url = f"{sf.bulk2_url}query/{job['id']}"

    early = sf.session.delete(url, headers=sf.bulk2.headers, timeout=10)
    kept = [j["id"] for j in sb.salesforce_bulk_jobs("query")]
    client.wait_for_job(job["id"], True, 0)
    used = sb.salesforce_api_usage()["used"]
    deleted = sf.session.delete(url, headers=sf.bulk2.headers, timeout=10)
    spent = sb.salesforce_api_usage()["used"] - used
    results = sf.session.get(f"{url}/results", headers=sf.bulk2.headers, timeout=10)
    again = sf.session.delete(url, headers=sf.bulk2.headers, timeout=10)

    assert early.status_code == 400  # as "Delete a Query Job" shows it
    assert early.json() == [
        {
            "errorCode": "API_ERROR",
            "message": "Error encountered when deleting the job because the job is not terminated",
        }
    ]
    assert job["id"] in kept
    assert deleted.status_code == 204 and deleted.content == b"" and spent == 1
    assert job["id"] not in [j["id"] for j in sb.salesforce_bulk_jobs("query")]
    assert results.status_code == 404 and again.status_code == 404
