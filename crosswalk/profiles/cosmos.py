"""The profile store in Azure: Cosmos DB for NoSQL through the sync `azure-cosmos` client.

The documents' layout (one container, partition key `/sf_account_id`; profiles, lookup
entries, tombstones and reports) is in crosswalk.profiles.cosmos_documents.

The change feed orders profiles by `feed_key` (the store's write time with microseconds, then
the id: one sort key, so no composite index is needed). Write times come from the writers'
clocks and a slower writer can commit a smaller key after a reader has passed it, so the feed
serves only writes older than `feed_settle_seconds`: a change shows up that much later, and
none is skipped as long as no write takes longer than that to commit.

Writes with `if_match` use `replace_item` with `MatchConditions.IfNotModified`, so Cosmos
itself refuses a stale write (412). The client is built on first use, not in the constructor,
because `CosmosClient()` already talks to the account.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, ParamSpec, TypeVar

from azure.core import MatchConditions
from azure.core.exceptions import (
    AzureError,
)
from azure.cosmos import ContainerProxy, CosmosClient, PartitionKey
from azure.cosmos.exceptions import CosmosHttpResponseError

from crosswalk.errors import (
    PermanentError,
    PreconditionFailed,
)
from crosswalk.models import ProfileStatus, ReconciliationReport, UnifiedProfile
from crosswalk.profiles import cosmos_lookups as lookup_entries
from crosswalk.profiles.base import (
    SYSTEM,
    ChangePage,
    KeyedReads,
    LookupKind,
    account_key,
    check_limit,
    chunks,
    decode_cursor,
    encode_cursor,
    feed_stamp,
    lookup_key,
    profile_lookup_keys,
    run_key,
    status_value,
    tombstone_key,
    unique_keys,
)
from crosswalk.profiles.cosmos_documents import (
    PARTITION_KEY_PATH,
    REPORT_PREFIX,
    TOMBSTONE_PREFIX,
    from_document,
    report_document,
    to_document,
)
from crosswalk.profiles.cosmos_errors import cosmos_error, mapped
from crosswalk.telemetry.azure_calls import hooks

_CHUNK = 1000  # ids per ARRAY_CONTAINS query: ~22 KB of parameters, far below the 512 KB cap
_PROFILE = "c.type = 'profile'"

P = ParamSpec("P")
R = TypeVar("R")


class CosmosProfileStore(KeyedReads):
    """`ProfileStore` over one Cosmos DB container (layout: crosswalk.profiles.cosmos_documents).

    `credential` is an account key, a `TokenCredential`, or None for `DefaultAzureCredential`
    (managed identity in Azure). `create_if_missing` creates the database and container on
    first use — for the emulator and local runs only. Extra keyword arguments go to
    `CosmosClient` (e.g. `connection_verify=False` for the emulator's self-signed certificate).
    """

    def __init__(
        self,
        endpoint: str,
        credential: Any,
        database: str,
        container: str,
        *,
        create_if_missing: bool = False,
        feed_settle_seconds: float = 5.0,
        **client_options: Any,
    ) -> None:
        self._endpoint = endpoint
        self._credential = credential
        self._database = database
        self._container_name = container
        self._create = create_if_missing
        self._settle = timedelta(seconds=feed_settle_seconds)
        self._options = client_options
        self._lock = threading.Lock()
        self._client: CosmosClient | None = None
        self._owned_credential: Any = None
        self._proxy: ContainerProxy | None = None
        self._closed = False

    def _container(self) -> ContainerProxy:
        with self._lock:
            if self._closed:
                raise PermanentError("profile store is closed", system=SYSTEM, code="CLOSED")
            if self._proxy is None:
                try:
                    self._proxy = self._open()
                except AzureError as exc:
                    raise cosmos_error(exc, "connect") from exc
            return self._proxy

    def _open(self) -> ContainerProxy:
        credential = self._credential
        if credential is None:
            from azure.identity import DefaultAzureCredential

            credential = self._owned_credential = DefaultAzureCredential()
        options = {**hooks("cosmos"), **self._options}
        self._client = CosmosClient(self._endpoint, credential=credential, **options)
        if self._create:
            database = self._client.create_database_if_not_exists(self._database)
            return database.create_container_if_not_exists(
                self._container_name, partition_key=PartitionKey(path=PARTITION_KEY_PATH)
            )
        return self._client.get_database_client(self._database).get_container_client(
            self._container_name
        )

    def close(self) -> None:
        with self._lock:
            self._closed = True
            if self._client is not None:
                self._client.close()
            if self._owned_credential is not None:
                self._owned_credential.close()

    def _query(self, query: str, **parameters: Any) -> list[dict[str, Any]]:
        params: list[dict[str, object]] = [
            {"name": f"@{name}", "value": value} for name, value in parameters.items()
        ]
        items = self._container().query_items(
            query, parameters=params, enable_cross_partition_query=True
        )
        return list(items)

    def _read(self, key: str) -> dict[str, Any] | None:
        """The document whose id and partition key are `key` (a point read), or None."""
        return lookup_entries.read_document(self._container(), key)

    # ---------------------------------------------------------------- profiles

    @mapped("read profile")
    def get(self, sf_account_id: str) -> UnifiedProfile | None:
        document = self._read(account_key(sf_account_id))
        return None if document is None else from_document(document)

    @mapped("write profile")
    def upsert(self, profile: UnifiedProfile, *, if_match: str | None = None) -> UnifiedProfile:
        changed = datetime.now(UTC)
        document = to_document(profile, changed)
        key = document["id"]
        container = self._container()
        before = self._read(key)
        had = set(before.get("lookup_keys", [])) if before else set()
        wanted = set(document["lookup_keys"])
        for entry in sorted(wanted - had):
            self._lookup_add(entry, key)
        if if_match is None:
            stored = container.upsert_item(document)
        else:
            try:
                stored = container.replace_item(
                    item=key,
                    body=document,
                    etag=if_match,
                    match_condition=MatchConditions.IfNotModified,
                )
            except CosmosHttpResponseError as exc:
                if exc.status_code in (404, 412):  # gone, or changed since it was read
                    raise PreconditionFailed(
                        f"profile {key} changed since it was read", system=SYSTEM, status=412
                    ) from exc
                raise
        self._lookups_drop(key, had - wanted)
        return profile.model_copy(
            update={"sf_account_id": key, "etag": stored["_etag"], "changed_at": changed}
        )

    @mapped("delete profile")
    def delete(self, sf_account_id: str, *, if_match: str | None = None) -> bool:
        key = account_key(sf_account_id)
        before = self._read(key)
        conditions: dict[str, Any] = {}
        if if_match is not None:
            conditions = {"etag": if_match, "match_condition": MatchConditions.IfNotModified}
        try:
            self._container().delete_item(item=key, partition_key=key, **conditions)
        except CosmosHttpResponseError as exc:
            if exc.status_code == 404:
                return False
            if exc.status_code == 412:
                raise PreconditionFailed(
                    f"profile {key} changed since it was read", system=SYSTEM, status=412
                ) from exc
            raise
        self._lookups_drop(key, set(before.get("lookup_keys", [])) if before else set())
        return True

    # ---------------------------------------------------------------- lookup entries

    def _lookup_add(self, entry: str, account: str) -> bool:
        return lookup_entries.add(self._container(), entry, account)

    def _lookup_remove(self, entry: str, account: str) -> bool:
        return lookup_entries.remove(self._container(), entry, account)

    def _lookups_drop(self, account: str, entries: set[str]) -> None:
        """Remove the account from entries its profile no longer carries, then look again: a
        writer that put a key back meanwhile gets its entry back."""
        if not entries:
            return
        for entry in sorted(entries):
            self._lookup_remove(entry, account)
        now = self._read(account)
        for entry in sorted(entries & set(now.get("lookup_keys", [])) if now else ()):
            self._lookup_add(entry, account)

    @mapped("find profiles")
    def find(self, kind: LookupKind, value: str) -> list[UnifiedProfile]:
        entry_key = lookup_key(kind, value)
        entry = self._read(entry_key) if entry_key else None
        if entry is None:
            return []
        found = []
        for account in sorted(entry["accounts"]):
            document = self._read(account)
            if document is not None and entry_key in document.get("lookup_keys", []):
                found.append(from_document(document))
        return found

    @mapped("repair lookups")
    def repair_lookups(self, sf_account_id: str) -> int:
        key = account_key(sf_account_id)
        document = self._read(key)
        wanted = set(profile_lookup_keys(from_document(document))) if document else set()
        rewritten = 0
        if document is not None and set(document.get("lookup_keys") or []) != wanted:
            # written before lookup entries existed: writing it again adds keys and entries
            self.upsert(from_document(document), if_match=document["_etag"])
            rewritten = len(wanted)
        named = {
            row["id"]
            for row in self._query(
                "SELECT c.id FROM c WHERE c.type = 'lookup' AND ARRAY_CONTAINS(c.accounts, @a)",
                a=key,
            )
        }
        changed = sum(self._lookup_add(entry, key) for entry in sorted(wanted))
        changed += sum(self._lookup_remove(entry, key) for entry in sorted(named - wanted))
        return changed + rewritten

    @mapped("read profiles")
    def get_many(self, sf_account_ids: Sequence[str]) -> dict[str, UnifiedProfile]:
        found: dict[str, UnifiedProfile] = {}
        for chunk in chunks(unique_keys(sf_account_ids), _CHUNK):
            rows = self._query(
                f"SELECT * FROM c WHERE {_PROFILE} AND ARRAY_CONTAINS(@ids, c.sf_account_id)",
                ids=list(chunk),
            )
            for row in rows:
                found[row["sf_account_id"]] = from_document(row)
        return found

    def _profiles(self, where: str, top: int | None = None, **parameters: Any) -> list[Any]:
        head = "SELECT TOP @top *" if top is not None else "SELECT *"
        if top is not None:
            parameters["top"] = top
        rows = self._query(
            f"{head} FROM c WHERE {_PROFILE} AND {where} ORDER BY c.sf_account_id", **parameters
        )
        return [from_document(row) for row in rows]

    @mapped("list profile versions")
    def versions(self) -> dict[str, str]:
        rows = self._query(f"SELECT c.id, c._etag FROM c WHERE {_PROFILE}")
        return {str(row["id"]): str(row["_etag"]) for row in rows}

    @mapped("list profiles")
    def list_by_status(
        self, status: ProfileStatus | str, *, limit: int = 100, after: str | None = None
    ) -> list[UnifiedProfile]:
        return self._profiles(
            "c.status = @status AND c.sf_account_id > @after",
            top=check_limit(limit),
            status=status_value(status),
            after=after or "",
        )

    @mapped("read changes")
    def changes(
        self, *, since: datetime | None = None, cursor: str | None = None, limit: int = 100
    ) -> ChangePage:
        after = str(decode_cursor(cursor, {"key": str})["key"]) if cursor else ""
        settled = feed_stamp(datetime.now(UTC) - self._settle)
        where = "c.feed_key > @after AND c.changed_at <= @settled"
        params: dict[str, Any] = {"after": after, "settled": settled}
        if since is not None:
            where += " AND c.changed_at >= @since"
            params["since"] = feed_stamp(since)
        rows = self._query(
            f"SELECT TOP @top * FROM c WHERE {_PROFILE} AND {where} ORDER BY c.feed_key",
            top=check_limit(limit) + 1,
            **params,
        )
        page = rows[:limit]
        last = page[-1]["feed_key"] if page else after
        return ChangePage(
            [from_document(row) for row in page], encode_cursor({"key": last}), len(rows) > limit
        )

    # ---------------------------------------------------------------- tombstones

    @mapped("write tombstones")
    def put_tombstones(self, hashes: Sequence[str], at: datetime) -> None:
        container = self._container()
        for value in hashes:
            key = TOMBSTONE_PREFIX + tombstone_key(value)
            container.upsert_item(
                {"id": key, "sf_account_id": key, "type": "tombstone", "at": feed_stamp(at)}
            )

    @mapped("read tombstones")
    def tombstoned(self, hashes: Sequence[str]) -> set[str]:
        return {h for h in hashes if self._read(TOMBSTONE_PREFIX + tombstone_key(h)) is not None}

    # ---------------------------------------------------------------- reports

    @mapped("write report")
    def put_report(self, report: ReconciliationReport) -> None:
        self._container().upsert_item(report_document(report))

    @mapped("read report")
    def get_report(self, run_id: str) -> ReconciliationReport | None:
        document = self._read(REPORT_PREFIX + run_key(run_id))
        return None if document is None else ReconciliationReport.model_validate(document["report"])

    @mapped("list reports")
    def list_reports(self, limit: int = 20) -> list[ReconciliationReport]:
        rows = self._query(
            # One sort key only: a second would need a composite index in the container policy.
            "SELECT TOP @top * FROM c WHERE c.type = 'report' ORDER BY c.started_at DESC",
            top=check_limit(limit),
        )
        return [ReconciliationReport.model_validate(row["report"]) for row in rows]
