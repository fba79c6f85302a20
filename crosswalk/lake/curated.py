"""The curated zone: the unified profiles as a Delta Lake table analytics can read.

One row per profile, the profile's fields as typed columns (times as UTC timestamps, the
approval and failure as JSON text) plus the store's `etag` and `refreshed_at`, partitioned by
`status` (a handful of values, and what most questions filter on: active customers, failures).
The people of each profile, with their consent, are rows of a second table beside it
(`<path>_people`, crosswalk/lake/curated_people.py), refreshed in the same pass.
Written with `deltalake` (delta-rs) to a folder or to Azure Blob / ADLS Gen2, where Synapse,
Fabric and Databricks read it.

A refresh is incremental: it compares the store's `versions()` (id -> etag, a cheap scan)
with the table's `sf_account_id`/`etag` columns, reads only the changed profiles, MERGEs them
into the table and deletes the rows of profiles that are gone; an unchanged store commits
nothing. `compact()` rewrites the small files many refreshes leave into few (`OPTIMIZE`) and
`vacuum()` removes files no version needs any more.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from arro3.core import Array, DataType, Field, Schema, Table
from deltalake import CommitProperties, QueryBuilder, write_deltalake

from crosswalk.errors import ConfigurationError
from crosswalk.lake.curated_people import TIMESTAMP, DeltaAt, PeopleTable, text, times
from crosswalk.models import UnifiedProfile
from crosswalk.profiles.base import ProfileStore, account_key, chunks
from crosswalk.settings import LakeKind, LakeSettings

PARTITION_BY = ["status"]
_TEXT = ("name", "d2c_customer_id", "d2c_primary_user_id", "primary_email", "email_domain")
_TIMES = ("last_modstamp", "updated_at", "changed_at")
_JSON = ("approval", "failure")
_READ_CHUNK = 1000  # profiles per store round trip
_DELETE_CHUNK = 500  # ids per DELETE predicate

SCHEMA = Schema(
    [
        Field("sf_account_id", DataType.string(), nullable=False),
        Field("status", DataType.string(), nullable=False),
        *(Field(name, DataType.string(), nullable=True) for name in _TEXT),
        Field("country", DataType.string(), nullable=True),
        *(Field(name, TIMESTAMP, nullable=True) for name in _TIMES),
        *(Field(name, DataType.string(), nullable=True) for name in _JSON),
        Field("etag", DataType.string(), nullable=False),
        Field("refreshed_at", TIMESTAMP, nullable=False),
    ]
)
COLUMNS = [field.name for field in SCHEMA]


@dataclass(frozen=True)
class RefreshResult:
    """What one refresh did; `version` is the table version afterwards (None: no table)."""

    upserted: int
    deleted: int
    unchanged: int
    version: int | None
    people: int = 0  # person rows written


def to_table(profiles: Sequence[UnifiedProfile], refreshed_at: datetime) -> Table:
    """The profiles as Arrow rows in the table's schema."""
    dumped = [profile.model_dump(mode="json") for profile in profiles]
    columns: dict[str, Array] = {
        "sf_account_id": text([p.sf_account_id for p in profiles]),
        "status": text([str(row["status"]) for row in dumped]),
        **{name: text([row[name] for row in dumped]) for name in _TEXT},
        "country": text([row["country"] for row in dumped]),
        **{name: times([getattr(p, name) for p in profiles]) for name in _TIMES},
        **{
            name: text([None if row[name] is None else json.dumps(row[name]) for row in dumped])
            for name in _JSON
        },
        "etag": text([p.etag or "" for p in profiles]),
        "refreshed_at": times([refreshed_at] * len(profiles)),
    }
    return Table.from_pydict(columns, schema=SCHEMA)


def from_row(row: dict[str, Any]) -> UnifiedProfile:
    """A profile from a table row (the inverse of `to_table`)."""
    values = {name: row[name] for name in ("sf_account_id", "status", "country", *_TEXT)}
    values.update({name: row[name] for name in _TIMES})
    values.update({name: None if row[name] is None else json.loads(row[name]) for name in _JSON})
    values["etag"] = row["etag"] or None
    return UnifiedProfile.model_validate(values)


