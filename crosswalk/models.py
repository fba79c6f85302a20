"""Crosswalk's own shapes: the unified profile, approvals and the reconciliation report.

Salesforce records are in crosswalk.salesforce_records, D2C's shapes in crosswalk.d2c_models,
the strict bases of request bodies and inputs in crosswalk.edge_models. Unknown fields in
Crosswalk's own inputs are rejected.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from crosswalk.edge_models import EdgeModel
from crosswalk.ids import D2CCustomerId, D2CUserId, SalesforceAccountId
from crosswalk.people import ProfileContact


class ApprovalVerdict(StrEnum):
    APPROVE = "approve"
    REJECT = "reject"


class ApprovalReason(BaseModel):
    """Why a rule asks for a person: a stable code for machines, text for people."""

    model_config = ConfigDict(frozen=True)

    code: str
    message: str


class ApprovalRequest(BaseModel):
    instance_id: str
    sf_account_id: SalesforceAccountId
    account_name: str
    reasons: list[ApprovalReason]
    requested_at: AwareDatetime
    deadline: AwareDatetime
    escalation: int = Field(default=0, ge=0)


class ApprovalDecisionInput(EdgeModel):
    """The body of `POST /api/approvals/{instanceId}`."""

    decision: ApprovalVerdict
    approver: str = Field(min_length=1, max_length=200)
    reason: str = Field(min_length=1, max_length=2000)


class ApprovalDecision(ApprovalDecisionInput):
    decided_at: AwareDatetime


class ProfileStatus(StrEnum):
    ACTIVE = "active"
    FAILED = "failed"
    DEACTIVATED = "deactivated"
    DELETED_IN_SALESFORCE = "deleted_in_salesforce"


class UnifiedProfile(BaseModel):
    """One customer as Crosswalk knows it across both systems; keyed by the Account id."""

    model_config = ConfigDict(extra="ignore")

    sf_account_id: SalesforceAccountId
    name: str
    status: ProfileStatus = ProfileStatus.ACTIVE
    d2c_customer_id: D2CCustomerId | None = None
    d2c_primary_user_id: D2CUserId | None = None
    primary_email: str | None = None
    email_domain: str | None = None
    country: str | None = None
    last_modstamp: AwareDatetime | None = None
    approval: ApprovalDecision | None = None
    failure: dict[str, Any] | None = None
    updated_at: AwareDatetime | None = None
    people_read_at: AwareDatetime | None = Field(
        default=None,
        description="when the Salesforce read the people were last refreshed from began; an "
        "older read never overwrites a newer one",
    )
    contacts: list[ProfileContact] = Field(
        default_factory=list, description="every person of the account, with their consent"
    )
    etag: str | None = Field(
        default=None, description="store-assigned version, for optimistic concurrency"
    )
    changed_at: AwareDatetime | None = Field(
        default=None, description="store-assigned time of the last write (the change feed's)"
    )


class DriftClass(StrEnum):
    IN_SYNC = "in_sync"
    MISSING_IN_D2C = "missing_in_d2c"
    STALE_IN_D2C = "stale_in_d2c"
    D2C_ORPHAN = "d2c_orphan"
    FAILED_OR_STUCK = "failed_or_stuck"
    NOT_QUALIFIED = "not_qualified"
    IN_PROGRESS = "in_progress"


class DriftFinding(BaseModel):
    sf_account_id: SalesforceAccountId
    drift: DriftClass
    reason: str
    d2c_customer_id: str | None = None
    repaired_by: str | None = None
    repair_error: str | None = None


class ReconciliationReport(BaseModel):
    run_id: str
    dry_run: bool = False
    since: AwareDatetime | None = None
    watermark_to: AwareDatetime | None = None
    started_at: AwareDatetime
    finished_at: AwareDatetime | None = None
    pages: int = 0
    counts: dict[DriftClass, int] = Field(default_factory=dict)
    findings: list[DriftFinding] = Field(default_factory=list)
    repaired: int = 0
    failed: int = 0
    status: Literal["running", "completed", "skipped", "failed"] = "running"
    reason: str | None = None
    """Why a run was skipped (another run held the lease)."""
    instance_id: str | None = None
    page_failures: list[dict[str, Any]] = Field(default_factory=list)
    salesforce_writes: int = 0
    findings_omitted: int = 0
    """Findings past the report's limit (failures are kept first); every page's findings are
    in the lake under `reports/reconciliation/<run_id>/`."""


def utc_iso(moment: datetime) -> str:
    """RFC 3339 with milliseconds and `Z`, the way both APIs write instants."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def compact_utc(moment: datetime) -> str:
    """`20240502T080001000Z`: basic ISO 8601 in UTC with milliseconds (Salesforce's precision).

    No `:`, so it is safe in instance ids, file names and URLs, and it sorts in time order.
    """
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y%m%dT%H%M%S") + f"{utc.microsecond // 1000:03d}Z"
