"""The contract between whoever starts an onboarding and the `account_onboarding` orchestrator.

The starter (HTTP, change event, reconciliation) snapshots the policy from the settings into
the input, so a running saga keeps the rules it started with and replays deterministically
even if the app settings change under it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from crosswalk.ids import SalesforceAccountId
from crosswalk.mapping import OnboardingPlan
from crosswalk.models import ApprovalDecision, ProfileStatus, UnifiedProfile, compact_utc
from crosswalk.salesforce_records import SalesforceAccount
from crosswalk.settings import Settings
from crosswalk.whole_profile import people_of_account

APPROVAL_EVENT = "ApprovalDecision"
TRACEPARENT = r"^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$"


class OnboardingInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    account_id: SalesforceAccountId
    modstamp: AwareDatetime
    source: Literal["http", "event", "reconciliation", "support"]
    policy: dict[str, Any]
    account: dict[str, Any] | None = None
    """The Account with its Contacts as the starter already read it: the saga does not read
    it again, except after an approval wait (the data may have changed meanwhile)."""
    read_at: AwareDatetime | None = None
    """When the starter's read of `account` began: the profile's people are written from it
    only if no later read (a Contact change's refresh) wrote them meanwhile."""
    defer_write_back: bool = False
    """The starter writes the D2C ids back to Salesforce itself, batched with others."""
    traceparent: str | None = Field(default=None, pattern=TRACEPARENT)
    """The starter's W3C trace context: every step's span joins the trace it began."""


def onboarding_instance_id(account_id: str, modstamp: datetime) -> str:
    """Deterministic per account and modstamp, so the same start twice is one instance."""
    return f"onboard-{account_id}-{compact_utc(modstamp)}"


def onboarding_policy(settings: Settings) -> dict[str, Any]:
    return {
        "approval": settings.approval.model_dump(mode="json"),
        "onboarding": settings.onboarding.model_dump(mode="json"),
        "retry": settings.retry.model_dump(mode="json"),
    }


def onboarding_input(
    settings: Settings,
    account_id: str,
    modstamp: datetime,
    source: str,
    *,
    account: dict[str, Any] | None = None,
    read_at: datetime | None = None,
    defer_write_back: bool = False,
    traceparent: str | None = None,
) -> dict[str, Any]:
    return OnboardingInput(
        account_id=account_id,
        modstamp=modstamp,
        source=source,  # type: ignore[arg-type]
        policy=onboarding_policy(settings),
        account=account,
        read_at=read_at,
        defer_write_back=defer_write_back,
        traceparent=traceparent,
    ).model_dump(mode="json", exclude_defaults=True)


SALESFORCE_CALLS_PER_ONBOARDING = 3
"""What one onboarding usually spends of the org's daily API allowance: one read of the
Account with its Contacts (by the starter or the saga), one more after an approval wait, and
the write-back. Without an approval it is 2 (bench/onboarding.py measures calls per account).
An Account with more Contacts than Salesforce sends inline (200) costs one more call per
further page of them on each read, and an Account that changes during the wait so that it is
asked about again costs one more read per further wait."""


def made_by_this_run(result: dict[str, Any]) -> bool:
    """Did a step create (or bring back) what it returned, so that an undo takes it away?

    An undo restores what was there before the run: an organisation or user it adopted as it
    found it stays; one it created, or reactivated, goes.
    """
    return not result.get("adopted") or bool(result.get("reactivate"))


def onboarded_profile(
    account: SalesforceAccount,
    plan: OnboardingPlan,
    *,
    customer_id: str,
    user_id: str,
    invited: bool,
    at: datetime,
    read_at: datetime | None,
    approval: ApprovalDecision | None = None,
) -> UnifiedProfile:
    """The unified profile of a freshly onboarded account (the saga's and the batch's);
    `read_at`, when the read of `account` began, decides whether its people are newer than
    the stored ones (crosswalk/whole_profile.py `onboarded_people`)."""
    customer = plan.customer
    assert customer is not None and plan.primary_user is not None  # a plan that is ok
    return UnifiedProfile(
        sf_account_id=account.Id,
        name=customer.name,
        status=ProfileStatus.ACTIVE,
        d2c_customer_id=customer_id,
        d2c_primary_user_id=user_id,
        primary_email=plan.primary_user.email,
        email_domain=customer.email_domain,
        country=customer.billing_address.country if customer.billing_address else None,
        last_modstamp=account.SystemModstamp,
        approval=approval,
        updated_at=at,
        people_read_at=read_at,
        contacts=people_of_account(
            account,
            primary_contact_id=plan.primary_contact_id,
            primary_user_id=user_id,
            invited=invited,
        ),
    )
