"""What the `signup_link` entity remembers about one D2C customer that signed up (flow 3).

One state per D2C customer id. A `customer.registered` event is linked once: duplicates find
the record already linking or linked and stop. Storefront edits (`customer.updated`) are
applied to the linked Contact or Lead one at a time, newest version wins; an edit that
arrives while the link is still being made waits in `pending` and is applied right after.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from pydantic import AwareDatetime, BaseModel, Field

from crosswalk.sync_changes import ChangeNote, add_note

LEASE = timedelta(minutes=30)


class SignupStatus(StrEnum):
    NEW = "new"
    LINKING = "linking"
    LINKED = "linked"
    UNMATCHED = "unmatched"
    FAILED = "failed"


class SignupGrant(BaseModel):
    go: bool
    outcome: str
    reason: str
    customer: dict[str, Any] | None = None
    changed_fields: list[str] = Field(default_factory=list)
    sobject: str | None = None
    sf_id: str | None = None
    user_id: str | None = None
    email: str | None = None


class SignupState(BaseModel):
    status: SignupStatus = SignupStatus.NEW
    holder: str | None = None
    held_since: AwareDatetime | None = None
    user_id: str | None = None
    email: str | None = None
    sobject: str | None = None
    sf_id: str | None = None
    account_id: str | None = None
    version: int | None = None
    pending: dict[str, Any] | None = None
    pending_fields: list[str] = Field(default_factory=list)
    last_error: dict[str, Any] | None = None
    changes: list[ChangeNote] = Field(default_factory=list)

    @classmethod
    def load(cls, raw: Any) -> SignupState:
        return cls() if raw is None else cls.model_validate(raw)

    def dump(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    def note(self, note: ChangeNote) -> None:
        add_note(self.changes, note)

    def _note_d2c(
        self, at: datetime, outcome: str, note: str | None, instance_id: str, version: int | None
    ) -> None:
        """A line of the log about this sign-up's own D2C edit (a refusal, a result)."""
        self.note(
            ChangeNote(
                at=at,
                origin="d2c",
                outcome=outcome,
                note=note,
                instance_id=instance_id,
                version=version,
            )
        )

    def claim(
        self,
        instance_id: str,
        kind: str,
        customer: dict[str, Any],
        changed_fields: list[str],
        at: datetime,
    ) -> SignupGrant:
        """Link (`registered`) or apply an edit (`updated`); one instance at a time."""
        version = int(customer["version"])

        def refuse(outcome: str, reason: str) -> SignupGrant:
            self._note_d2c(at, outcome, reason, instance_id, version)
            return SignupGrant(go=False, outcome=outcome, reason=reason)

        held = (
            self.holder is not None
            and self.holder != instance_id
            and self.held_since is not None
            and at - self.held_since < LEASE
        )
        if kind == "registered":
            if self.holder == instance_id:
                return SignupGrant(
                    go=True, outcome="granted", reason="already held", customer=customer
                )
            if held or self.status not in (SignupStatus.NEW, SignupStatus.FAILED):
                return refuse("duplicate", f"sign-up already {self.status}")
            self._hold(instance_id, at)
            self.status = SignupStatus.LINKING
            self.last_error = None
            return SignupGrant(go=True, outcome="granted", reason="linking", customer=customer)
        if held or self.status in (SignupStatus.NEW, SignupStatus.LINKING):
            self._keep(customer, changed_fields)
            return refuse("deferred", "the sign-up is still being linked")
        if self.status is not SignupStatus.LINKED:
            return refuse("not_linked", f"the sign-up is {self.status}")
        if self.version is not None and version <= self.version and self.holder != instance_id:
            return refuse("stale", f"version {version} is not newer than {self.version}")
        self._hold(instance_id, at)
        return SignupGrant(
            go=True,
            outcome="granted",
            reason="apply",
            customer=customer,
            changed_fields=changed_fields,
            sobject=self.sobject,
            sf_id=self.sf_id,
            user_id=self.user_id,
            email=self.email,
        )

    def finish(
        self,
        instance_id: str,
        at: datetime,
        *,
        outcome: str,
        note: str | None = None,
        version: int | None = None,
        link: dict[str, Any] | None = None,
        error: dict[str, Any] | None = None,
    ) -> dict[str, Any] | None:
        """Record the result and release; return a newer edit that waited, if any.

        `link` (`sobject`, `sf_id`, `account_id`, `user_id`, `email`) marks the sign-up linked.
        """
        if self.holder != instance_id:
            raise ValueError(f"instance {instance_id} does not hold this sign-up")
        if link is not None:
            self.status = SignupStatus.LINKED
            for key in ("sobject", "sf_id", "account_id", "user_id", "email"):
                setattr(self, key, link.get(key))
        elif outcome == "unmatched":
            self.status = SignupStatus.UNMATCHED
        elif error is not None and self.status is SignupStatus.LINKING:
            self.status = SignupStatus.FAILED
        self.last_error = error
        if version is not None and (self.version is None or version > self.version):
            self.version = version
        self._note_d2c(at, outcome, note, instance_id, version)
        self.holder = self.held_since = None
        pending, fields = self.pending, self.pending_fields
        self.pending, self.pending_fields = None, []
        if pending is None or self.status is not SignupStatus.LINKED:
            return None
        if self.version is not None and int(pending["version"]) <= self.version:
            return None
        return {"customer": pending, "changed_fields": fields}

    def forget(self) -> None:
        """The person was erased: keep the link's ids (so nothing re-links), drop their data."""
        self.email = None
        self.pending = None
        self.pending_fields = []
        self.last_error = None
        self.changes = []

    def _hold(self, instance_id: str, at: datetime) -> None:
        self.holder, self.held_since = instance_id, at

    def _keep(self, customer: dict[str, Any], changed_fields: list[str]) -> None:
        if self.pending is None or int(customer["version"]) > int(self.pending["version"]):
            self.pending = customer
        self.pending_fields = sorted({*self.pending_fields, *changed_fields})
