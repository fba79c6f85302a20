"""The curated zone's second table: every person of every unified profile, one row each.

Rows rather than a nested column of the profiles table because the questions asked of the
people are about people (who may be sent marketing, which sign-ups are linked, who is
primary): flat columns filter and join in every engine that reads Delta (Synapse serverless
SQL, Fabric, Power BI, Spark) without unnesting, and an erasure deletes one person's row
instead of rewriting the profile row of their company. The two tables join on
`sf_account_id`; `etag` says which profile version a row came from.

A refresh MERGEs the rows of the changed accounts in, and in the same commit deletes the
rows of those accounts (and of deleted profiles) that the source no longer has: one atomic
Delta commit per refresh, so a reader never sees an account half replaced.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from arro3.core import Array, DataType, Field, Schema, Table
from deltalake import CommitProperties, DeltaTable, QueryBuilder, write_deltalake
from deltalake.exceptions import TableNotFoundError

from crosswalk.models import UnifiedProfile
from crosswalk.people import Consent, ProfileContact
from crosswalk.profiles.base import account_key

TIMESTAMP = DataType.timestamp("us", tz="UTC")
_TEXT = (
    "sf_contact_id",
    "sf_lead_id",
    "d2c_user_id",
    "first_name",
    "last_name",
    "email",
    "phone",
    "origin",
    "link_state",
    "consent_source",
)

SCHEMA = Schema(
    [
        Field("sf_account_id", DataType.string(), nullable=False),
        Field("person_key", DataType.string(), nullable=False),
        Field("position", DataType.int32(), nullable=False),
        *(Field(name, DataType.string(), nullable=True) for name in _TEXT),
        Field("is_primary", DataType.bool(), nullable=False),
        Field("consent_marketing", DataType.bool(), nullable=True),
        Field("consent_at", TIMESTAMP, nullable=True),
        Field("etag", DataType.string(), nullable=False),
        Field("refreshed_at", TIMESTAMP, nullable=False),
    ]
)
COLUMNS = [field.name for field in SCHEMA]


def person_key(person: ProfileContact) -> str:
    """A stable key of a person within an account: a record id, else a hash of the e-mail."""
    for value in (person.sf_contact_id, person.sf_lead_id, person.d2c_user_id):
        if value:
            return value
    email = (person.email or "").strip().lower()
    return "email:" + hashlib.sha256(email.encode()).hexdigest()[:32]


def micros(moment: datetime | None) -> int | None:
    """Microseconds since the epoch in UTC (what an Arrow timestamp column holds)."""
    if moment is None:
        return None
    delta = moment.astimezone(UTC) - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def text(values: Iterable[Any]) -> Array:
    """A text column of both curated tables (None stays null)."""
    return Array([None if v is None else str(v) for v in values], DataType.string())


def times(values: Iterable[datetime | None]) -> Array:
    """A UTC timestamp column of both curated tables (None stays null)."""
    return Array([micros(v) for v in values], DataType.int64()).cast(TIMESTAMP)


def to_table(profiles: Sequence[UnifiedProfile], refreshed_at: datetime) -> Table:
    rows: list[tuple[UnifiedProfile, ProfileContact]] = [
        (profile, person) for profile in profiles for person in profile.contacts
    ]
    positions = [i for profile in profiles for i in range(len(profile.contacts))]

    consent = [person.consent for _, person in rows]
    columns: dict[str, Array] = {
        "sf_account_id": text(profile.sf_account_id for profile, _ in rows),
        "person_key": text(person_key(person) for _, person in rows),
        "position": Array(positions, DataType.int32()),
        **{
            name: text(getattr(person, name) for _, person in rows)
            for name in _TEXT
            if not name.startswith("consent_")
        },
        "consent_source": text(c.source if c else None for c in consent),
        "is_primary": Array([person.primary for _, person in rows], DataType.bool()),
        "consent_marketing": Array([c.marketing if c else None for c in consent], DataType.bool()),
        "consent_at": times(c.at if c else None for c in consent),
        "etag": text(profile.etag or "" for profile, _ in rows),
        "refreshed_at": times(refreshed_at for _ in rows),
    }
    return Table.from_pydict({name: columns[name] for name in COLUMNS}, schema=SCHEMA)


def from_row(row: dict[str, Any]) -> ProfileContact:
    values = {name: row[name] for name in _TEXT if not name.startswith("consent_")}
    values["primary"] = row["is_primary"]
    if row["consent_marketing"] is not None:
        values["consent"] = Consent(
            marketing=row["consent_marketing"], source=row["consent_source"], at=row["consent_at"]
        )
    return ProfileContact.model_validate(values)


class DeltaAt:
    """A Delta table at `uri` that may not exist yet (a folder path or `abfss://...`)."""

    def __init__(self, uri: str, *, storage_options: dict[str, str] | None = None) -> None:
        self.uri = uri
        self._options = storage_options

    def _open(self) -> DeltaTable | None:
        try:
            return DeltaTable(self.uri, storage_options=self._options)
        except TableNotFoundError:
            return None

    def version(self) -> int | None:
        table = self._open()
        return None if table is None else table.version()


class PeopleTable(DeltaAt):
    """The curated people table at `uri` (beside the profiles table)."""

    def replace_accounts(
        self, profiles: Sequence[UnifiedProfile], gone: Iterable[str], *, now: datetime
    ) -> int:
        """The rows of these profiles' accounts become exactly their people; the rows of the
        `gone` accounts go. One commit; returns the number of rows written."""
        accounts = sorted({account_key(p.sf_account_id) for p in profiles} | set(gone))
        if not accounts:
            return 0
        source = to_table(profiles, now)
        commit = CommitProperties(custom_metadata={"crosswalk.operation": "refresh"})
        table = self._open()
        if table is None:
            if source.num_rows:
                write_deltalake(
                    self.uri,
                    source,
                    mode="error",
                    storage_options=self._options,
                    commit_properties=commit,
                )
            return source.num_rows
        listed = ", ".join(f"'{account_key(a)}'" for a in accounts)  # ids: nothing to escape
        (
            table.merge(
                source,
                predicate="t.sf_account_id = s.sf_account_id AND t.person_key = s.person_key",
                source_alias="s",
                target_alias="t",
                commit_properties=commit,
            )
            .when_matched_update_all()
            .when_not_matched_insert_all()
            .when_not_matched_by_source_delete(f"t.sf_account_id IN ({listed})")
            .execute()
        )
        return source.num_rows

    def read(self) -> dict[str, list[ProfileContact]]:
        """Every account's people, in the profile's order (the inverse of `to_table`)."""
        people: dict[str, list[ProfileContact]] = {}
        for row in sorted(self.rows(), key=lambda r: (r["sf_account_id"], r["position"])):
            people.setdefault(row["sf_account_id"], []).append(from_row(row))
        return people

    def delete_where(self, predicate: str) -> int:
        """Delete rows matching a predicate built by the caller from validated values only."""
        table = self._open()
        if table is None:
            return 0
        return int(table.delete(predicate).get("num_deleted_rows", 0))

    def rows(self, where: str | None = None, *, version: int | None = None) -> list[dict[str, Any]]:
        """Rows (of `version`, for time travel); a vacuumed version raises delta-rs' error."""
        table = self._open()
        if table is None:
            return []
        if version is not None:
            table = DeltaTable(self.uri, version=version, storage_options=self._options)
        sql = f"SELECT {', '.join(COLUMNS)} FROM people" + (f" WHERE {where}" if where else "")
        result = QueryBuilder().register("people", table).execute(sql).read_all()
        names = result.schema.names
        columns = [result.column(name).to_pylist() for name in names]
        return [dict(zip(names, values, strict=True)) for values in zip(*columns, strict=True)]
