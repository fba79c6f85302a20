"""The Salesforce client's writes and reads fit the org's rules: collections laid out by type,
Contacts paged to the end, per-record errors classified (against the strict sandbox)."""

from __future__ import annotations

import pytest
from simple_salesforce.format import format_soql

import sandbox
from crosswalk.clients.salesforce import SalesforceClient
from crosswalk.clients.salesforce_limits import collection_calls, soql_in_batches
from crosswalk.errors import InvalidData, PermanentError, TransientError
from crosswalk.field_mapping import write_back_records
from crosswalk.settings import SalesforceSettings

COLLECTIONS = "PATCH /services/data/v59.0/composite/sobjects"


def _client(sb, **more) -> SalesforceClient:
    settings = SalesforceSettings.model_validate(
        {
            "login_url": sb.salesforce_url,
            "client_id": sb.salesforce_client_id,
            "client_secret": sb.salesforce_client_secret,
            "ca_bundle": sb.ca_bundle,
            **more,
        }
    )
    return SalesforceClient(settings)


def _patches(sb) -> int:
    return int(sb.stats()["salesforce"]["calls"].get(COLLECTIONS, 0))


def test_a_two_thousand_account_initial_load_write_back_is_accepted_in_twenty_calls():
    with sandbox.run(seed=2000) as sb:
        client = _client(sb)
        contacts = {}
        for contact in sb.salesforce_records("Contact"):
            contacts.setdefault(contact["AccountId"], contact["Id"])
        records = []  # as reconciliation gathers them: Account, Contact, Account, Contact...
        for n, account in enumerate(sb.salesforce_records("Account")):
            write_back = {
                "account_id": account["Id"],
                "d2c_customer_id": f"cus_{n:06d}",
                "d2c_primary_user_id": f"usr_{n:06d}",
                "contact_id": contacts[account["Id"]],
            }
            records.extend(write_back_records(write_back))
        before = _patches(sb)

        outcomes = client.update_each(records)

        assert len(records) == 4000
        assert [o for o in outcomes if o.error is not None] == []
        assert _patches(sb) - before == 20
        linked = [a for a in sb.salesforce_records("Account") if a["D2C_Customer_Id__c"]]
        assert len(linked) == 2000
        assert sum(1 for c in sb.salesforce_records("Contact") if c["D2C_User_Id__c"]) == 2000


def test_collection_calls_group_types_and_merge_one_id_into_one_record():
    records = [
        {"attributes": {"type": "Account"}, "Id": "001A", "Phone": "1"},
        {"attributes": {"type": "Contact"}, "Id": "003A", "Phone": "2"},
        {"attributes": {"type": "Account"}, "Id": "001B", "Phone": "3"},
        {"attributes": {"type": "Account"}, "Id": "001A", "Website": "w"},
    ]

    (call,) = collection_calls(records)

    assert [r["Id"] for r in call] == ["001A", "001B", "003A"]
    assert call[0] == {
        "attributes": {"type": "Account"},
        "Id": "001A",
        "Phone": "1",
        "Website": "w",
    }


def test_every_contact_is_read_when_the_subquery_pages():
    with sandbox.run(seed=0) as sb:
        account_id = sb.salesforce_create("Account", {"Name": "Crowded"})
        for n in range(230):
            sb.salesforce_create("Contact", {"LastName": f"P{n:03d}", "AccountId": account_id})
        client = _client(sb)

        account = client.get_account_with_contacts(account_id)

        assert account is not None and len(account.Contacts) == 230


def test_a_locked_row_is_transient_and_a_field_rule_permanent_with_its_field():
    with sandbox.run(seed=3) as sb:
        client = _client(sb)
        first, second = (a["Id"] for a in sb.salesforce_records("Account")[:2])
        sb.salesforce_hold_row_lock(first, writes=1)
        records = [
            {"attributes": {"type": "Account"}, "Id": first, "Phone": "+1 555 0100"},
            {"attributes": {"type": "Account"}, "Id": second, "Phone": "9" * 41},
        ]

        locked, too_long = client.update_each(records)

        assert isinstance(locked.error, TransientError)
        assert locked.code == "UNABLE_TO_LOCK_ROW"
        assert isinstance(too_long.error, InvalidData) and too_long.error.field == "Phone"
        assert too_long.code == "STRING_TOO_LONG"


def test_all_or_none_reports_the_record_that_failed_not_the_one_rolled_back():
    with sandbox.run(seed=3) as sb:
        client = _client(sb)
        account = sb.salesforce_records("Account")[0]["Id"]
        contact = sb.salesforce_records("Contact")[0]["Id"]
        sb.salesforce_hold_row_lock(contact, writes=1)
        records = [
            {"attributes": {"type": "Account"}, "Id": account, "Phone": "+1 555 0100"},
            {"attributes": {"type": "Contact"}, "Id": contact, "Phone": "+1 555 0101"},
        ]

        with pytest.raises(TransientError) as caught:
            client.update_records(records, all_or_none=True)

        assert caught.value.code == "UNABLE_TO_LOCK_ROW"


def test_with_country_picklists_on_iso_codes_go_to_the_code_fields():
    with sandbox.run(seed=0) as sb:
        sb.salesforce_org_rules(state_country_picklists=True)
        account_id = sb.salesforce_create("Account", {"Name": "Lone Star"})
        address = {"BillingCountry": "US", "BillingState": "TX", "BillingCity": "Austin"}

        with pytest.raises(InvalidData) as as_text:
            _client(sb).update("Account", account_id, address)
        _client(sb, state_country_picklists=True).update("Account", account_id, address)

        assert as_text.value.code == "FIELD_INTEGRITY_EXCEPTION"
        assert as_text.value.field == "BillingCountry"
        stored = sb.salesforce_record("Account", account_id)
        assert (stored["BillingCountry"], stored["BillingState"]) == ("United States", "Texas")


def test_queries_built_from_a_long_list_fit_the_uri_the_org_takes():
    emails = [f"person.{n}@example-{n}.com" for n in range(3000)]
    template = "SELECT Id FROM Contact WHERE Email IN {}"
    with sandbox.run(seed=0) as sb:
        client = _client(sb)

        with pytest.raises(PermanentError) as whole:
            client.call(lambda sf: sf.query(format_soql(template, emails)))
        answers = [
            client.call(lambda sf, q=q: sf.query(q)) for q in soql_in_batches(template, emails)
        ]

        assert whole.value.status == 414
        assert len(answers) > 1 and all(a["done"] for a in answers)
