"""A synced record's update log and lease: the change requests an `account_update` run is
asked to look at, the notes of what became of each change, and who holds the update lease
(crosswalk/sync_state.py keeps them in the record's state)."""

from __future__ import annotations

from typing import Any

from pydantic import AwareDatetime, BaseModel, Field

MAX_CHANGES = 20


class ChangeRequest(BaseModel):
    """What an `account_update` run is asked to look at; several merge into one.

    `changed_fields` are the Salesforce change event's `changedFields` (None: unknown, read
    the Account); `customer` is a D2C customer as an event or a re-read carried it. Merged
    requests keep no `values`: which commit they came from is no longer known.
    """

    origin: str
    modstamp: AwareDatetime | None = None
    changed_fields: list[str] | None = Field(default_factory=list)
    customer: dict[str, Any] | None = None
    deleted: bool = False
    full: bool = False
    values: dict[str, Any] = Field(default_factory=dict)
    """New values of simple Account fields as the change event carried them."""

    @property
    def version(self) -> int | None:
        return int(self.customer["version"]) if self.customer else None

    @property
    def empty(self) -> bool:
        return (
            self.changed_fields == []
            and self.customer is None
            and not self.deleted
            and not self.full
        )

    def merge(self, other: ChangeRequest) -> ChangeRequest:
        """Both requests in one: newest modstamp and customer, every field either named."""
        fields = (
            None
            if self.changed_fields is None or other.changed_fields is None
            else sorted(set(self.changed_fields) | set(other.changed_fields))
        )
        stamps = [m for m in (self.modstamp, other.modstamp) if m is not None]
        customers = [c for c in (self, other) if c.customer is not None]
        newest = max(customers, key=lambda c: c.version or 0).customer if customers else None
        origins = sorted({*self.origin.split("+"), *other.origin.split("+")})
        return ChangeRequest(
            origin="+".join(origins),
            modstamp=max(stamps) if stamps else None,
            changed_fields=fields,
            customer=newest,
            deleted=self.deleted or other.deleted,
            full=self.full or other.full,
        )


class ChangeNote(BaseModel):
    """One line of the record's update log: what came in and what became of it."""

    at: AwareDatetime
    origin: str
    outcome: str
    note: str | None = None
    instance_id: str | None = None
    modstamp: AwareDatetime | None = None
    version: int | None = None
    event: str | None = None
    """The change event's `transactionKey:sequenceNumber` (echoes): Salesforce stamps whole
    seconds, so another commit in the same second shares the modstamp but not this."""


def add_note(changes: list[ChangeNote], note: ChangeNote) -> None:
    """Put `note` into the log in time order and keep the newest MAX_CHANGES.

    Notes often come as signals from clients (triggers), and on Azure signals from clients
    reach the entity in no promised order: the log is ordered by `at`, not by arrival.
    """
    at = len(changes)
    while at > 0 and changes[at - 1].at > note.at:
        at -= 1
    changes.insert(at, note)
    del changes[:-MAX_CHANGES]


class UpdateLease(BaseModel):
    instance_id: str
    since: AwareDatetime


class UpdateGrant(BaseModel):
    """The answer to `update_begin`: go (with what to do) or why not."""

    go: bool
    outcome: str
    reason: str
    wait: bool = False
    request: ChangeRequest | None = None
    agreed: dict[str, Any] | None = None
    last_modstamp: AwareDatetime | None = None
    d2c_version: int | None = None
    d2c_customer_id: str | None = None
