"""Translations between Salesforce and D2C shapes.

Every rule about missing or invalid data is written out here and yields either a
`MappingProblem` (the record cannot go through as it is; a person must fix the source) or a
note (a documented choice was applied, e.g. a default from settings). Nothing is filled in
silently.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from pydantic import ValidationError

from crosswalk.countries import to_iso2
from crosswalk.models import (
    CreditTerms,
    Customer,
    CustomerCreate,
    CustomerKind,
    D2CAddress,
    D2CUser,
    SalesforceAccount,
    SalesforceContact,
    SalesforceLink,
    UserInvite,
)
from crosswalk.settings import OnboardingSettings

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# What Salesforce's Email fields take (Help KB 000384328 and 000001145): 80 characters; the
# local part letters, digits, !#$%&'*/=?^_+-`{|}~ and dots, not first; the domain letters,
# digits and dashes (non-Latin addresses only with Email Address Internationalization).
_SALESFORCE_EMAIL = re.compile(
    r"^[A-Za-z0-9!#$%&'*/=?^_+`{|}~-][A-Za-z0-9!#$%&'*/=?^_+`{|}~.-]*"
    r"@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$"
)
SALESFORCE_EMAIL_MAX = 80

FREE_MAIL_DOMAINS = frozenset(
    {
        "aol.com", "gmail.com", "googlemail.com", "gmx.de", "gmx.net", "hotmail.com",
        "icloud.com", "live.com", "mail.com", "me.com", "msn.com", "outlook.com",
        "proton.me", "protonmail.com", "web.de", "yahoo.com", "yahoo.co.uk", "yandex.ru",
        "zoho.com",
    }
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class MappingProblem:
    """Why a record cannot be mapped: the source field to fix, and what is wrong with it."""

    field: str
    reason: str

    def __str__(self) -> str:
        return f"{self.field}: {self.reason}"


@dataclass(slots=True)
class OnboardingPlan:
    """What to create in D2C for one account, or the problems that stop it."""

    customer: CustomerCreate | None = None
    primary_user: UserInvite | None = None
    primary_contact_id: str | None = None
    problems: list[MappingProblem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        return {
            "customer": self.customer.model_dump(mode="json") if self.customer else None,
            "primary_user": self.primary_user.model_dump(mode="json")
            if self.primary_user
            else None,
            "primary_contact_id": self.primary_contact_id,
            "problems": [{"field": p.field, "reason": p.reason} for p in self.problems],
            "notes": list(self.notes),
        }


def is_valid_email(value: str | None) -> bool:
    return bool(value) and len(value) <= 254 and bool(_EMAIL.match(value.strip()))


def email_domain(email: str) -> str:
    return email.strip().rsplit("@", 1)[-1].lower()


def website_domain(website: str | None) -> str | None:
    """`https://www.acme.example/about` -> `acme.example`; None when it is not a usable URL."""
    if not website or not website.strip():
        return None
    text = website.strip()
    host = urlsplit(text if "://" in text else f"https://{text}").hostname
    if not host or "." not in host:
        return None
    return host.lower().removeprefix("www.")


def _clean(value: str | None) -> str | None:
    if value is None:
        return None
    text = value.strip()
    return text or None


def _billing_address(account: SalesforceAccount, plan: OnboardingPlan) -> D2CAddress | None:
    compound = account.BillingAddress
    street = _clean(account.BillingStreet) or _clean(compound.street if compound else None)
    city = _clean(account.BillingCity) or _clean(compound.city if compound else None)
    state = _clean(account.BillingState) or _clean(compound.state if compound else None)
    postal = _clean(account.BillingPostalCode) or _clean(compound.postalCode if compound else None)
    country_text = _clean(account.BillingCountry) or _clean(compound.country if compound else None)
    if not any((street, city, state, postal, country_text)):
        plan.notes.append("no billing address in Salesforce; the D2C customer has none")
        return None
    missing = [
        name
        for name, value in (
            ("BillingStreet", street),
            ("BillingCity", city),
            ("BillingCountry", country_text),
        )
        if value is None
    ]
    for name in missing:
        plan.problems.append(MappingProblem(name, "required for a billing address"))
    country = to_iso2(country_text)
    if country_text is not None and country is None:
        plan.problems.append(
            MappingProblem("BillingCountry", f"{country_text!r} is not a known country")
        )
    if missing or country is None:
        return None
    lines = [line.strip() for line in street.splitlines() if line.strip()]  # type: ignore[union-attr]
    candidate = {
        "line1": lines[0],
        "line2": ", ".join(lines[1:]) or None,
        "city": city,
        "region": state,
        "postal_code": postal,
        "country": country,
    }
    try:
        return D2CAddress.model_validate(candidate)
    except ValidationError as exc:
        for err in exc.errors():
            plan.problems.append(MappingProblem(_billing_field(err["loc"]), err["msg"]))
        return None


_BILLING_FIELDS = {
    "line1": "BillingStreet",
    "line2": "BillingStreet",
    "city": "BillingCity",
    "region": "BillingState",
    "postal_code": "BillingPostalCode",
    "country": "BillingCountry",
}


def _billing_field(loc: tuple[Any, ...]) -> str:
    return _BILLING_FIELDS.get(str(loc[0]) if loc else "", "BillingAddress")


def _credit_terms(
    account: SalesforceAccount, settings: OnboardingSettings, plan: OnboardingPlan
) -> CreditTerms | None:
    limit = account.Credit_Limit__c
    if limit is None:
        plan.notes.append(
            "no Credit_Limit__c: the D2C customer gets no credit terms (pays up front)"
        )
        return None
    if limit < 0:
        plan.problems.append(MappingProblem("Credit_Limit__c", f"{limit} is negative"))
        return None
    days_value = account.Payment_Terms_Days__c
    if days_value is None:
        days = settings.default_payment_terms_days
        plan.notes.append(
            f"no Payment_Terms_Days__c: used ONBOARDING_DEFAULT_PAYMENT_TERMS_DAYS={days}"
        )
    elif days_value != int(days_value) or not 0 <= days_value <= 180:
        plan.problems.append(
            MappingProblem(
                "Payment_Terms_Days__c", f"{days_value} is not a whole number of days 0-180"
            )
        )
        return None
    else:
        days = int(days_value)
    plan.notes.append(
        "credit currency is the org currency: "
        f"ONBOARDING_DEFAULT_CURRENCY={settings.default_currency}"
    )
    return CreditTerms(limit=limit, currency=settings.default_currency, payment_terms_days=days)


def _primary_contact(
    contacts: list[SalesforceContact], plan: OnboardingPlan
) -> SalesforceContact | None:
    reachable = [c for c in contacts if is_valid_email(c.Email)]
    for contact in contacts:
        if contact.Email and not is_valid_email(contact.Email):
            plan.notes.append(
                f"contact {contact.Id} ignored: {contact.Email!r} is not a valid email"
            )
    marked = [c for c in reachable if c.Primary_Contact__c]
    if marked:
        return marked[0]
    if not reachable:
        plan.problems.append(
            MappingProblem("Contacts", "no contact with a valid email address to invite")
        )
        return None
    earliest = min(reachable, key=lambda c: (c.CreatedDate is None, c.CreatedDate, c.Id))
    plan.notes.append(
        f"no contact marked Primary_Contact__c; invited {earliest.Id}, the earliest with an email"
    )
    return earliest


def _limited(plan: OnboardingPlan, name: str, value: str | None, limit: int) -> str | None:
    if value is not None and len(value) > limit:
        plan.problems.append(MappingProblem(name, f"longer than {limit} characters"))
        return None
    return value


def plan_onboarding(account: SalesforceAccount, settings: OnboardingSettings) -> OnboardingPlan:
    """Salesforce Account + Contacts -> D2C customer organisation + its primary user."""
    plan = OnboardingPlan()
    name = _clean(account.Name)
    if name is None:
        plan.problems.append(MappingProblem("Name", "is empty"))
    name = _limited(plan, "Name", name, 255)
    phone = _limited(plan, "Phone", _clean(account.Phone), 40)
    tax_id = _limited(plan, "Tax_Id__c", _clean(account.Tax_Id__c), 32)
    website = _limited(plan, "Website", _clean(account.Website), 255)
    industry = _limited(plan, "Industry", _clean(account.Industry), 80)
    address = _billing_address(account, plan)
    terms = _credit_terms(account, settings, plan)
    contact = _primary_contact(account.Contacts, plan)

    domain = website_domain(website)
    if domain is None and contact is not None and contact.Email:
        candidate = email_domain(contact.Email)
        if candidate not in FREE_MAIL_DOMAINS:
            domain = candidate
            plan.notes.append(
                f"no usable Website; email domain {domain} taken from the primary contact"
            )
    if domain is None:
        plan.notes.append("no company email domain: sign-ups cannot be matched to this account")

    if not plan.ok or name is None or contact is None:
        return plan
    plan.customer = CustomerCreate(
        kind=CustomerKind.BUSINESS,
        external_ref=account.Id,
        name=name,
        email_domain=domain,
        phone=phone,
        website=website,
        tax_id=tax_id,
        industry=industry,
        billing_address=address,
        credit_terms=terms,
        marketing_consent=bool(account.Marketing_Consent__c),
        salesforce=SalesforceLink(account_id=account.Id),
    )
    plan.primary_contact_id = contact.Id
    plan.primary_user = UserInvite(
        email=contact.Email.strip().lower(),  # type: ignore[union-attr]
        first_name=_clean(contact.FirstName),
        last_name=_clean(contact.LastName),
        phone=_clean(contact.Phone) or _clean(contact.MobilePhone),
        role="admin",
        external_ref=contact.Id,
    )
    return plan


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
    last_name = _clean(user.last_name)
    if last_name is None:
        plan.problems.append(MappingProblem("user.last_name", "Salesforce requires a last name"))
    email = user.email.strip().lower()
    if not is_valid_email(user.email):
        plan.problems.append(MappingProblem("user.email", f"{user.email!r} is not a valid email"))
    elif len(email) > SALESFORCE_EMAIL_MAX:
        plan.problems.append(
            MappingProblem("user.email", f"longer than Salesforce's {SALESFORCE_EMAIL_MAX}")
        )
    elif not _SALESFORCE_EMAIL.match(email):
        plan.problems.append(
            MappingProblem("user.email", f"{user.email!r} is not an address Salesforce accepts")
        )
    return {
        "FirstName": _limited_signup(plan, "user.first_name", _clean(user.first_name), 40),
        "LastName": _limited_signup(plan, "user.last_name", last_name, 80),
        "Email": email,
        "Phone": _limited_signup(plan, "user.phone", _clean(user.phone), 40),
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
    company = _clean(customer.name)
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
            out[name] = _clean(value) if isinstance(value, str) or value is None else value
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
        name = _clean(account.Name)
        if name is None:
            plan.problems.append(MappingProblem("Name", "is empty"))
        return _limited(plan, "Name", name, 255)

    take("name", name_of)
    take("phone", lambda p: _limited(p, "Phone", _clean(account.Phone), 40))
    take("website", lambda p: _limited(p, "Website", _clean(account.Website), 255))
    take("tax_id", lambda p: _limited(p, "Tax_Id__c", _clean(account.Tax_Id__c), 32))
    take("industry", lambda p: _limited(p, "Industry", _clean(account.Industry), 80))
    take("billing_address", lambda p: _dumped(_billing_address(account, p)))
    take("credit_terms", lambda p: _dumped(_credit_terms(account, settings, p)))
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


def signup_updates(
    sobject: str, customer: Customer, changed_fields: list[str], d2c_owned: set[str]
) -> dict[str, Any]:
    """A storefront edit of a linked sign-up -> the fields of its Contact or Lead to write.

    Phone and consent go only when D2C owns them (FIELD_OWNER_*); a Lead's Company is always
    the customer's name, since the Lead exists only because of the sign-up.
    """
    fields: dict[str, Any] = {}
    if "phone" in changed_fields and "phone" in d2c_owned:
        fields["Phone"] = _clean(customer.phone)
    consent = "marketing_consent"
    if consent in changed_fields and consent in d2c_owned and sobject == "Contact":
        fields["HasOptedOutOfEmail"] = not customer.marketing_consent
    company = _clean(customer.name)
    if "name" in changed_fields and sobject == "Lead" and company:
        fields["Company"] = company[:255]
    return fields


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
