"""Reconciliation, the plain-Python part: how one record's drift is classified and repaired.

The orchestrator pages through Salesforce, an activity fetches the matching D2C customers
and profiles in bulk, and everything below decides what each record needs. It is pure (no
I/O, no clock: `now` is passed in), so the orchestrator may call it during replay and the
unit tests can state every rule as an example.

Classification happens in two steps because the entity states live in the task hub and only
the orchestrator can read them: `assess` sorts a record on what Salesforce, D2C and the
profile store say; `settle` finishes the records whose class depends on their `record_sync`
entity (a missing D2C customer may be an onboarding in progress, stuck, failed or rejected).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from crosswalk.d2c_models import Customer
from crosswalk.field_mapping import account_values
from crosswalk.mapping import plan_onboarding
from crosswalk.models import DriftClass, DriftFinding, ProfileStatus, UnifiedProfile
from crosswalk.ownership import SYNCED_FIELDS, owner_of
from crosswalk.rules import qualifies_for_onboarding
from crosswalk.salesforce_records import SalesforceAccount
from crosswalk.settings import FieldOwnershipSettings, OnboardingSettings, System
from crosswalk.sync_state import SyncState
from crosswalk.sync_status import SyncStatus

# Every D2C field kept in step with the Account; a difference is "stale in D2C".
COMPARED_FIELDS = SYNCED_FIELDS


class Assessment(BaseModel):
    """What one record needs, as far as Salesforce, D2C and the profile store tell."""

    model_config = ConfigDict(extra="forbid")

    sf_account_id: str
    drift: DriftClass
    reasons: list[str] = Field(default_factory=list)
    d2c_customer_id: str | None = None
    d2c_etag: str | None = None
    modstamp: AwareDatetime | None = None
    deleted: bool = False
    needs_entity: bool = False
    customer_patch: dict[str, Any] = Field(default_factory=dict)
    salesforce_fields: dict[str, Any] = Field(default_factory=dict)
    """Crosswalk's own link fields on the Account (D2C id, sync status)."""
    owner_fields: dict[str, Any] = Field(default_factory=dict)
    """Account fields D2C owns whose D2C value Salesforce lacks."""
    profile: dict[str, Any] | None = None
    account: dict[str, Any] | None = None
    read_at: AwareDatetime | None = None
    """When the read of `account` began (an onboarding's profile people go by it)."""

    @property
    def reason(self) -> str:
        return "; ".join(self.reasons)

    def finding(self, **extra: Any) -> DriftFinding:
        return DriftFinding(
            sf_account_id=self.sf_account_id,
            drift=self.drift,
            reason=self.reason,
            d2c_customer_id=self.d2c_customer_id,
            **extra,
        )


def _comparable(value: Any) -> Any:
    """Treat empty strings and None alike, and compare nested objects as plain dicts."""
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="json")
    if isinstance(value, dict):
        return {k: _comparable(v) for k, v in value.items() if _comparable(v) is not None}
    if isinstance(value, str) and not value.strip():
        return None
    return value


def customer_differences(wanted: dict[str, Any], customer: Customer) -> dict[str, Any]:
    """Every compared field where D2C does not hold Salesforce's value (Salesforce's value)."""
    current = customer.model_dump(mode="json")
    patch: dict[str, Any] = {}
    for field in COMPARED_FIELDS:
        want = wanted.get(field)
        if field == "marketing_consent":
            want = bool(want)
        if _comparable(want) != _comparable(current.get(field)):
            patch[field] = want
    return patch


