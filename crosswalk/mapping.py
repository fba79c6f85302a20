"""Translations between Salesforce and D2C shapes: an Account -> the D2C customer it becomes,
and the rules every direction shares (e-mail, domains, cleaning). A sign-up's Contact or Lead
is in crosswalk/signup_mapping.py, field-by-field sync after onboarding in
crosswalk/field_mapping.py.

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
from crosswalk.d2c_models import (
    CreditTerms,
    CustomerCreate,
    CustomerKind,
    D2CAddress,
    SalesforceLink,
    UserInvite,
)
from crosswalk.salesforce_records import SalesforceAccount, SalesforceContact
from crosswalk.settings import OnboardingSettings

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# What Salesforce's Email fields take (Help KB 000384328 and 000001145): 80 characters; the
# local part letters, digits, !#$%&'*/=?^_+-`{|}~ and dots, not first; the domain letters,
# digits and dashes (non-Latin addresses only with Email Address Internationalization).
SALESFORCE_EMAIL = re.compile(
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


def clean(value: str | None) -> str | None:
    if value is None:
        return None
    text = value.strip()
    return text or None


def billing_address(account: SalesforceAccount, plan: OnboardingPlan) -> D2CAddress | None:
    compound = account.BillingAddress
    street = clean(account.BillingStreet) or clean(compound.street if compound else None)
    city = clean(account.BillingCity) or clean(compound.city if compound else None)
    state = clean(account.BillingState) or clean(compound.state if compound else None)
    postal = clean(account.BillingPostalCode) or clean(compound.postalCode if compound else None)
    country_text = clean(account.BillingCountry) or clean(compound.country if compound else None)
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


def credit_terms(
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


def limited(plan: OnboardingPlan, name: str, value: str | None, limit: int) -> str | None:
    if value is not None and len(value) > limit:
        plan.problems.append(MappingProblem(name, f"longer than {limit} characters"))
        return None
    return value


def plan_onboarding(account: SalesforceAccount, settings: OnboardingSettings) -> OnboardingPlan:
    """Salesforce Account + Contacts -> D2C customer organisation + its primary user."""
    plan = OnboardingPlan()
    name = clean(account.Name)
    if name is None:
        plan.problems.append(MappingProblem("Name", "is empty"))
    name = limited(plan, "Name", name, 255)
    phone = limited(plan, "Phone", clean(account.Phone), 40)
    tax_id = limited(plan, "Tax_Id__c", clean(account.Tax_Id__c), 32)
    website = limited(plan, "Website", clean(account.Website), 255)
    industry = limited(plan, "Industry", clean(account.Industry), 80)
    address = billing_address(account, plan)
    terms = credit_terms(account, settings, plan)
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
        first_name=clean(contact.FirstName),
        last_name=clean(contact.LastName),
        phone=clean(contact.Phone) or clean(contact.MobilePhone),
        role="admin",
        external_ref=contact.Id,
    )
    return plan
