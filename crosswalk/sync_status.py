"""The statuses a record's synchronisation moves through, and which moves are legal.

`SyncState` (crosswalk.sync_state) keeps one of these per Salesforce Account and records each
move as a `Transition`; a move `ALLOWED` does not name is refused with `IllegalTransition`.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field


class SyncStatus(StrEnum):
    NEW = "new"
    ONBOARDING = "onboarding"
    AWAITING_APPROVAL = "awaiting_approval"
    SYNCED = "synced"
    FAILED = "failed"
    COMPENSATED = "compensated"
    REJECTED = "rejected"
    NEEDS_ATTENTION = "needs_attention"
    CANCELLED = "cancelled"
    """A person cancelled the onboarding and what it had done was undone: a decision, not a
    failure, so it waits for nobody and no bulk retry picks it up (a single retry may)."""
    DELETED = "deleted"


ACTIVE = frozenset({SyncStatus.ONBOARDING, SyncStatus.AWAITING_APPROVAL})
"""States in which an instance holds the record; a second claim is refused."""

_ENDED = frozenset(
    {
        SyncStatus.FAILED,
        SyncStatus.COMPENSATED,
        SyncStatus.REJECTED,
        SyncStatus.NEEDS_ATTENTION,
        SyncStatus.CANCELLED,
    }
)

ALLOWED: dict[SyncStatus, frozenset[SyncStatus]] = {
    SyncStatus.NEW: frozenset({SyncStatus.ONBOARDING}),
    SyncStatus.ONBOARDING: frozenset(
        {
            SyncStatus.AWAITING_APPROVAL,
            SyncStatus.SYNCED,
            SyncStatus.FAILED,
            SyncStatus.COMPENSATED,
            SyncStatus.REJECTED,
            SyncStatus.NEEDS_ATTENTION,
            SyncStatus.CANCELLED,
        }
    ),
    SyncStatus.AWAITING_APPROVAL: frozenset(
        {
            SyncStatus.ONBOARDING,
            SyncStatus.REJECTED,
            SyncStatus.FAILED,
            SyncStatus.COMPENSATED,
            SyncStatus.NEEDS_ATTENTION,
            SyncStatus.CANCELLED,
        }
    ),
    SyncStatus.SYNCED: frozenset({SyncStatus.DELETED}),
    SyncStatus.DELETED: frozenset({SyncStatus.ONBOARDING}),
    **{ended: frozenset({SyncStatus.ONBOARDING}) for ended in _ENDED},
    # support finishing an undo that was left half done (`finish_undo`)
    SyncStatus.NEEDS_ATTENTION: frozenset(
        {SyncStatus.ONBOARDING, SyncStatus.COMPENSATED, SyncStatus.NEEDS_ATTENTION}
    ),
}


class IllegalTransition(ValueError):
    """A change the state machine refuses; the entity reports it and keeps its state."""


class Transition(BaseModel):
    model_config = ConfigDict(frozen=True)

    at: AwareDatetime
    from_status: SyncStatus = Field(alias="from")
    to_status: SyncStatus = Field(alias="to")
    instance_id: str | None = None
    note: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True)