def split_by_owner(
    differences: dict[str, Any], customer: Customer, ownership: FieldOwnershipSettings | None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Differences -> (the D2C patch for Salesforce-owned fields, the Account fields to write
    for D2C-owned ones, from D2C's values). Without ownership settings Salesforce owns all."""
    if ownership is None:
        return differences, {}
    current = customer.model_dump(mode="json")
    patch: dict[str, Any] = {}
    account: dict[str, Any] = {}
    for field, value in differences.items():
        if owner_of(field, ownership) is System.SALESFORCE:
            patch[field] = value
        else:
            account.update(account_values(field, current.get(field)))
    return patch, account


def _profile_for(
    account: SalesforceAccount,
    customer: Customer,
    wanted: dict[str, Any],
    primary_email: str | None,
    current: UnifiedProfile | None,
) -> UnifiedProfile:
    address = wanted.get("billing_address") or {}
    base = current.model_dump() if current is not None else {}
    base.pop("etag", None)
    base.update(
        sf_account_id=account.Id,
        name=wanted.get("name") or account.Name,
        status=ProfileStatus.ACTIVE,
        d2c_customer_id=customer.id,
        d2c_primary_user_id=base.get("d2c_primary_user_id") or account.D2C_Primary_User_Id__c,
        primary_email=base.get("primary_email") or primary_email,
        email_domain=wanted.get("email_domain"),
        country=address.get("country"),
        last_modstamp=account.SystemModstamp,
        failure=None,
    )
    return UnifiedProfile.model_validate(base)


def _profile_drift(current: UnifiedProfile | None, wanted: UnifiedProfile) -> list[str]:
    if current is None:
        return ["no unified profile"]
    reasons = []
    if current.status is not ProfileStatus.ACTIVE:
        reasons.append(f"profile is {current.status}")
    if current.d2c_customer_id != wanted.d2c_customer_id:
        reasons.append("profile names another D2C customer")
    changed = [
        f for f in ("name", "email_domain", "country") if getattr(current, f) != getattr(wanted, f)
    ]
    if changed:
        reasons.append("profile differs: " + ", ".join(changed))
    return reasons


def assess(
    account: SalesforceAccount,
    customer: Customer | None,
    profile: UnifiedProfile | None,
    settings: OnboardingSettings,
    ownership: FieldOwnershipSettings | None = None,
) -> Assessment:
    """Sort one Account by what the three stores say (entities come later, in `settle`)."""
    base = {
        "sf_account_id": account.Id,
        "modstamp": account.SystemModstamp,
        "deleted": account.IsDeleted,
        "d2c_customer_id": customer.id if customer else account.D2C_Customer_Id__c,
        "d2c_etag": customer.etag if customer else None,
    }
    if not qualifies_for_onboarding(account, settings):
        why = (
            "the account is deleted in Salesforce"
            if account.IsDeleted
            else f"Type {account.Type!r} no longer qualifies"
        )
        live_customer = customer is not None and customer.status == "active"
        live_profile = profile is not None and profile.status is ProfileStatus.ACTIVE
        if not (live_customer or live_profile):
            return Assessment(drift=DriftClass.NOT_QUALIFIED, reasons=[why], **base)
        reasons = [why]
        reasons.append("D2C customer is still active" if live_customer else "profile is active")
        fields: dict[str, Any] = {}
        if not account.IsDeleted and customer is not None:
            fields = {"Crosswalk_Sync_Status__c": "deactivated"}
        profile_after = None
        if profile is not None:
            status = (
                ProfileStatus.DELETED_IN_SALESFORCE
                if account.IsDeleted
                else ProfileStatus.DEACTIVATED
            )
            profile_after = profile.model_copy(update={"status": status, "etag": None})
            profile_after = profile_after.model_dump(mode="json")
        return Assessment(
            drift=DriftClass.D2C_ORPHAN,
            reasons=reasons,
            salesforce_fields=fields,
            profile=profile_after,
            **{**base, "d2c_etag": base["d2c_etag"] if live_customer else None},
        )

    if customer is None:
        return Assessment(
            drift=DriftClass.MISSING_IN_D2C,
            reasons=["no D2C customer carries this account id"],
            needs_entity=True,
            account=account.model_dump(mode="json"),
            **base,
        )
    if customer.status != "active":
        return Assessment(
            drift=DriftClass.FAILED_OR_STUCK,
            reasons=[
                f"D2C customer {customer.id} is deactivated while the account qualifies; "
                "reactivate it in D2C or change the account Type"
            ],
            **base,
        )
    plan = plan_onboarding(account, settings)
    if not plan.ok or plan.customer is None:
        return Assessment(
            drift=DriftClass.FAILED_OR_STUCK,
            reasons=["account data cannot be mapped: " + "; ".join(str(p) for p in plan.problems)],
            **base,
        )
    wanted = plan.customer.model_dump(mode="json")
    differences = customer_differences(wanted, customer)
    patch, owner_fields = split_by_owner(differences, customer, ownership)
    reasons: list[str] = []
    if patch:
        reasons.append("D2C differs from Salesforce: " + ", ".join(sorted(patch)))
    if owner_fields:
        owned = sorted(set(differences) - set(patch))
        reasons.append("Salesforce differs from D2C, which owns: " + ", ".join(owned))
    fields = {}
    if account.D2C_Customer_Id__c != customer.id:
        fields["D2C_Customer_Id__c"] = customer.id
        fields["Crosswalk_Sync_Status__c"] = "synced"
        reasons.append(
            "Salesforce lacks the D2C customer id"
            if not account.D2C_Customer_Id__c
            else "Salesforce names another D2C customer"
        )
    primary = plan.primary_user.email if plan.primary_user else None
    wanted_profile = _profile_for(account, customer, wanted, primary, profile)
    profile_reasons = _profile_drift(profile, wanted_profile)
    reasons.extend(profile_reasons)
    if not reasons:
        return Assessment(drift=DriftClass.IN_SYNC, **base)
    return Assessment(
        drift=DriftClass.STALE_IN_D2C,
        reasons=reasons,
        customer_patch=patch,
        salesforce_fields=fields,
        owner_fields=owner_fields,
        account=account.model_dump(mode="json", exclude={"Contacts"}) if differences else None,
        profile=wanted_profile.model_dump(mode="json") if profile_reasons or patch else None,
        **base,
    )


def settle(
    found: Assessment, entity: dict[str, Any] | None, now: datetime, stuck_after: timedelta
) -> Assessment:
    """Finish a record whose class depends on its `record_sync` entity state.

    No D2C customer, and the entity says: nothing (or a fresh record) -> missing, onboard it;
    an onboarding holds it -> in progress, or stuck when the last change is older than
    `stuck_after` (waiting for an approval is never stuck); the onboarding failed or was
    compensated -> failed (a person retries it); it was rejected -> not qualified.
    """
    if not found.needs_entity:
        return found
    state = SyncState.load(entity)
    last = state.transitions[-1].at if state.transitions else None
    update: dict[str, Any] = {"needs_entity": False}
    if state.status is SyncStatus.NEW:
        return found.model_copy(update=update)
    if state.status is SyncStatus.SYNCED:
        update["reasons"] = [
            *found.reasons,
            f"record_sync says synced to {state.d2c_customer_id}; the D2C customer is gone",
        ]
        update["drift"] = DriftClass.FAILED_OR_STUCK
    elif state.status is SyncStatus.AWAITING_APPROVAL:
        update["drift"] = DriftClass.IN_PROGRESS
        update["reasons"] = [f"onboarding {state.current_instance_id} awaits approval"]
    elif state.status is SyncStatus.ONBOARDING:
        if last is not None and now - last > stuck_after:
            update["drift"] = DriftClass.FAILED_OR_STUCK
            update["reasons"] = [
                f"onboarding {state.current_instance_id} stuck since {last.isoformat()} "
                f"(longer than {stuck_after.total_seconds() / 3600:g} h)"
            ]
        else:
            update["drift"] = DriftClass.IN_PROGRESS
            update["reasons"] = [f"onboarding {state.current_instance_id} is running"]
    elif state.status is SyncStatus.REJECTED:
        update["drift"] = DriftClass.NOT_QUALIFIED
        update["reasons"] = ["onboarding was rejected by an approver"]
    else:
        error = state.last_error or {}
        detail = error.get("detail") or error.get("code") or "no detail"
        update["drift"] = DriftClass.FAILED_OR_STUCK
        update["reasons"] = [f"onboarding {state.last_instance_id} ended {state.status}: {detail}"]
    if update.get("drift") is not DriftClass.MISSING_IN_D2C:
        update["account"] = None
    return found.model_copy(update=update)


REPORT_FINDINGS_MAX = 2000
"""Findings one stored report keeps: a first sync of 500,000 accounts has as many, which
support staff read as counts; the lake keeps each page's findings in full."""


def keep_findings(
    kept: list[DriftFinding], new: list[DriftFinding], limit: int = REPORT_FINDINGS_MAX
) -> tuple[list[DriftFinding], int]:
    """The findings a report keeps, failed repairs first, and how many it leaves out."""
    merged = [*kept, *new]
    if len(merged) <= limit:
        return merged, 0
    failed = [f for f in merged if f.repair_error]
    rest = [f for f in merged if not f.repair_error]
    chosen = (failed + rest)[:limit]
    return chosen, len(merged) - len(chosen)


REPAIRABLE = frozenset({DriftClass.MISSING_IN_D2C, DriftClass.STALE_IN_D2C, DriftClass.D2C_ORPHAN})
"""Classes a run repairs itself; failed or stuck records are reported for a person."""
