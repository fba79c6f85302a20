"""Activities against the Salesforce org."""

from __future__ import annotations

from typing import Any

from activities import bp
from crosswalk.errors import NotFound
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
    records: list[dict[str, Any]] = [
        {
            "attributes": {"type": "Account"},
            "Id": payload["account_id"],
            "D2C_Customer_Id__c": payload["d2c_customer_id"],
            "D2C_Primary_User_Id__c": payload.get("d2c_primary_user_id"),
            "Crosswalk_Sync_Status__c": "synced",
        }
    ]
    if payload.get("contact_id") and payload.get("d2c_primary_user_id"):
        records.append(
            {
                "attributes": {"type": "Contact"},
                "Id": payload["contact_id"],
                "D2C_User_Id__c": payload["d2c_primary_user_id"],
            }
        )
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
