"""The support API's inputs as models: validation (400 naming the field) and the OpenAPI
document both come from here, so they cannot drift apart."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from crosswalk.models import (
    ApprovalVerdict,
    D2CUserId,
    Email,
    QueryInt,
    RequestBody,
    RequestQuery,
)

REASON = {"min_length": 1, "max_length": 2000}


class _Body(RequestBody):
    """Strict: `dryRun` is a JSON boolean, `limit` a JSON number (a 400 names the field)."""


class DecisionBody(_Body):
    """The approver is the signed-in person; a body cannot name one."""

    decision: ApprovalVerdict
    reason: str = Field(**REASON)


class RetryBody(_Body):
    reason: str = Field(**REASON)
    mode: Literal["auto", "rewind", "restart"] = "auto"


class CancelBody(_Body):
    reason: str = Field(**REASON)


class ErasureBody(_Body):
    """Erase a person: by e-mail, D2C user id, or both (at least one)."""

    email: Email | None = None
    d2c_user_id: D2CUserId | None = None
    reason: str = Field(**REASON)


class BulkRetryBody(_Body):
    failureReason: str = Field(min_length=1, max_length=300)
    reason: str = Field(**REASON)
    dryRun: bool = True
    limit: int | None = Field(default=None, ge=1, le=1000)


class RecordsQuery(RequestQuery):
    state: Literal[
        "failed", "compensated", "needs_attention", "cancelled", "awaiting_approval", "stale"
    ]
    older_than: str | None = Field(default=None, alias="olderThan", max_length=40)
    limit: QueryInt = Field(default=50, ge=1, le=200)
    # the task hub's own continuation token, passed through: opaque, and on Azure Storage
    # base64 JSON several times as long as the key it points at
    cursor: str | None = Field(default=None, pattern=r"^[!-~]{1,4096}$")


class ReportsQuery(RequestQuery):
    limit: QueryInt = Field(default=5, ge=1, le=50)


class AuditQuery(RequestQuery):
    limit: QueryInt = Field(default=50, ge=1, le=500)
    before: str | None = Field(default=None, max_length=64)
    target: str | None = Field(default=None, max_length=200)
    actor: str | None = Field(default=None, max_length=200)
    action: str | None = Field(default=None, max_length=64)
