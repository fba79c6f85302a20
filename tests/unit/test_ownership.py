"""Field ownership: the owner's value wins, non-owner edits are ignored, no field goes both ways."""

from __future__ import annotations

from crosswalk.field_mapping import (
    AccountFields,
    account_fields,
    account_values,
    customer_values,
    touched_fields,
)
from crosswalk.ownership import owner_of, plan_sync
from crosswalk.salesforce_records import SalesforceAccount
from crosswalk.settings import FieldOwnershipSettings, OnboardingSettings, System

OWNERS = FieldOwnershipSettings.model_validate({})
AGREED = {
    "name": "Acme GmbH",
    "phone": "+49 30 1",
    "website": "https://acme.example",
    "email_domain": "acme.example",
    "tax_id": "DE1",
    "industry": "Retail",
    "billing_address": None,
    "credit_terms": None,
    "marketing_consent": False,
}


def _salesforce(**values: object) -> AccountFields:
    return AccountFields(values={**AGREED, **values})


def test_default_owners_follow_the_readme():
    assert owner_of("name", OWNERS) is System.SALESFORCE
    assert owner_of("phone", OWNERS) is System.D2C
    assert owner_of("marketing_consent", OWNERS) is System.D2C
    assert owner_of("email_domain", OWNERS) is System.SALESFORCE  # follows the website


def test_a_salesforce_change_of_a_salesforce_owned_field_goes_to_d2c_only():
    plan = plan_sync(
        agreed=AGREED, ownership=OWNERS, restore=True, salesforce=_salesforce(name="Acme AG")
    )

    assert plan.d2c_patch == {"name": "Acme AG"}
    assert plan.account_patch == {}
    assert plan.agreed["name"] == "Acme AG"
    assert plan.propagated == ["name: salesforce -> d2c"]


def test_a_d2c_change_of_a_d2c_owned_field_goes_to_salesforce_only():
    plan = plan_sync(
        agreed=AGREED, ownership=OWNERS, restore=True, d2c={**AGREED, "marketing_consent": True}
    )

    assert plan.account_patch == {"Marketing_Consent__c": True}
    assert plan.d2c_patch == {}


def test_a_non_owner_edit_is_ignored_and_restored():
    plan = plan_sync(
        agreed=AGREED, ownership=OWNERS, restore=True, d2c={**AGREED, "name": "Shop Name"}
    )

    assert plan.d2c_patch == {"name": "Acme GmbH"}
    assert plan.agreed["name"] == "Acme GmbH"
    assert plan.ignored == ["d2c edit of name ignored: owned by salesforce; restored"]


def test_without_restore_a_non_owner_edit_is_only_ignored():
    plan = plan_sync(
        agreed=AGREED, ownership=OWNERS, restore=False, salesforce=_salesforce(phone="+1 999")
    )

    assert not plan.writes
    assert plan.agreed["phone"] == "+49 30 1"
    assert "not restored" in plan.ignored[0]


def test_a_salesforce_field_named_by_an_event_but_not_read_is_restored_from_the_agreed_value():
    plan = plan_sync(
        agreed=AGREED, ownership=OWNERS, restore=True, salesforce_touched=frozenset({"phone"})
    )

    assert plan.account_patch == {"Phone": "+49 30 1"}


def test_the_owner_wins_when_both_sides_changed_one_field():
    plan = plan_sync(
        agreed=AGREED,
        ownership=OWNERS,
        restore=False,
        salesforce=_salesforce(name="Owner Name"),
        d2c={**AGREED, "name": "Shop Name"},
    )

    assert plan.d2c_patch == {"name": "Owner Name"}


def test_values_both_sides_already_hold_need_no_write():
    plan = plan_sync(
        agreed=AGREED, ownership=OWNERS, restore=True, salesforce=_salesforce(), d2c=dict(AGREED)
    )

    assert not plan.writes and not plan.propagated and not plan.ignored


def test_a_field_salesforce_cannot_map_keeps_its_agreed_value_and_is_reported():
    fields = _salesforce(name="Acme AG")
    del fields.values["billing_address"]
    fields.problems["billing_address"] = ["BillingCountry: 'Atlantis' is not a known country"]

    plan = plan_sync(agreed=AGREED, ownership=OWNERS, restore=True, salesforce=fields)

    assert plan.d2c_patch == {"name": "Acme AG"}
    assert plan.problems == ["billing_address: BillingCountry: 'Atlantis' is not a known country"]


def test_ownership_can_be_turned_around_by_setting():
    owners = FieldOwnershipSettings.model_validate({"phone": "salesforce", "name": "d2c"})

    plan = plan_sync(
        agreed=AGREED, ownership=owners, restore=True, salesforce=_salesforce(phone="+1 2")
    )

    assert plan.d2c_patch == {"phone": "+1 2"}
    assert plan.account_patch == {}


def test_the_first_update_aligns_every_field_to_its_owner():
    plan = plan_sync(
        agreed=None,
        ownership=OWNERS,
        restore=False,
        salesforce=_salesforce(name="Fresh Name", phone="+1 sf"),
        d2c={**AGREED, "phone": "+1 d2c"},
    )

    assert plan.d2c_patch == {"name": "Fresh Name"}
    assert plan.account_patch == {"Phone": "+1 d2c"}


def test_change_event_fields_map_to_the_d2c_fields_they_feed():
    assert touched_fields(["BillingAddress.City", "Phone", "LastModifiedDate"]) == {
        "billing_address",
        "phone",
    }
    assert touched_fields(["Description", "LastModifiedById"]) == set()


def test_account_values_are_the_reverse_of_account_fields():
    record = {
        "Id": "001dL0000004C92QAE",
        "Name": "Acme GmbH",
        "BillingStreet": "Hauptstr. 1\nHinterhaus",
        "BillingCity": "Berlin",
        "BillingCountry": "DE",
        "Credit_Limit__c": 5000,
        "Payment_Terms_Days__c": 45,
        "Marketing_Consent__c": True,
        "SystemModstamp": "2026-01-01T00:00:00.000+0000",
    }
    settings = OnboardingSettings.model_validate({})
    mapped = account_fields(SalesforceAccount.model_validate(record), settings).values

    names = ("billing_address", "credit_terms", "marketing_consent", "name")
    back: dict[str, object] = {}
    for name in names:
        back.update(account_values(name, mapped[name]))
    again = account_fields(SalesforceAccount.model_validate({**record, **back}), settings).values

    assert {n: again[n] for n in names} == {n: mapped[n] for n in names}
    assert mapped["billing_address"]["line2"] == "Hinterhaus"
    assert back["BillingStreet"] == "Hauptstr. 1\nHinterhaus"


def test_customer_values_pick_the_synced_fields():
    values = customer_values({**AGREED, "id": "cus_x", "version": 3})

    assert set(values) == set(AGREED)
