"""The per-record sync state that the `record_sync` entity remembers, and its rules.

One state per Salesforce Account. It is how duplicate change events collapse into one
onboarding (only one instance may hold the claim, and a modstamp already synced is never
synced again) and how support staff read where a record stands. Every change goes through
`SyncState.apply`, which refuses illegal transitions instead of recording them.

After onboarding, the same state serialises the two-way updates of the record (flow 2): one
`account_update` instance at a time holds the update lease; changes arriving meanwhile wait
in `pending` and the holder picks them up before it lets go. The entity keeps the agreed
field values, the last applied SystemModstamp and the D2C version they reflect, so an older
change arriving late is recognised as stale and changes nothing.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from crosswalk.sync_changes import (
    ChangeNote,
    ChangeRequest,
    UpdateGrant,
    UpdateLease,
    add_note,
)
from crosswalk.sync_status import ACTIVE, ALLOWED, IllegalTransition, SyncStatus, Transition

MAX_TRANSITIONS = 20
UPDATE_LEASE = timedelta(minutes=30)
"""An update lease older than this is taken over (its holder was terminated or lost)."""


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
    agreed: dict[str, Any] | None = None
    d2c_version: int | None = None
    update_lease: UpdateLease | None = None
    pending: ChangeRequest | None = None
    waiter: str | None = None
    """The one update instance waiting for a running onboarding to end, for all of them."""
    changes: list[ChangeNote] = Field(default_factory=list)

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

    def finish_undo(
        self,
        instance_id: str,
        to: SyncStatus,
        at: datetime,
        *,
        note: str,
        error: dict[str, Any] | None = None,
    ) -> None:
        """Support finished the undo that `instance_id` left half done (`needs_attention`):
        the record becomes `compensated`, or stays `needs_attention` with the new error."""
        if (
            self.status is not SyncStatus.NEEDS_ATTENTION
            or self.current_instance_id is not None
            or self.last_instance_id != instance_id
        ):
            raise IllegalTransition(
                f"the record is {self.status} after {self.last_instance_id or 'no instance'}; "
                f"there is no unfinished undo of {instance_id}"
            )
        self._move(to, at, instance_id, note=note)
        self.last_error = error if to is SyncStatus.NEEDS_ATTENTION else self.last_error

    def mark_synced(
        self,
        instance_id: str,
        at: datetime,
        *,
        modstamp: datetime,
        d2c_customer_id: str,
        d2c_primary_user_id: str | None,
        fields: dict[str, Any] | None = None,
        d2c_version: int | None = None,
    ) -> None:
        """Onboarding done; `fields`/`d2c_version` (what D2C was created with) seed the agreed
        values, which saves the first update a D2C read."""
        self.advance(instance_id, SyncStatus.SYNCED, at, note=f"synced modstamp {_iso(modstamp)}")
        self.last_modstamp = modstamp
        self.d2c_customer_id = d2c_customer_id
        self.d2c_primary_user_id = d2c_primary_user_id
        self.last_error = None
        self.agreed = dict(fields) if fields is not None and d2c_version is not None else None
        self.d2c_version = d2c_version if self.agreed is not None else None

    def release(self, instance_id: str, at: datetime, *, note: str) -> None:
        """Give the claim back untouched (e.g. the account turned out not to qualify)."""
        if self.current_instance_id != instance_id or self.status is not SyncStatus.ONBOARDING:
            raise IllegalTransition(f"instance {instance_id} holds no onboarding claim to release")
        previous = SyncStatus.NEW  # where the record was before this instance claimed it
        for transition in reversed(self.transitions):
            if transition.instance_id != instance_id:
                break
            previous = transition.from_status
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

    # ------------------------------------------------------------------ updates (flow 2)

    def note_change(self, note: ChangeNote) -> None:
        """Add a line to the update log (an echo of our own change, an ignored event, ...)."""
        add_note(self.changes, note)

    def update_begin(self, instance_id: str, request: ChangeRequest, at: datetime) -> UpdateGrant:
        """Ask to apply `request`; one instance at a time, and only what is not stale.

        While an onboarding runs, or another update holds the lease, the request is kept in
        `pending` for whoever finishes first. A Salesforce change older than the last applied
        modstamp, or a D2C customer not newer than the last seen version, is dropped as stale.
        """

        def refuse(outcome: str, reason: str, *, wait: bool = False) -> UpdateGrant:
            last = self.changes[-1] if self.changes else None
            if last is not None and (last.instance_id, last.outcome) == (instance_id, outcome):
                return UpdateGrant(go=False, outcome=outcome, reason=reason, wait=wait)
            self.note_change(
                ChangeNote(
                    at=at,
                    origin=request.origin,
                    outcome=outcome,
                    note=reason,
                    instance_id=instance_id,
                    modstamp=request.modstamp,
                    version=request.version,
                )
            )
            return UpdateGrant(go=False, outcome=outcome, reason=reason, wait=wait)

        if self.status in ACTIVE:
            self._keep_pending(request)
            wait = self.waiter in (None, instance_id)
            if wait:
                self.waiter = instance_id
            return refuse(
                "deferred", f"onboarding {self.current_instance_id} is running", wait=wait
            )
        if self.waiter == instance_id:
            self.waiter = None
        if self.status is not SyncStatus.SYNCED:
            return refuse("not_synced", f"the record is {self.status}, not synced")
        lease = self.update_lease
        if lease is not None and lease.instance_id != instance_id:
            if at - lease.since < UPDATE_LEASE:
                self._keep_pending(request)
                return refuse("deferred", f"update {lease.instance_id} will apply it")
            self.note_change(
                ChangeNote(
                    at=at,
                    origin=request.origin,
                    outcome="lease_taken_over",
                    note=f"lease of {lease.instance_id} older than {UPDATE_LEASE}",
                    instance_id=instance_id,
                )
            )
        if self.pending is not None:
            request = self.pending.merge(request)
            self.pending = None
        fresh = self._not_stale(request)
        if fresh.empty:
            if lease is not None and lease.instance_id == instance_id:
                self.update_lease = None
            return refuse("stale", "older than what was already applied")
        self.update_lease = UpdateLease(instance_id=instance_id, since=at)
        return UpdateGrant(
            go=True,
            outcome="granted",
            reason="granted",
            request=fresh,
            agreed=self.agreed,
            last_modstamp=self.last_modstamp,
            d2c_version=self.d2c_version,
            d2c_customer_id=self.d2c_customer_id,
        )

    def update_end(
        self,
        instance_id: str,
        at: datetime,
        *,
        outcome: str,
        note: str | None = None,
        agreed: dict[str, Any] | None = None,
        modstamp: datetime | None = None,
        d2c_version: int | None = None,
        deleted: bool = False,
        error: dict[str, Any] | None = None,
        request: ChangeRequest | None = None,
    ) -> ChangeRequest | None:
        """Record what the run applied; hand back what arrived meanwhile (lease kept), or
        release the lease when nothing did."""
        lease = self.update_lease
        if lease is None or lease.instance_id != instance_id:
            raise IllegalTransition(f"instance {instance_id} holds no update lease")
        if agreed is not None:
            self.agreed = agreed
        if modstamp is not None and (self.last_modstamp is None or modstamp > self.last_modstamp):
            self.last_modstamp = modstamp
        if d2c_version is not None and (self.d2c_version is None or d2c_version > self.d2c_version):
            self.d2c_version = d2c_version
        self.last_error = error
        self.last_instance_id = instance_id
        self.note_change(
            ChangeNote(
                at=at,
                origin=request.origin if request else "update",
                outcome=outcome,
                note=note,
                instance_id=instance_id,
                modstamp=request.modstamp if request else None,
                version=request.version if request else None,
            )
        )
        if deleted:
            self._move(SyncStatus.DELETED, at, instance_id, note=note)
            self.pending = None
        pending, self.pending = self.pending, None
        if pending is not None:
            pending = self._not_stale(pending)
        if pending is None or pending.empty:
            self.update_lease = None
            return None
        self.update_lease = UpdateLease(instance_id=instance_id, since=at)
        return pending

    def _keep_pending(self, request: ChangeRequest) -> None:
        self.pending = request if self.pending is None else self.pending.merge(request)

    def _not_stale(self, request: ChangeRequest) -> ChangeRequest:
        """The request without its parts that are older than what was applied."""
        update: dict[str, Any] = {}
        applied = self.last_modstamp
        if request.modstamp is not None and applied is not None and request.modstamp < applied:
            update.update(changed_fields=[], deleted=False, modstamp=None)
        version = request.version
        if version is not None and self.d2c_version is not None and version <= self.d2c_version:
            update["customer"] = None
        return request.model_copy(update=update) if update else request

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
