"""The support API's inputs as models: validation (400 naming the field) and the OpenAPI
document both come from here, so they cannot drift apart."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, Field

from crosswalk.edge_models import QueryInt, RequestBody, RequestQuery
from crosswalk.ids import D2CUserId, Email, SalesforceAccountId
from crosswalk.models import ApprovalVerdict

REASON = {"min_length": 1, "max_length": 2000}
DEAD_LETTER_BLOB = (
    r"^([A-Za-z0-9_-]+/)*[A-Za-z0-9_-]+/[0-9]{4}/[0-9]{1,2}/[0-9]{1,2}/[0-9]{1,2}/"
    r"[A-Za-z0-9_-]+\.json$"
)


def _a_dead_letter_blob(name: str) -> str:
    from crosswalk.lake.eventgrid_deadletters import parse_name

    if parse_name(name) is None:
        raise ValueError(
            "not a dead-letter blob name (<SUBSCRIPTION>/<yyyy>/<M>/<d>/<H>/<guid>.json)"
        )
    return name


DeadLetterBlobName = Annotated[
    str, Field(max_length=1024, pattern=DEAD_LETTER_BLOB), AfterValidator(_a_dead_letter_blob)
]


class _Body(RequestBody):
    """Strict: `dryRun` is a JSON boolean, `limit` a JSON number (a 400 names the field)."""


class DecisionBody(_Body):
    """The approver is the signed-in person; a body cannot name one."""

    decision: ApprovalVerdict
    reason: str = Field(**REASON)


BATCH_ACCOUNT = (
    "the record's Account Id; required when the instance is a batch onboarding "
    "(`onboard-batch-...`, many accounts), else it must be the instance's own"
)


class RetryBody(_Body):
    reason: str = Field(**REASON)
    mode: Literal["auto", "rewind", "restart"] = "auto"
    accountId: SalesforceAccountId | None = Field(default=None, description=BATCH_ACCOUNT)


class CancelBody(_Body):
    reason: str = Field(**REASON)
    accountId: SalesforceAccountId | None = Field(default=None, description=BATCH_ACCOUNT)


class ErasureBody(_Body):
    """Erase a person: by e-mail, D2C user id, or both (at least one)."""

    email: Email | None = None
    d2c_user_id: D2CUserId | None = None
    reason: str = Field(**REASON)


class DeadLetterReplayBody(_Body):
    """Publish the events of these dead-letter blobs again to their topic, then remove them."""

    blobs: list[DeadLetterBlobName] = Field(min_length=1, max_length=100)
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


class DeadLettersQuery(RequestQuery):
    limit: QueryInt = Field(default=50, ge=1, le=200)


class AuditQuery(RequestQuery):
    limit: QueryInt = Field(default=50, ge=1, le=500)
    before: str | None = Field(default=None, max_length=64)
    target: str | None = Field(default=None, max_length=200)
    actor: str | None = Field(default=None, max_length=200)
    action: str | None = Field(default=None, max_length=64)
