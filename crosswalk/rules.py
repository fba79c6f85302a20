"""Business rules: which accounts become D2C customers, and which need a person's approval."""

from __future__ import annotations

from crosswalk.countries import to_iso2
from crosswalk.models import ApprovalReason
from crosswalk.salesforce_records import SalesforceAccount
from crosswalk.settings import ApprovalSettings, OnboardingSettings


def qualifies_for_onboarding(account: SalesforceAccount, settings: OnboardingSettings) -> bool:
    """An account becomes a D2C customer when its Type is one of the configured types."""
    return not account.IsDeleted and (account.Type or "") in settings.account_types


def approval_reasons(
    account: SalesforceAccount, settings: ApprovalSettings
) -> list[ApprovalReason]:
    """Every reason a person must approve this onboarding; empty means go ahead.

    A pure function of the account and the settings, so the orchestrator may call it during
    replay and get the same answer.
    """
    reasons: list[ApprovalReason] = []
    limit = account.Credit_Limit__c
    if limit is not None and limit > settings.credit_limit_threshold:
        reasons.append(
            ApprovalReason(
                code="CREDIT_LIMIT_OVER_THRESHOLD",
                message=f"credit limit {limit:,.0f} is over {settings.credit_limit_threshold:,.0f}",
            )
        )
    revenue = account.AnnualRevenue
    if revenue is not None and revenue > settings.annual_revenue_threshold:
        reasons.append(
            ApprovalReason(
                code="ANNUAL_REVENUE_OVER_THRESHOLD",
                message=(
                    f"annual revenue {revenue:,.0f} is over "
                    f"{settings.annual_revenue_threshold:,.0f}"
                ),
            )
        )
    country = to_iso2(account.BillingCountry)
    if country is not None and country in settings.risky_countries:
        reasons.append(
            ApprovalReason(
                code="RISKY_COUNTRY",
                message=f"billing country {country} is on the review list",
            )
        )
    if settings.require_tax_id and not (account.Tax_Id__c or "").strip():
        reasons.append(ApprovalReason(code="MISSING_TAX_ID", message="the account has no tax id"))
    return reasons
