"""Field by field after onboarding: which Account fields map to which D2C fields, their values
in one comparable form for both systems, and the write-back that links the two records."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from crosswalk.d2c_models import CreditTerms, Customer, D2CAddress
from crosswalk.mapping import (
    MappingProblem,
    OnboardingPlan,
    billing_address,
    clean,
    credit_terms,
    limited,
    website_domain,
)
from crosswalk.salesforce_records import SalesforceAccount
from crosswalk.settings import OnboardingSettings

MAPPED_FIELDS = (
    "name",
    "phone",
    "website",
    "tax_id",
    "industry",
    "billing_address",
    "credit_terms",
    "marketing_consent",
)
"""The D2C customer fields Crosswalk keeps in step with the Account, each with one owner."""

DERIVED_FIELDS = {"email_domain": "website"}
"""Fields computed from another mapped field; they follow that field's owner."""

ACCOUNT_SOURCES: dict[str, tuple[str, ...]] = {
    "name": ("Name",),
    "phone": ("Phone",),
    "website": ("Website",),
    "tax_id": ("Tax_Id__c",),
    "industry": ("Industry",),
    "billing_address": (
        "BillingStreet",
        "BillingCity",
        "BillingState",
        "BillingPostalCode",
        "BillingCountry",
    ),
    "credit_terms": ("Credit_Limit__c", "Payment_Terms_Days__c"),
    "marketing_consent": ("Marketing_Consent__c",),
}
"""Each mapped D2C field and the Account fields it is made from."""

_SOURCE_TO_FIELD = {source: name for name, sources in ACCOUNT_SOURCES.items() for source in sources}


EVENT_SOURCES = {
    "Name": "name",
    "Phone": "phone",
    "Website": "website",
    "Tax_Id__c": "tax_id",
    "Industry": "industry",
    "Marketing_Consent__c": "marketing_consent",
}
"""Account fields whose new value a change event carries whole (not compound, not combined)."""


def event_values(values: dict[str, Any]) -> dict[str, Any]:
    """Raw Account values from a change event -> the D2C fields they map to, cleaned alike."""
    out: dict[str, Any] = {}
    for source, value in values.items():
        name = EVENT_SOURCES.get(source)
        if name == "marketing_consent":
            out[name] = bool(value)
        elif name is not None:
            out[name] = clean(value) if isinstance(value, str) or value is None else value
    return out


def touched_fields(changed_fields: list[str]) -> set[str]:
    """Change-event `changedFields` (`Phone`, `BillingAddress.City`) -> mapped D2C fields."""
    touched: set[str] = set()
    for changed in changed_fields:
        if changed.startswith("BillingAddress"):
            touched.add("billing_address")
        elif changed in _SOURCE_TO_FIELD:
            touched.add(_SOURCE_TO_FIELD[changed])
    return touched


@dataclass(slots=True)
class AccountFields:
    """The mapped fields of one Account in D2C form; a field with problems has no value."""

    values: dict[str, Any] = field(default_factory=dict)
    problems: dict[str, list[MappingProblem]] = field(default_factory=dict)


def account_fields(account: SalesforceAccount, settings: OnboardingSettings) -> AccountFields:
    """Account -> D2C values of every mapped field, by the same rules as onboarding.

    A field that cannot be mapped (an unknown country, a name too long) is left out and
    named in `problems`, so the fields that can go through still do.
    """
    out = AccountFields()

    def take(name: str, compute: Any) -> None:
        scratch = OnboardingPlan()
        value = compute(scratch)
        if scratch.problems:
            out.problems[name] = list(scratch.problems)
        else:
            out.values[name] = value

    def name_of(plan: OnboardingPlan) -> str | None:
        name = clean(account.Name)
        if name is None:
            plan.problems.append(MappingProblem("Name", "is empty"))
        return limited(plan, "Name", name, 255)

    take("name", name_of)
    take("phone", lambda p: limited(p, "Phone", clean(account.Phone), 40))
    take("website", lambda p: limited(p, "Website", clean(account.Website), 255))
    take("tax_id", lambda p: limited(p, "Tax_Id__c", clean(account.Tax_Id__c), 32))
    take("industry", lambda p: limited(p, "Industry", clean(account.Industry), 80))
    take("billing_address", lambda p: _dumped(billing_address(account, p)))
    take("credit_terms", lambda p: _dumped(credit_terms(account, settings, p)))
    out.values["marketing_consent"] = bool(account.Marketing_Consent__c)
    if "website" in out.values:
        domain = website_domain(out.values["website"])
        if domain is not None:  # without a usable website the domain stays what it was
            out.values["email_domain"] = domain
    return out


def _dumped(model: Any) -> Any:
    return model.model_dump(mode="json") if model is not None else None


def account_values(name: str, value: Any) -> dict[str, Any]:
    """One D2C field's value -> the Account fields to write (the reverse of `account_fields`)."""
    if name in DERIVED_FIELDS:
        return {}
    if name == "billing_address":
        if value is None:
            return dict.fromkeys(ACCOUNT_SOURCES["billing_address"])
        address = D2CAddress.model_validate(value)
        street = address.line1 + (f"\n{address.line2}" if address.line2 else "")
        return {
            "BillingStreet": street,
            "BillingCity": address.city,
            "BillingState": address.region,
            "BillingPostalCode": address.postal_code,
            "BillingCountry": address.country,
        }
    if name == "credit_terms":
        if value is None:
            return {"Credit_Limit__c": None, "Payment_Terms_Days__c": None}
        terms = CreditTerms.model_validate(value)
        return {"Credit_Limit__c": terms.limit, "Payment_Terms_Days__c": terms.payment_terms_days}
    if name == "marketing_consent":
        return {"Marketing_Consent__c": bool(value)}
    (source,) = ACCOUNT_SOURCES[name]
    return {source: value}


def customer_values(customer: Customer | dict[str, Any]) -> dict[str, Any]:
    """A D2C customer -> the mapped (and derived) fields in the form `account_fields` uses."""
    data = customer.model_dump(mode="json") if isinstance(customer, Customer) else customer
    return {name: data.get(name) for name in (*MAPPED_FIELDS, *DERIVED_FIELDS)}


def write_back_records(write_back: dict[str, Any]) -> list[dict[str, Any]]:
    """The sObject Collections records that link an onboarded Account (and its Contact)."""
    records: list[dict[str, Any]] = [
        {
            "attributes": {"type": "Account"},
            "Id": write_back["account_id"],
            "D2C_Customer_Id__c": write_back["d2c_customer_id"],
            "D2C_Primary_User_Id__c": write_back.get("d2c_primary_user_id"),
            "Crosswalk_Sync_Status__c": "synced",
        }
    ]
    if write_back.get("contact_id") and write_back.get("d2c_primary_user_id"):
        records.append(
            {
                "attributes": {"type": "Contact"},
                "Id": write_back["contact_id"],
                "D2C_User_Id__c": write_back["d2c_primary_user_id"],
            }
        )
    return records
