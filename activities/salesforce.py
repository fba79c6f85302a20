"""Activities against the Salesforce org."""

from __future__ import annotations

from typing import Any

from simple_salesforce.format import format_soql

from activities import bp
from crosswalk.clients.salesforce import ACCOUNT_FIELDS
from crosswalk.errors import NotFound
from crosswalk.mapping import write_back_records
from crosswalk.services import services


@bp.activity_trigger(input_name="payload")
def sf_read_account(payload: dict[str, Any]) -> dict[str, Any]:
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
def sf_write_back_d2c_ids(payload: dict[str, Any]) -> dict[str, Any]:
    """Account and primary Contact get the D2C ids, in one sObject Collections call."""
    records = write_back_records(payload)
    results = services().salesforce.update_records(records, all_or_none=True)
    return {"updated": [r.get("id") for r in results]}


@bp.activity_trigger(input_name="payload")
def sf_clear_d2c_ids(payload: dict[str, Any]) -> dict[str, Any]:
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
def sf_read_account_fields(payload: dict[str, Any]) -> dict[str, Any]:
    """The Account without its Contacts (one API call); `account` is None once it is deleted."""
    soql = format_soql(
        f"SELECT {ACCOUNT_FIELDS} FROM Account WHERE Id = {{}}", payload["account_id"]
    )
    records = services().salesforce.call(lambda sf: sf.query(soql)).get("records", [])
    return {"account": records[0] if records else None}


@bp.activity_trigger(input_name="payload")
def sf_update_account(payload: dict[str, Any]) -> dict[str, Any]:
    """Write the D2C-owned fields to the Account (one API call)."""
    services().salesforce.update("Account", payload["account_id"], payload["fields"])
    return {"updated": payload["account_id"], "fields": sorted(payload["fields"])}


@bp.activity_trigger(input_name="payload")
def sf_upsert_signup(payload: dict[str, Any]) -> dict[str, Any]:
    """Upsert the Contact or Lead of a D2C sign-up by its D2C user id (external id).

    Upsert by external id is what makes a repeated sign-up event one record, not two.
    """
    sobject, user_id = payload["sobject"], payload["user_id"]
    fields = {k: v for k, v in payload["fields"].items() if k != "D2C_User_Id__c"}
    salesforce = services().salesforce
    record_id = salesforce.upsert(sobject, "D2C_User_Id__c", user_id, fields)
    if record_id is None:  # API versions before 46.0 answer an update with 204, no body
        record_id = salesforce.find_id(sobject, "D2C_User_Id__c", user_id)
    return {"sobject": sobject, "id": record_id}


@bp.activity_trigger(input_name="payload")
def sf_update_signup(payload: dict[str, Any]) -> dict[str, Any]:
    """Write the D2C-owned fields of a sign-up's Contact or Lead (one API call)."""
    services().salesforce.update(payload["sobject"], payload["id"], payload["fields"])
    return {"updated": payload["id"], "fields": sorted(payload["fields"])}
