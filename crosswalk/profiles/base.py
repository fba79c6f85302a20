"""The profile store contract: what every implementation (SQLite, Cosmos DB) promises.

A unified profile is keyed by the 18-character Salesforce Account id. Every write returns the
stored profile with a fresh, opaque `etag`; passing that etag back as `if_match` makes the next
write conditional, so two workers racing on one account cannot silently overwrite each other
(the loser gets `PreconditionFailed` and re-reads). Reconciliation reports live in the same
store because support staff read them next to the profiles.

Every read by a key other than the Account id goes through a lookup entry (`lookup_key`: the
kind and a SHA-256 of the normalised value, so no e-mail address ends up in a document id):
entry -> Account ids -> profile. On Cosmos DB that is two point reads, never a cross-partition
query. An entry may name an Account whose profile no longer carries the key (a writer that
stopped between its steps); reads check the profile's own `lookup_keys` and skip those, and
`repair_lookups` puts an Account's entries right.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Protocol, runtime_checkable

from crosswalk.errors import InvalidData
from crosswalk.models import ProfileStatus, ReconciliationReport, UnifiedProfile
from crosswalk.salesforce_ids import KEY_PREFIXES, to_18

SYSTEM = "profiles"


@dataclass(frozen=True, slots=True)
class ChangePage:
    """One page of the change feed: profiles in the order they were last written.

    `cursor` is where the next page starts; it is there even when the page is empty, so a
    follower can keep polling from the end of the feed. `more` says the feed has more now.
    """

    profiles: list[UnifiedProfile]
    cursor: str
    more: bool


@runtime_checkable
class ProfileStore(Protocol):
    """Unified profiles and reconciliation reports, with optimistic concurrency on profiles."""

    def get(self, sf_account_id: str) -> UnifiedProfile | None:
        """The profile for an Account id (15 or 18 characters), or None."""
        ...

    def upsert(self, profile: UnifiedProfile, *, if_match: str | None = None) -> UnifiedProfile:
        """Write the profile; with `if_match`, only if the stored etag is still that one.

        Returns the stored profile carrying its new etag. A stale (or vanished) `if_match`
        raises `PreconditionFailed`. The `etag` field of the argument is ignored.
        """
        ...

    def delete(self, sf_account_id: str, *, if_match: str | None = None) -> bool:
        """Remove the profile; False when there was none. Stale `if_match` -> PreconditionFailed."""
        ...

    def get_many(self, sf_account_ids: Sequence[str]) -> dict[str, UnifiedProfile]:
        """Bulk read for reconciliation pages: one round trip per chunk, keyed by 18-char id."""
        ...

    def versions(self) -> dict[str, str]:
        """Every profile's Account id and etag: a cheap scan that tells what changed since a
        copy (the curated zone's table) was made, including what was deleted."""
        ...

    def find(self, kind: LookupKind, value: str) -> list[UnifiedProfile]:
        """Profiles that carry `value` as a key of `kind`, by Account id: one read of the
        lookup entry, then one read per Account it names (two point reads when it is one)."""
        ...

    def find_by_d2c_customer(self, d2c_customer_id: str) -> UnifiedProfile | None:
        """The profile linked to a D2C customer (lowest Account id if data is ever duplicated)."""
        ...

    def find_by_email_domain(self, domain: str) -> list[UnifiedProfile]:
        """Profiles whose `email_domain` matches, case-insensitively (sign-up matching)."""
        ...

    def find_by_email(self, email: str) -> list[UnifiedProfile]:
        """Profiles with a person (or primary e-mail) of that address, case-insensitively."""
        ...

    def repair_lookups(self, sf_account_id: str) -> int:
        """Make the lookup entries agree with the stored profile (or its absence); returns
        how many entries it had to change. Reconciliation calls it for the accounts it sees."""
        ...

    def list_by_status(
        self, status: ProfileStatus | str, *, limit: int = 100, after: str | None = None
    ) -> list[UnifiedProfile]:
        """One page ordered by Account id; pass the last id of a page as `after` for the next."""
        ...

    def changes(
        self, *, since: datetime | None = None, cursor: str | None = None, limit: int = 100
    ) -> ChangePage:
        """Profiles written at or after `since`, in write order, after `cursor`.

        A version of a profile is listed once; a profile written again after it was listed
        comes again later in the feed with its new version. Deleted profiles leave the feed.
        A cursor from another store or a tampered one is InvalidData (field `cursor`).
        """
        ...

    def put_tombstones(self, hashes: Sequence[str], at: datetime) -> None:
        """Remember erased people by their keyed hashes (crosswalk/erasure/keys.py)."""
        ...

    def tombstoned(self, hashes: Sequence[str]) -> set[str]:
        """Which of these keyed hashes belong to erased people (a point read each)."""
        ...

    def put_report(self, report: ReconciliationReport) -> None:
        """Store (or replace) a reconciliation report under its run id."""
        ...

    def get_report(self, run_id: str) -> ReconciliationReport | None:
        """One report by run id, or None."""
        ...

    def list_reports(self, limit: int = 20) -> list[ReconciliationReport]:
        """The newest reports first (by `started_at`)."""
        ...

    def close(self) -> None:
        """Release connections; the store is unusable afterwards."""
        ...


class LookupKind(StrEnum):
    D2C_CUSTOMER = "d2c"
    D2C_USER = "user"
    EMAIL = "email"
    DOMAIN = "domain"
    SF_CONTACT = "contact"  # a person's Salesforce Contact id (Contact change events carry only it)


_FOLDED_KINDS = (LookupKind.EMAIL, LookupKind.DOMAIN)


def lookup_key(kind: LookupKind | str, value: str | None) -> str | None:
    """`<kind>:<sha256 of the value>`: e-mails and domains case-folded, ids as they are.

    Hashed so the entry's id is safe in Cosmos (no `/`, `?`, `#`) and holds no address.
    """
    kind = LookupKind(kind)
    if value is None:
        return None
    normal = fold(value) if kind in _FOLDED_KINDS else value.strip()
    if kind is LookupKind.SF_CONTACT and normal:
        try:
            normal = to_18(normal)  # an event's 18 characters and a 15-character copy agree
        except ValueError:
            return None
    if not normal:
        return None
    return f"{kind}:{hashlib.sha256(normal.encode()).hexdigest()}"


def profile_lookup_keys(profile: UnifiedProfile) -> list[str]:
    """Every lookup key a profile answers to, sorted: its D2C ids, every person's e-mail, D2C
    user id and Salesforce Contact id, and its company e-mail domain."""
    pairs: list[tuple[LookupKind, str | None]] = [
        (LookupKind.D2C_CUSTOMER, profile.d2c_customer_id),
        (LookupKind.D2C_USER, profile.d2c_primary_user_id),
        (LookupKind.EMAIL, profile.primary_email),
        (LookupKind.DOMAIN, profile.email_domain),
    ]
    for person in profile.contacts:
        pairs += [
            (LookupKind.EMAIL, person.email),
            (LookupKind.D2C_USER, person.d2c_user_id),
            (LookupKind.SF_CONTACT, person.sf_contact_id),
        ]
    return sorted({key for kind, value in pairs if (key := lookup_key(kind, value))})


class KeyedReads:
    """The named finders, written once over each store's `find`."""

    def find(self, kind: LookupKind, value: str) -> list[UnifiedProfile]:
        raise NotImplementedError

    def find_by_d2c_customer(self, d2c_customer_id: str) -> UnifiedProfile | None:
        hits = self.find(LookupKind.D2C_CUSTOMER, d2c_customer_id)
        return hits[0] if hits else None

    def find_by_email_domain(self, domain: str) -> list[UnifiedProfile]:
        return self.find(LookupKind.DOMAIN, domain)

    def find_by_email(self, email: str) -> list[UnifiedProfile]:
        return self.find(LookupKind.EMAIL, email)


def account_key(sf_account_id: str) -> str:
    """The 18-character Account id every implementation keys on; bad ids are InvalidData."""
    try:
        full = to_18(sf_account_id)
    except ValueError as exc:
        raise InvalidData(
            f"not a Salesforce Account id: {exc}", system=SYSTEM, field="sf_account_id"
        ) from None
    if not full.startswith(KEY_PREFIXES["Account"]):
        raise InvalidData(
            "not a Salesforce Account id: must start with 001", system=SYSTEM, field="sf_account_id"
        )
    return full


_HASH = re.compile(r"^[0-9a-f]{64}$")


def tombstone_key(value: str) -> str:
    """A tombstone's keyed hash, refused unless it is one (64 lowercase hex)."""
    if not isinstance(value, str) or not _HASH.match(value):
        raise InvalidData("a tombstone is 64 lowercase hex", system=SYSTEM, field="hash")
    return value


_RUN_ID = re.compile(r"[^/\\?#\x00-\x1f]{1,200}")


def run_key(run_id: str) -> str:
    """A report's run id, refused if Cosmos could not use it in a document id."""
    if not isinstance(run_id, str) or not _RUN_ID.fullmatch(run_id):
        raise InvalidData(
            "run_id must be 1-200 characters without / \\ ? # or control characters",
            system=SYSTEM,
            field="run_id",
        )
    return run_id


def fold(value: str | None) -> str | None:
    """Case-folded, trimmed form used for the case-insensitive lookups (None stays None)."""
    if value is None:
        return None
    folded = value.strip().lower()
    return folded or None


def status_value(status: ProfileStatus | str) -> str:
    """Accept the enum or its value; an unknown status is a caller bug, reported as InvalidData."""
    try:
        return ProfileStatus(status).value
    except ValueError:
        raise InvalidData(
            f"unknown profile status {status!r}", system=SYSTEM, field="status"
        ) from None


def check_limit(limit: int, *, maximum: int = 1000) -> int:
    if not 1 <= limit <= maximum:
        raise InvalidData(f"limit must be 1..{maximum}", system=SYSTEM, field="limit")
    return limit


def chunks(items: Sequence[str], size: int) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def unique_keys(sf_account_ids: Sequence[str]) -> list[str]:
    """Normalised, de-duplicated ids in first-seen order."""
    return list(dict.fromkeys(account_key(item) for item in sf_account_ids))


def feed_stamp(moment: datetime) -> str:
    """A write time as the feed stores it: UTC, microseconds always, so the text sorts as the
    time does (both stores compare these strings)."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def encode_cursor(position: dict[str, Any]) -> str:
    """An opaque, URL-safe feed cursor (what is inside is each store's own business)."""
    raw = json.dumps(position, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode_cursor(cursor: str, expected: dict[str, type]) -> dict[str, Any]:
    """The position in a cursor (its keys and their types as `expected`), or InvalidData
    naming `cursor` when it is not one this feed issued."""
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        data = None
    if not (
        isinstance(data, dict)
        and set(data) == set(expected)
        and all(
            isinstance(data[k], kind) and not isinstance(data[k], bool)
            for k, kind in expected.items()
        )
    ):
        raise InvalidData("not a cursor this feed issued", system=SYSTEM, field="cursor")
    return data
