"""A D2C sign-up -> the Salesforce Contact or Lead it becomes, and what its later storefront
edits change there (crosswalk/mapping.py holds the rules both directions share)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from crosswalk.d2c_models import Customer, CustomerKind, D2CUser
from crosswalk.mapping import (
    FREE_MAIL_DOMAINS,
    SALESFORCE_EMAIL,
    SALESFORCE_EMAIL_MAX,
    MappingProblem,
    clean,
    email_domain,
    is_valid_email,
)


@dataclass(slots=True)
class SignupPlan:
    """The Salesforce record a D2C sign-up becomes: a Contact under an Account, or a Lead."""

    sobject: str = "Contact"
    fields: dict[str, Any] = field(default_factory=dict)
    problems: list[MappingProblem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def matchable_domain(email: str) -> str | None:
    """The company domain a sign-up can be matched on; free-mail domains never match."""
    if not is_valid_email(email):
        return None
    domain = email_domain(email)
    return None if domain in FREE_MAIL_DOMAINS else domain


def _person_fields(user: D2CUser, customer: Customer, plan: SignupPlan) -> dict[str, Any]:
    last_name = clean(user.last_name)
    if last_name is None:
        plan.problems.append(MappingProblem("user.last_name", "Salesforce requires a last name"))
    email = user.email.strip().lower()
    if not is_valid_email(user.email):
        plan.problems.append(MappingProblem("user.email", f"{user.email!r} is not a valid email"))
    elif len(email) > SALESFORCE_EMAIL_MAX:
        plan.problems.append(
            MappingProblem("user.email", f"longer than Salesforce's {SALESFORCE_EMAIL_MAX}")
        )
    elif not SALESFORCE_EMAIL.match(email):
        plan.problems.append(
            MappingProblem("user.email", f"{user.email!r} is not an address Salesforce accepts")
        )
    return {
        "FirstName": _limited_signup(plan, "user.first_name", clean(user.first_name), 40),
        "LastName": _limited_signup(plan, "user.last_name", last_name, 80),
        "Email": email,
        "Phone": _limited_signup(plan, "user.phone", clean(user.phone), 40),
        "D2C_User_Id__c": user.id,
    }


def _limited_signup(plan: SignupPlan, name: str, value: str | None, limit: int) -> str | None:
    if value is not None and len(value) > limit:
        plan.problems.append(MappingProblem(name, f"longer than {limit} characters"))
        return None
    return value


def plan_contact(user: D2CUser, customer: Customer, account_id: str) -> SignupPlan:
    """A sign-up whose email domain matched a synced account becomes its Contact."""
    plan = SignupPlan(sobject="Contact")
    plan.fields = _person_fields(user, customer, plan)
    plan.fields["AccountId"] = account_id
    plan.fields["HasOptedOutOfEmail"] = not customer.marketing_consent
    return plan


def plan_lead(user: D2CUser, customer: Customer) -> SignupPlan:
    """A sign-up that matched no account becomes a Lead; Company is required by Salesforce."""
    plan = SignupPlan(sobject="Lead")
    plan.fields = _person_fields(user, customer, plan)
    company = clean(customer.name)
    if customer.kind is CustomerKind.CONSUMER:
        plan.notes.append("consumer sign-up: Lead.Company is the customer's own name")
    plan.fields["Company"] = _limited_signup(plan, "customer.name", company, 255)
    if company is None:
        plan.problems.append(MappingProblem("customer.name", "Salesforce requires a Lead company"))
    plan.fields["LeadSource"] = "D2C Storefront"
    plan.fields["D2C_Customer_Id__c"] = customer.id
    return plan


def adoption_fields(planned: dict[str, Any], existing: dict[str, Any]) -> dict[str, Any]:
    """What a sign-up writes to a record a person in Salesforce created before it.

    The record gains the D2C user id and whatever it lacks; what someone typed in Salesforce
    stays. One exception: an email opt-out from the storefront is the person's own newest
    choice and is honoured, while an opt-out recorded in Salesforce is never turned back on.
    """
    fields = {
        name: value
        for name, value in planned.items()
        if value not in (None, "") and existing.get(name) in (None, "")
    }
    if planned.get("HasOptedOutOfEmail") is True and existing.get("HasOptedOutOfEmail") is False:
        fields["HasOptedOutOfEmail"] = True
    fields.pop("AccountId", None)  # matched under this account; moving it is not ours to do
    return fields


# ---------------------------------------------------------------- updates (flow 2)


def signup_updates(
    sobject: str, customer: Customer, changed_fields: list[str], d2c_owned: set[str]
) -> dict[str, Any]:
    """A storefront edit of a linked sign-up -> the fields of its Contact or Lead to write.

    Phone and consent go only when D2C owns them (FIELD_OWNER_*); a Lead's Company is always
    the customer's name, since the Lead exists only because of the sign-up.
    """
    fields: dict[str, Any] = {}
    if "phone" in changed_fields and "phone" in d2c_owned:
        fields["Phone"] = clean(customer.phone)
    consent = "marketing_consent"
    if consent in changed_fields and consent in d2c_owned and sobject == "Contact":
        fields["HasOptedOutOfEmail"] = not customer.marketing_consent
    company = clean(customer.name)
    if "name" in changed_fields and sobject == "Lead" and company:
        fields["Company"] = company[:255]
    return fields