class ProfileTable(DeltaAt):
    """The curated profiles table at `uri` (a folder path, or `abfss://container@account...`)."""

    def __init__(self, uri: str, *, storage_options: dict[str, str] | None = None) -> None:
        super().__init__(uri, storage_options=storage_options)
        self.people = PeopleTable(uri + "_people", storage_options=storage_options)

    @classmethod
    def from_settings(cls, settings: LakeSettings) -> ProfileTable:
        """The table beside the raw zone: `{LAKE_FOLDER}/{path}` or the lake's container."""
        path = settings.curated_path
        if settings.kind is LakeKind.FOLDER:
            return cls(str((Path(settings.folder) / path).absolute()))
        options = blob_options(settings)
        # abfss, not az: delta-rs 1.1.1+ fails later commits on ADLS through az:// paths
        # (delta-io/delta-rs#3824).
        account = options["account_name"]
        uri = f"abfss://{settings.container}@{account}.dfs.core.windows.net/{path}"
        return cls(uri, storage_options=options)

    def _query(self, sql: str) -> list[dict[str, Any]]:
        table = self._open()
        if table is None:
            return []
        result = QueryBuilder().register("profiles", table).execute(sql).read_all()
        names = result.schema.names
        columns = [result.column(name).to_pylist() for name in names]
        return [dict(zip(names, values, strict=True)) for values in zip(*columns, strict=True)]

    def etags(self) -> dict[str, str]:
        """`sf_account_id -> etag` of every row (two columns read, not the whole table)."""
        return {
            str(row["sf_account_id"]): str(row["etag"])
            for row in self._query("SELECT sf_account_id, etag FROM profiles")
        }

    def read(self) -> dict[str, UnifiedProfile]:
        """Every row as a profile with its people, keyed by Account id."""
        rows = self._query(f"SELECT {', '.join(COLUMNS)} FROM profiles")
        people = self.people.read()
        return {
            str(row["sf_account_id"]): from_row(row).model_copy(
                update={"contacts": people.get(str(row["sf_account_id"]), [])}
            )
            for row in rows
        }

    def upsert(self, profiles: Sequence[UnifiedProfile], *, now: datetime) -> int:
        """MERGE the profiles in by Account id (insert the new, update the changed)."""
        if not profiles:
            return 0
        source = to_table(profiles, now)
        table = self._open()
        commit = CommitProperties(custom_metadata={"crosswalk.operation": "refresh"})
        if table is None:
            write_deltalake(
                self.uri,
                source,
                partition_by=PARTITION_BY,
                mode="error",
                storage_options=self._options,
                commit_properties=commit,
            )
            return len(profiles)
        (
            table.merge(
                source,
                predicate="t.sf_account_id = s.sf_account_id",
                source_alias="s",
                target_alias="t",
                commit_properties=commit,
            )
            .when_matched_update_all()
            .when_not_matched_insert_all()
            .execute()
        )
        return len(profiles)

    def delete(self, sf_account_ids: Iterable[str]) -> int:
        """Remove the rows of these Account ids (validated ids only reach the predicate)."""
        keys = sorted({account_key(item) for item in sf_account_ids})
        table = self._open()
        if table is None or not keys:
            return 0
        deleted = 0
        for chunk in chunks(keys, _DELETE_CHUNK):
            listed = ", ".join(f"'{key}'" for key in chunk)  # [0-9A-Za-z]{18}: nothing to escape
            metrics = table.delete(f"sf_account_id IN ({listed})")
            deleted += int(metrics.get("num_deleted_rows", 0))
        return deleted

    def refresh(self, store: ProfileStore, *, now: datetime | None = None) -> RefreshResult:
        """Bring the table up to the store: only changed profiles are read and written."""
        moment = now or datetime.now(UTC)
        wanted = store.versions()
        have = self.etags()
        changed = [key for key, etag in wanted.items() if have.get(key) != etag]
        gone = [key for key in have if key not in wanted]
        upserted = 0
        batch: list[UnifiedProfile] = []
        for chunk in chunks(sorted(changed), _READ_CHUNK):
            batch.extend(store.get_many(chunk).values())
        # people first: a refresh that stops between the tables finds the accounts changed
        # again next time (the profiles table still has their old etags) and redoes both
        people = self.people.replace_accounts(batch, gone, now=moment)
        upserted = self.upsert(batch, now=moment)
        deleted = self.delete(gone)
        return RefreshResult(
            upserted=upserted,
            deleted=deleted,
            unchanged=len(wanted) - len(changed),
            version=self.version(),
            people=people,
        )

    def compact(self) -> dict[str, Any]:
        """OPTIMIZE both tables: small files into few per partition; returns delta-rs' metrics
        (the people table's under `people`)."""
        table, people = self._open(), self.people._open()
        metrics: dict[str, Any] = {} if table is None else dict(table.optimize.compact())
        if people is not None:
            metrics["people"] = dict(people.optimize.compact())
        return metrics

    def vacuum(self, *, retention_hours: int = 168) -> list[str]:
        """Delete files no table version within `retention_hours` needs; returns them."""
        removed: list[str] = []
        for table in (self._open(), self.people._open()):
            if table is not None:
                removed += table.vacuum(
                    retention_hours=retention_hours,
                    dry_run=False,
                    enforce_retention_duration=retention_hours >= 168,
                )
        return removed

    def files(self) -> int:
        table = self._open()
        return 0 if table is None else len(table.file_uris())


