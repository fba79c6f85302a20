"""Salesforce records as the REST API returns them, validated at the edge.

PascalCase API names, `attributes`, nulls, compound addresses and child subqueries, as
Salesforce writes them. Unknown fields are ignored: orgs add fields all the time.
"""

from __future__ import annotations

from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from crosswalk.ids import SalesforceAccountId, SalesforceContactId, SalesforceUserId


class _Salesforce(BaseModel):
    """Salesforce payloads: orgs carry fields we do not use, so extra fields are ignored."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class SObjectAttributes(_Salesforce):
    type: str
    url: str | None = None


class CompoundAddress(_Salesforce):
    """`BillingAddress` / `MailingAddress` as REST returns them: read-only, lowercase keys."""

    street: str | None = None
    city: str | None = None
    state: str | None = None
    postalCode: str | None = None
    country: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    geocodeAccuracy: str | None = None


class SalesforceContact(_Salesforce):
    attributes: SObjectAttributes | None = None
    Id: SalesforceContactId
    IsDeleted: bool | None = None
    AccountId: SalesforceAccountId | None = None
    FirstName: str | None = None
    LastName: str
    Email: str | None = None
    Phone: str | None = None
    MobilePhone: str | None = None
    Title: str | None = None
    HasOptedOutOfEmail: bool | None = None
    Primary_Contact__c: bool | None = None
    D2C_User_Id__c: str | None = None
    CreatedDate: AwareDatetime | None = None
    LastModifiedDate: AwareDatetime | None = None


class QueryResult(_Salesforce):
    """A query or child-subquery result: `{totalSize, done, records, nextRecordsUrl?}`."""

    totalSize: int
    done: bool
    records: list[dict[str, Any]]
    nextRecordsUrl: str | None = None


class SalesforceAccount(_Salesforce):
    attributes: SObjectAttributes | None = None
    Id: SalesforceAccountId
    IsDeleted: bool = False
    Name: str
    Type: str | None = None
    Industry: str | None = None
    Phone: str | None = None
    Website: str | None = None
    AnnualRevenue: float | None = None
    NumberOfEmployees: int | None = None
    BillingStreet: str | None = None
    BillingCity: str | None = None
    BillingState: str | None = None
    BillingPostalCode: str | None = None
    BillingCountry: str | None = None
    BillingAddress: CompoundAddress | None = None
    Tax_Id__c: str | None = None
    Credit_Limit__c: float | None = None
    Payment_Terms_Days__c: float | None = None
    Marketing_Consent__c: bool | None = None
    D2C_Customer_Id__c: str | None = None
    D2C_Primary_User_Id__c: str | None = None
    OwnerId: SalesforceUserId | None = None
    CreatedDate: AwareDatetime | None = None
    LastModifiedDate: AwareDatetime | None = None
    SystemModstamp: AwareDatetime
    Contacts: list[SalesforceContact] = Field(default_factory=list)

    @field_validator("Contacts", mode="before")
    @classmethod
    def _child_subquery(cls, value: Any) -> Any:
        """`(SELECT ... FROM Contacts)` arrives as a query result, or null when empty; a
        result not read to its end (`done: false`) is refused rather than taken as all, and
        deleted Contacts (queryAll returns them under live Accounts too) are left out."""
        if value is None:
            return []
        if isinstance(value, dict) and "records" in value:
            if value.get("done") is False:
                raise ValueError("only the first part of the Contacts: page it to the end")
            value = value["records"]
        if isinstance(value, list):  # queryAll also brings Contacts in the recycle bin
            return [c for c in value if not (isinstance(c, dict) and c.get("IsDeleted"))]
        return value
