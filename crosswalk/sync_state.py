"""The per-record sync state that the `record_sync` entity remembers, and its rules.

One state per Salesforce Account. It is how duplicate change events collapse into one
onboarding (only one instance may hold the claim, and a modstamp already synced is never
synced again) and how support staff read where a record stands. Every change goes through
`SyncState.apply`, which refuses illegal transitions instead of recording them.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

MAX_TRANSITIONS = 20


class SyncStatus(StrEnum):
    NEW = "new"
    ONBOARDING = "onboarding"
    AWAITING_APPROVAL = "awaiting_approval"
    SYNCED = "synced"
    FAILED = "failed"
    COMPENSATED = "compensated"
    REJECTED = "rejected"
    NEEDS_ATTENTION = "needs_attention"


ACTIVE = frozenset({SyncStatus.ONBOARDING, SyncStatus.AWAITING_APPROVAL})
"""States in which an instance holds the record; a second claim is refused."""

_ENDED = frozenset(
    {SyncStatus.FAILED, SyncStatus.COMPENSATED, SyncStatus.REJECTED, SyncStatus.NEEDS_ATTENTION}
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
        }
    ),
    SyncStatus.AWAITING_APPROVAL: frozenset(
        {
            SyncStatus.ONBOARDING,
            SyncStatus.REJECTED,
            SyncStatus.FAILED,
            SyncStatus.COMPENSATED,
            SyncStatus.NEEDS_ATTENTION,
        }
    ),
    SyncStatus.SYNCED: frozenset(),
    **{ended: frozenset({SyncStatus.ONBOARDING}) for ended in _ENDED},
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


class ClaimResult(BaseModel):
    granted: bool
    reason: str
    status: SyncStatus


class SyncState(BaseModel):
    """Everything Crosswalk remembers about one record's synchronisation."""

    model_config = ConfigDict(populate_by_name=True)

    status: SyncStatus = SyncStatus.NEW
    d2c_customer_id: str | None = None
    d2c_primary_user_id: str | None = None
    last_modstamp: AwareDatetime | None = None
    current_instance_id: str | None = None
    last_instance_id: str | None = None
    attempts: int = 0
    last_error: dict[str, Any] | None = None
    approval: dict[str, Any] | None = None
    transitions: list[Transition] = Field(default_factory=list)

    # ------------------------------------------------------------------ reading

    @classmethod
    def load(cls, raw: Any) -> SyncState:
        return cls() if raw is None else cls.model_validate(raw)

    def dump(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True)

    # ------------------------------------------------------------------ changing

    def claim(self, instance_id: str, modstamp: datetime, at: datetime) -> ClaimResult:
        """Ask to onboard the record at `modstamp`; at most one instance wins.

        The same instance claiming again (a retried signal, a replay) is granted again.
        """
        if self.current_instance_id == instance_id and self.status in ACTIVE:
            return ClaimResult(
                granted=True, reason="already claimed by this instance", status=self.status
            )
        if self.status in ACTIVE:
            return ClaimResult(
                granted=False,
                reason=f"instance {self.current_instance_id} is already {self.status} this record",
                status=self.status,
            )
        if self.status is SyncStatus.SYNCED:
            return ClaimResult(
                granted=False,
                reason=f"already synced at modstamp {_iso(self.last_modstamp)}; onboarding is done",
                status=self.status,
            )
        if self.last_modstamp is not None and modstamp <= self.last_modstamp:
            return ClaimResult(
                granted=False,
                reason=f"modstamp {_iso(modstamp)} is not newer than {_iso(self.last_modstamp)}",
                status=self.status,
            )
        self._move(
            SyncStatus.ONBOARDING, at, instance_id, note=f"claimed at modstamp {_iso(modstamp)}"
        )
        self.current_instance_id = instance_id
        self.attempts += 1
        self.last_error = None
        return ClaimResult(granted=True, reason="claimed", status=self.status)

    def advance(
        self,
        instance_id: str,
        to: SyncStatus,
        at: datetime,
        *,
        note: str | None = None,
        error: dict[str, Any] | None = None,
        approval: dict[str, Any] | None = None,
    ) -> None:
        """Move the record on; only the instance holding the claim may do so."""
        if self.current_instance_id != instance_id:
            raise IllegalTransition(
                f"instance {instance_id} does not hold this record "
                f"(held by {self.current_instance_id or 'nobody'})"
            )
        self._move(to, at, instance_id, note=note)
        if error is not None:
            self.last_error = error
        if approval is not None:
            self.approval = approval
        if to not in ACTIVE:
            self.last_instance_id = instance_id
            self.current_instance_id = None

    def mark_synced(
        self,
        instance_id: str,
        at: datetime,
        *,
        modstamp: datetime,
        d2c_customer_id: str,
        d2c_primary_user_id: str | None,
    ) -> None:
        self.advance(instance_id, SyncStatus.SYNCED, at, note=f"synced modstamp {_iso(modstamp)}")
        self.last_modstamp = modstamp
        self.d2c_customer_id = d2c_customer_id
        self.d2c_primary_user_id = d2c_primary_user_id
        self.last_error = None

    def release(self, instance_id: str, at: datetime, *, note: str) -> None:
        """Give the claim back untouched (e.g. the account turned out not to qualify)."""
        if self.current_instance_id != instance_id or self.status is not SyncStatus.ONBOARDING:
            raise IllegalTransition(f"instance {instance_id} holds no onboarding claim to release")
        previous = self.transitions[-1].from_status if self.transitions else SyncStatus.NEW
        self.transitions.append(
            Transition.model_validate(
                {
                    "at": at,
                    "from": self.status,
                    "to": previous,
                    "instance_id": instance_id,
                    "note": note,
                }
            )
        )
        del self.transitions[:-MAX_TRANSITIONS]
        self.status = previous
        self.current_instance_id = None
        self.last_instance_id = instance_id

    def _move(
        self, to: SyncStatus, at: datetime, instance_id: str | None, note: str | None
    ) -> None:
        if to not in ALLOWED[self.status]:
            raise IllegalTransition(f"{self.status} -> {to} is not allowed")
        self.transitions.append(
            Transition.model_validate(
                {"at": at, "from": self.status, "to": to, "instance_id": instance_id, "note": note}
            )
        )
        del self.transitions[:-MAX_TRANSITIONS]
        self.status = to


def _iso(moment: datetime | None) -> str:
    return moment.isoformat() if moment is not None else "-"
