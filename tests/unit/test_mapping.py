"""Mapping: every missing or invalid value is a named problem or a documented note."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from crosswalk.d2c_models import Customer, D2CUser
from crosswalk.mapping import plan_onboarding, website_domain
from crosswalk.salesforce_records import SalesforceAccount
from crosswalk.settings import OnboardingSettings
from crosswalk.signup_mapping import adoption_fields, matchable_domain, plan_contact, plan_lead

SETTINGS = OnboardingSettings.model_validate({"default_currency": "EUR"})


def _plan(payload):
    return plan_onboarding(SalesforceAccount.model_validate(payload), SETTINGS)


def test_account_maps_to_business_customer_and_primary_user(account_payload):
    plan = _plan(account_payload)

    assert plan.ok, plan.problems
    customer = plan.customer
    assert customer.kind == "business"
    assert customer.external_ref == "001RM000004UF9sYAG"
    assert customer.name == "Acme GmbH"
    assert customer.email_domain == "acme.example"
    assert customer.billing_address.model_dump() == {
        "line1": "1 Main St",
        "line2": "Building B",
        "city": "Berlin",
        "region": None,
        "postal_code": "10115",
        "country": "DE",
    }
    assert customer.credit_terms.model_dump() == {
        "limit": 50000.0,
        "currency": "EUR",
        "payment_terms_days": 45,
    }
    assert customer.salesforce.account_id == "001RM000004UF9sYAG"
    assert plan.primary_contact_id == "0039000000XyZabAAF"
    assert plan.primary_user.email == "ada@acme.example"
    assert plan.primary_user.role == "admin"
    assert plan.primary_user.external_ref == "0039000000XyZabAAF"


def test_without_a_marked_primary_the_earliest_contact_is_invited_with_a_note(account_payload):
    for contact in account_payload["Contacts"]["records"]:
        contact["Primary_Contact__c"] = False

    plan = _plan(account_payload)

    assert plan.primary_contact_id == "0039000000AbCdEAAV"
    assert any("earliest" in note for note in plan.notes)


def test_no_contact_with_an_email_is_a_problem(account_payload):
    for contact in account_payload["Contacts"]["records"]:
        contact["Email"] = None

    plan = _plan(account_payload)

    assert not plan.ok
    assert [p.field for p in plan.problems] == ["Contacts"]
    assert plan.customer is None


def test_unknown_country_is_a_problem_naming_the_field(account_payload):
    account_payload["BillingCountry"] = "Narnia"

    plan = _plan(account_payload)

    assert [str(p) for p in plan.problems] == ["BillingCountry: 'Narnia' is not a known country"]


def test_partial_billing_address_names_each_missing_part(account_payload):
    account_payload["BillingStreet"] = None
    account_payload["BillingCity"] = " "
    account_payload["BillingAddress"] = None

    plan = _plan(account_payload)

    assert [p.field for p in plan.problems] == ["BillingStreet", "BillingCity"]


def test_no_billing_address_at_all_is_allowed_and_noted(account_payload):
    for name in ("BillingStreet", "BillingCity", "BillingPostalCode", "BillingCountry"):
        account_payload[name] = None
    account_payload["BillingAddress"] = None

    plan = _plan(account_payload)

    assert plan.ok and plan.customer.billing_address is None
    assert any("no billing address" in note for note in plan.notes)


def test_missing_payment_terms_use_the_setting_and_say_so(account_payload):
    account_payload["Payment_Terms_Days__c"] = None

    plan = _plan(account_payload)

    assert plan.customer.credit_terms.payment_terms_days == 30
    assert any("ONBOARDING_DEFAULT_PAYMENT_TERMS_DAYS=30" in note for note in plan.notes)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("Credit_Limit__c", -1.0),
        ("Payment_Terms_Days__c", 30.5),
        ("Payment_Terms_Days__c", 365.0),
        ("Tax_Id__c", "X" * 33),
        ("Phone", "1" * 41),
        ("Name", "   "),
    ],
)
def test_invalid_values_are_problems_on_their_field(account_payload, field, value):
    account_payload[field] = value

    plan = _plan(account_payload)

    assert [p.field for p in plan.problems] == [field]
    assert plan.customer is None


def test_no_website_takes_the_domain_from_a_company_email(account_payload):
    account_payload["Website"] = None

    plan = _plan(account_payload)

    assert plan.customer.email_domain == "acme.example"


def test_free_mail_never_becomes_a_company_domain(account_payload):
    account_payload["Website"] = None
    for contact in account_payload["Contacts"]["records"]:
        contact["Email"] = "someone@gmail.com"

    plan = _plan(account_payload)

    assert plan.customer.email_domain is None
    assert any("cannot be matched" in note for note in plan.notes)


@pytest.mark.parametrize(
    ("website", "domain"),
    [
        ("https://www.acme.example/about", "acme.example"),
        ("acme.example", "acme.example"),
        ("http://Shop.Acme.Example", "shop.acme.example"),
        ("not a url", None),
        ("", None),
    ],
)
def test_website_domain(website, domain):
    assert website_domain(website) == domain


def _customer(kind="business", name="Acme GmbH", consent=True) -> Customer:
    now = datetime(2026, 11, 26, tzinfo=UTC)
    return Customer(
        id="cus_0000000001",
        kind=kind,
        name=name,
        status="active",
        version=1,
        marketing_consent=consent,
        created_at=now,
        updated_at=now,
    )


def _user(**overrides) -> D2CUser:
    values = {
        "id": "usr_0000000001",
        "customer_id": "cus_0000000001",
        "email": "Lin@Acme.example",
        "first_name": "Lin",
        "last_name": "Chen",
        "role": "buyer",
        "status": "active",
        "created_at": datetime(2026, 11, 26, tzinfo=UTC),
    }
    return D2CUser(**{**values, **overrides})


def test_matched_signup_becomes_a_contact_of_the_account():
    plan = plan_contact(_user(), _customer(consent=False), "001RM000004UF9sYAG")

    assert plan.ok and plan.sobject == "Contact"
    assert plan.fields == {
        "FirstName": "Lin",
        "LastName": "Chen",
        "Email": "lin@acme.example",
        "Phone": None,
        "D2C_User_Id__c": "usr_0000000001",
        "AccountId": "001RM000004UF9sYAG",
        "HasOptedOutOfEmail": True,
    }


def test_unmatched_consumer_signup_becomes_a_lead_named_after_the_person():
    plan = plan_lead(_user(), _customer(kind="consumer", name="Lin Chen"))

    assert plan.ok and plan.sobject == "Lead"
    assert plan.fields["Company"] == "Lin Chen"
    assert plan.fields["D2C_Customer_Id__c"] == "cus_0000000001"
    assert plan.notes


@pytest.mark.parametrize(
    "email",
    [f"{'a' * 70}@acme.example", "jürgen@acme.example", ".lead@acme.example", "a@acme_corp.de"],
)
def test_a_signup_email_salesforce_would_refuse_is_a_problem_before_any_call(email):
    plan = plan_lead(_user(email=email), _customer())

    assert [p.field for p in plan.problems] == ["user.email"]


def test_signup_without_last_name_is_a_problem():
    plan = plan_lead(_user(last_name=None), _customer())

    assert [p.field for p in plan.problems] == ["user.last_name"]


@pytest.mark.parametrize(
    ("email", "domain"),
    [("a@acme.example", "acme.example"), ("a@GMAIL.com", None), ("nope", None)],
)
def test_matchable_domain(email, domain):
    assert matchable_domain(email) == domain


def test_adopting_a_salesforce_contact_fills_its_gaps_and_keeps_what_people_typed():
    planned = {
        "FirstName": "Jane",
        "LastName": "Doe",
        "Email": "jane@acme.example",
        "Phone": "+49 30 1",
        "AccountId": "001000000000001AAA",
        "HasOptedOutOfEmail": False,
    }
    existing = {
        "FirstName": None,
        "LastName": "Doe-Smith",
        "Email": "JANE@ACME.EXAMPLE",
        "Phone": "",
        "AccountId": "001000000000001AAA",
        "HasOptedOutOfEmail": True,
    }

    fields = adoption_fields(planned, existing)

    assert fields == {"FirstName": "Jane", "Phone": "+49 30 1"}


def test_adopting_honours_a_storefront_email_opt_out():
    planned = {"LastName": "Doe", "HasOptedOutOfEmail": True}
    existing = {"LastName": "Doe", "HasOptedOutOfEmail": False}

    assert adoption_fields(planned, existing) == {"HasOptedOutOfEmail": True}