def blob_options(settings: LakeSettings) -> dict[str, str]:
    """delta-rs (object_store) options for the lake's storage account.

    A connection string gives the account name, key and endpoint (Azurite's included); with
    only `LAKE_ACCOUNT_URL`, object_store finds the managed identity itself.
    """
    if settings.connection_string is not None:
        parts = dict(
            item.split("=", 1)
            for item in settings.connection_string.get_secret_value().split(";")
            if "=" in item
        )
        name, key = parts.get("AccountName"), parts.get("AccountKey")
        if not name or not key:
            raise ConfigurationError("LAKE_CONNECTION_STRING: needs AccountName and AccountKey")
        options = {"account_name": name, "account_key": key}
        endpoint = parts.get("BlobEndpoint")
        if endpoint:
            options["azure_storage_endpoint"] = endpoint.rstrip("/")
            if endpoint.startswith("http://"):
                options["allow_http"] = "true"
        return options
    if settings.account_url is not None:
        host = str(settings.account_url).split("//", 1)[-1].split(".", 1)[0]
        return {"account_name": host}
    raise ConfigurationError("LAKE_CONNECTION_STRING: or LAKE_ACCOUNT_URL is required")


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m crosswalk.lake.curated [--compact] [--vacuum HOURS]`: refresh the table
    from the configured profile store (PROFILE_STORE_*, LAKE_* settings) and print JSON."""
    import argparse
    import sys

    from crosswalk.profiles import open_profile_store
    from crosswalk.settings import ProfileStoreSettings

    parser = argparse.ArgumentParser(prog="python -m crosswalk.lake.curated")
    parser.add_argument("--compact", action="store_true", help="OPTIMIZE after refreshing")
    parser.add_argument("--vacuum", type=int, metavar="HOURS", help="remove files older than")
    args = parser.parse_args(argv)
    table = ProfileTable.from_settings(LakeSettings())
    store = open_profile_store(ProfileStoreSettings())
    try:
        result = table.refresh(store)
    finally:
        store.close()
    report: dict[str, Any] = {"table": table.uri, **result.__dict__}
    if args.compact:
        report["compaction"] = table.compact()
    if args.vacuum is not None:
        report["vacuumed"] = len(table.vacuum(retention_hours=args.vacuum))
    json.dump(report, sys.stdout, indent=2, default=str)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
