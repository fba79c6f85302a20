"""Bulk API 2.0 ingest through the Salesforce client, against the sandbox over real HTTPS."""

from __future__ import annotations

import pytest

import sandbox
from crosswalk.clients.salesforce import SalesforceClient
from crosswalk.clients.salesforce_bulk import BulkIngest, to_csv
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
