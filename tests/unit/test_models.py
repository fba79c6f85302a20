"""Models accept what the APIs really send and reject malformed input naming the field."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from crosswalk.d2c_models import Customer, CustomerCreate
from crosswalk.models import ApprovalDecisionInput, utc_iso
from crosswalk.salesforce_ids import checksum, to_18
from crosswalk.salesforce_records import SalesforceAccount, SalesforceContact


def _error_fields(exc: ValidationError) -> set[str]:
    return {".".join(str(part) for part in err["loc"]) for err in exc.errors()}


def test_account_from_rest_json_keeps_contacts_from_the_child_subquery(account_payload):
    account = SalesforceAccount.model_validate(account_payload)

    assert account.Id == "001RM000004UF9sYAG"
    assert account.attributes is not None and account.attributes.type == "Account"
    assert [c.LastName for c in account.Contacts] == ["Hopper", "Lovelace"]
    assert account.BillingAddress is not None and account.BillingAddress.postalCode == "10115"
    assert account.SystemModstamp.isoformat() == "2024-05-02T08:00:01+00:00"


def test_account_with_null_contacts_subquery_has_no_contacts(account_payload):
    account_payload["Contacts"] = None

    assert SalesforceAccount.model_validate(account_payload).Contacts == []


def test_fields_the_org_added_are_ignored(account_payload):
    account_payload["Some_Other_Field__c"] = "x"

    assert SalesforceAccount.model_validate(account_payload).Name == "Acme GmbH"


def test_fifteen_character_ids_are_widened_to_eighteen(account_payload):
    account_payload["Id"] = "001RM000004UF9s"

    assert SalesforceAccount.model_validate(account_payload).Id == "001RM000004UF9sYAG"


@pytest.mark.parametrize(
    ("bad_id", "why"),
    [
        ("001RM000004UF9sAAA", "checksum"),
        ("0039000000AbCdEAAV", "starts with 001"),
        ("001-not-an-id", "15 or 18"),
    ],
)
def test_malformed_account_ids_are_rejected_on_the_id_field(account_payload, bad_id, why):
    account_payload["Id"] = bad_id

    with pytest.raises(ValidationError) as caught:
        SalesforceAccount.model_validate(account_payload)

    assert _error_fields(caught.value) == {"Id"}
    assert why in str(caught.value)


def test_missing_modstamp_is_rejected(account_payload):
    del account_payload["SystemModstamp"]

    with pytest.raises(ValidationError) as caught:
        SalesforceAccount.model_validate(account_payload)

    assert _error_fields(caught.value) == {"SystemModstamp"}


def test_contact_needs_a_last_name(account_payload):
    contact = account_payload["Contacts"]["records"][0]
    del contact["LastName"]

    with pytest.raises(ValidationError) as caught:
        SalesforceContact.model_validate(contact)

    assert _error_fields(caught.value) == {"LastName"}


def test_checksum_matches_the_documented_example():
    assert checksum("00190000001pPvH") == "AAU"
    assert to_18("00190000001pPvH") == "00190000001pPvHAAU"


def test_d2c_customer_from_api_json_exposes_its_etag():
    customer = Customer.model_validate(
        {
            "id": "cus_8f3k2j9d0a",
            "kind": "business",
            "external_ref": "001RM000004UF9sYAG",
            "name": "Acme GmbH",
            "status": "active",
            "version": 3,
            "marketing_consent": False,
            "created_at": "2026-11-26T10:00:00.000Z",
            "updated_at": "2026-11-26T10:05:00.000Z",
        }
    )

    assert customer.etag == '"3"'


def test_customer_create_rejects_unknown_fields_and_bad_country():
    with pytest.raises(ValidationError) as caught:
        CustomerCreate.model_validate(
            {
                "kind": "business",
                "name": "Acme",
                "nickname": "acme",
                "billing_address": {"line1": "1 Main", "city": "Berlin", "country": "Germany"},
            }
        )

    assert _error_fields(caught.value) == {"nickname", "billing_address.country"}


def test_approval_decision_body_requires_a_reason_and_known_verdict():
    with pytest.raises(ValidationError) as caught:
        ApprovalDecisionInput.model_validate({"decision": "maybe", "approver": "kim"})

    assert _error_fields(caught.value) == {"decision", "reason"}


def test_utc_iso_writes_milliseconds_and_z():
    from datetime import UTC, datetime

    assert (
        utc_iso(datetime(2026, 11, 26, 10, 0, 0, 123456, tzinfo=UTC)) == "2026-11-26T10:00:00.123Z"
    )


def test_deleted_and_unfinished_contacts_never_pass_for_the_whole_list(account_payload):
    records = account_payload["Contacts"]["records"]
    deleted = {**records[0], "IsDeleted": True}
    account_payload["Contacts"] = {
        **account_payload["Contacts"],
        "records": [deleted, *records[1:]],
    }

    live = SalesforceAccount.model_validate(account_payload).Contacts
    account_payload["Contacts"] = {**account_payload["Contacts"], "done": False}

    assert [c.Id for c in live] == [r["Id"] for r in records[1:]]
    with pytest.raises(ValidationError):
        SalesforceAccount.model_validate(account_payload)
