"""Activities against the Salesforce org."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from activities import bp
from crosswalk.errors import NotFound, PermanentError
from crosswalk.field_mapping import write_back_records
from crosswalk.people_refresh import refresh_people
from crosswalk.salesforce_records import SalesforceAccount
from crosswalk.services import services
from crosswalk.signup_mapping import adoption_fields

CONVERTED_LEAD = "CANNOT_UPDATE_CONVERTED_LEAD"


@bp.activity_trigger(input_name="payload")
def sf_read_account(payload: dict) -> dict[str, Any]:
    """The Account with its Contacts, as the REST API returned it (one API call)."""
    account_id = payload["account_id"]
    account = services().salesforce.get_account_with_contacts(account_id)
    if account is None:
        raise NotFound(
            f"Account {account_id} does not exist",
            system="salesforce",
            status=404,
            code="NOT_FOUND",
        )
    return account.model_dump(mode="json")


@bp.activity_trigger(input_name="payload")
def sf_write_back_d2c_ids(payload: dict) -> dict[str, Any]:
    """Account and primary Contact get the D2C ids, in one sObject Collections call."""
    records = write_back_records(payload)
    results = services().salesforce.update_records(records, all_or_none=True)
    return {"updated": [r.id for r in results]}


@bp.activity_trigger(input_name="payload")
def sf_clear_d2c_ids(payload: dict) -> dict[str, Any]:
    """Compensation of the write-back: the Account and Contact lose the D2C ids again."""
    records: list[dict[str, Any]] = [
        {
            "attributes": {"type": "Account"},
            "Id": payload["account_id"],
            "D2C_Customer_Id__c": None,
            "D2C_Primary_User_Id__c": None,
            "Crosswalk_Sync_Status__c": None,
        }
    ]
    if payload.get("contact_id"):
        records.append(
            {"attributes": {"type": "Contact"}, "Id": payload["contact_id"], "D2C_User_Id__c": None}
        )
    services().salesforce.update_records(records, all_or_none=True)
    return {"cleared": payload["account_id"]}


@bp.activity_trigger(input_name="payload")
def sf_read_account_fields(payload: dict) -> dict[str, Any]:
    """The Account's fields (one API call: its Contacts come in the same query); `account` is
    None once it is deleted. The Contacts refresh the profile's people here and are left out
    of the answer, so their personal data stays out of the update's history."""
    read_at = datetime.now(UTC)
    record = services().salesforce.account_record_with_contacts(payload["account_id"])
    if record is None:
        return {"account": None}
    people = refresh_people(SalesforceAccount.model_validate(record), read_at=read_at)
    fields = {name: value for name, value in record.items() if name != "Contacts"}
    return {"account": fields, "people": people}


@bp.activity_trigger(input_name="payload")
def sf_update_account(payload: dict) -> dict[str, Any]:
    """Write the D2C-owned fields to the Account (one API call)."""
    services().salesforce.update("Account", payload["account_id"], payload["fields"])
    return {"updated": payload["account_id"], "fields": sorted(payload["fields"])}


@bp.activity_trigger(input_name="payload")
def sf_upsert_signup(payload: dict) -> dict[str, Any]:
    """Put a D2C sign-up on its Contact or Lead: the one already linked to the D2C user, else
    one Salesforce had for that email before the person registered, else a new one.

    A new record is created through upsert by external id, so a retried create is still one
    record; a found one is updated by Id. Two API calls either way.
    """
    sobject, user_id = payload["sobject"], payload["user_id"]
    planned: dict[str, Any] = payload["fields"]
    salesforce = services().salesforce
    existing = salesforce.find_signup_record(
        sobject, user_id, planned.get("Email"), planned.get("AccountId")
    )
    if existing is not None and existing.get("D2C_User_Id__c") != user_id:
        fields = {**adoption_fields(planned, existing), "D2C_User_Id__c": user_id}
        salesforce.update(sobject, existing["Id"], fields)
        return {"sobject": sobject, "id": existing["Id"], "adopted": True}
    fields = {k: v for k, v in planned.items() if k != "D2C_User_Id__c"}
    if existing is not None:
        salesforce.update(sobject, existing["Id"], fields)
        return {"sobject": sobject, "id": existing["Id"], "adopted": False}
    record_id = salesforce.upsert(sobject, "D2C_User_Id__c", user_id, fields)
    if record_id is None:  # API versions before 46.0 answer an update with 204, no body
        record_id = salesforce.find_id(sobject, "D2C_User_Id__c", user_id)
    return {"sobject": sobject, "id": record_id, "adopted": False}


@bp.activity_trigger(input_name="payload")
def sf_update_signup(payload: dict) -> dict[str, Any]:
    """Write the D2C-owned fields of a sign-up's Contact or Lead (one API call).

    A Lead that sales has converted refuses every update. Then the answer is where it went
    (`converted`: `contact_id`, `account_id`; one more call) so the orchestrator can follow.
    """
    sobject, record_id = payload["sobject"], payload["id"]
    salesforce = services().salesforce
    try:
        salesforce.update(sobject, record_id, payload["fields"])
    except PermanentError as exc:
        if sobject != "Lead" or exc.code != CONVERTED_LEAD:
            raise
        converted = salesforce.converted_lead(record_id)
        if converted is None:
            raise
        return {"converted": converted}
    return {"updated": record_id, "fields": sorted(payload["fields"])}
