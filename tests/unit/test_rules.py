"""Approval rules: a pure function of the account and the settings."""

from __future__ import annotations

import pytest

from crosswalk.rules import approval_reasons, qualifies_for_onboarding
from crosswalk.salesforce_records import SalesforceAccount
from crosswalk.settings import ApprovalSettings, OnboardingSettings


@pytest.fixture
def account(account_payload) -> SalesforceAccount:
    return SalesforceAccount.model_validate(account_payload)


def _codes(account: SalesforceAccount, **overrides) -> list[str]:
    settings = ApprovalSettings.model_validate(overrides)
    return [reason.code for reason in approval_reasons(account, settings)]


def test_an_ordinary_account_needs_no_approval(account):
    assert _codes(account) == []


def test_credit_limit_over_threshold_needs_approval_and_says_why(account):
    big = account.model_copy(update={"Credit_Limit__c": 300_000.0})

    reasons = approval_reasons(big, ApprovalSettings.model_validate({}))

    assert [r.code for r in reasons] == ["CREDIT_LIMIT_OVER_THRESHOLD"]
    assert "300,000" in reasons[0].message and "250,000" in reasons[0].message


def test_limit_equal_to_threshold_does_not_need_approval(account):
    assert _codes(account.model_copy(update={"Credit_Limit__c": 250_000.0})) == []


def test_risky_country_by_name_or_code(account):
    assert _codes(account.model_copy(update={"BillingCountry": "Iran"})) == ["RISKY_COUNTRY"]
    assert _codes(account, risky_countries="DE") == ["RISKY_COUNTRY"]


def test_missing_tax_id_needs_approval_unless_disabled(account):
    no_tax = account.model_copy(update={"Tax_Id__c": "  "})

    assert _codes(no_tax) == ["MISSING_TAX_ID"]
    assert _codes(no_tax, require_tax_id=False) == []


def test_several_reasons_are_all_reported(account):
    risky = account.model_copy(
        update={"Credit_Limit__c": 1e6, "AnnualRevenue": 5e9, "Tax_Id__c": None}
    )

    assert _codes(risky) == [
        "CREDIT_LIMIT_OVER_THRESHOLD",
        "ANNUAL_REVENUE_OVER_THRESHOLD",
        "MISSING_TAX_ID",
    ]


def test_only_configured_account_types_qualify(account):
    settings = OnboardingSettings.model_validate({})

    assert qualifies_for_onboarding(account, settings)
    assert not qualifies_for_onboarding(account.model_copy(update={"Type": "Prospect"}), settings)
    assert not qualifies_for_onboarding(account.model_copy(update={"IsDeleted": True}), settings)
