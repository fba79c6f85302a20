"""The local profile store: one SQLite file, safe for many threads and many processes.

Each thread gets its own connection (sqlite3 connections must not be shared mid-transaction);
WAL lets readers run beside the one writer, `busy_timeout` makes writers queue instead of
failing, and the etag check-and-write runs inside `BEGIN IMMEDIATE` so no other process can
slip a write between the check and the update. The profile is stored as JSON; the fields the
lookups need are copied into indexed columns (emails and domains case-folded), and every
lookup key of a profile (`profile_lookup_keys`) is a row of `lookups`, written in the same
transaction as the profile: the same contract as Cosmos DB's lookup entries, never stale.
"""

from __future__ import annotations

import functools
import sqlite3
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

from crosswalk.errors import PermanentError, PreconditionFailed, TransientError
from crosswalk.models import ProfileStatus, ReconciliationReport, UnifiedProfile, utc_iso
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
    fold,
    lookup_key,
    profile_lookup_keys,
    run_key,
    status_value,
    tombstone_key,
    unique_keys,
)
from crosswalk.profiles.sqlite_schema import (
    COLUMNS,
    JOINED,
    create_schema,
    row_profile,
    write_lookups,
)
from crosswalk.sqlite_wal import switch_to_wal

# SQLite builds before 3.32 allow only 999 host parameters per statement.
_CHUNK = 900
_BUSY_TIMEOUT_MS = 30_000

P = ParamSpec("P")
R = TypeVar("R")


def _mapped(method: Callable[P, R]) -> Callable[P, R]:
    """Sort sqlite3 failures into the taxonomy: a locked or busy file is worth a retry."""

    @functools.wraps(method)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return method(*args, **kwargs)
        except sqlite3.OperationalError as exc:
            raise TransientError(f"sqlite: {exc}", system=SYSTEM, code="SQLITE_BUSY") from exc
        except sqlite3.Error as exc:
            raise PermanentError(f"sqlite: {exc}", system=SYSTEM, code="SQLITE_ERROR") from exc

    return wrapper


class SqliteProfileStore(KeyedReads):
    """`ProfileStore` over a SQLite file (`path`); the file and its folder are created on use."""

    def __init__(self, path: Path | str) -> None:
        self._path = Path(path)
        self._local = threading.local()
        self._lock = threading.Lock()
        self._connections: list[sqlite3.Connection] = []
        self._schema_ready = False
        self._closed = False

    # ---------------------------------------------------------------- connections

    def _connect(self) -> sqlite3.Connection:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: we issue BEGIN/COMMIT ourselves, nothing implicit.
        conn = sqlite3.connect(
            self._path,
            timeout=_BUSY_TIMEOUT_MS / 1000,
            isolation_level=None,
            check_same_thread=False,  # only so close() may close it from another thread
        )
        conn.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")
        switch_to_wal(conn, timeout=_BUSY_TIMEOUT_MS / 1000)
        conn.execute("PRAGMA synchronous = NORMAL")
        return conn

    def _conn(self) -> sqlite3.Connection:
        if self._closed:
            raise PermanentError("profile store is closed", system=SYSTEM, code="CLOSED")
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            # Opening a connection switches a new file to WAL, which takes an exclusive lock
            # and does not wait on the busy handler: one thread at a time opens.
            with self._lock:
                conn = self._connect()
                self._connections.append(conn)
                if not self._schema_ready:
                    conn.execute("BEGIN IMMEDIATE")
                    try:
                        create_schema(conn)
                    except BaseException:
                        conn.execute("ROLLBACK")
                        raise
                    conn.execute("COMMIT")
                    self._schema_ready = True
            self._local.conn = conn
        return conn

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction holding the file's write lock from its first statement."""
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            self._closed = True
            for conn in self._connections:
                conn.close()
            self._connections.clear()

    # ---------------------------------------------------------------- profiles

    @_mapped
    def get(self, sf_account_id: str) -> UnifiedProfile | None:
        row = (
            self._conn()
            .execute(
                f"SELECT {COLUMNS} FROM profiles WHERE sf_account_id = ?",
                (account_key(sf_account_id),),
            )
            .fetchone()
        )
        return None if row is None else row_profile(row)

    @_mapped
    def upsert(self, profile: UnifiedProfile, *, if_match: str | None = None) -> UnifiedProfile:
        key = account_key(profile.sf_account_id)
        etag = uuid.uuid4().hex
        body = profile.model_dump_json(exclude={"etag", "changed_at"})
        values = (
            key,
            etag,
            ProfileStatus(profile.status).value,
            profile.d2c_customer_id,
            fold(profile.email_domain),
            fold(profile.primary_email),
            body,
        )
        with self._write() as conn:
            if if_match is not None:
                row = conn.execute(
                    "SELECT etag FROM profiles WHERE sf_account_id = ?", (key,)
                ).fetchone()
                if row is None or row[0] != if_match:
                    raise PreconditionFailed(
                        f"profile {key} changed since it was read", system=SYSTEM, status=412
                    )
            (seq,) = conn.execute(
                "UPDATE feed_counter SET last = last + 1 WHERE id = 1 RETURNING last"
            ).fetchone()
            changed = datetime.now(UTC)
            conn.execute(
                "INSERT INTO profiles (sf_account_id, etag, status, d2c_customer_id,"
                " email_domain, primary_email, body, feed_seq, changed_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (sf_account_id) DO UPDATE SET etag = excluded.etag,"
                " status = excluded.status, d2c_customer_id = excluded.d2c_customer_id,"
                " email_domain = excluded.email_domain, primary_email = excluded.primary_email,"
                " body = excluded.body, feed_seq = excluded.feed_seq,"
                " changed_at = excluded.changed_at",
                (*values, seq, feed_stamp(changed)),
            )
            write_lookups(conn, key, profile_lookup_keys(profile))
        return profile.model_copy(
            update={"sf_account_id": key, "etag": etag, "changed_at": changed}
        )

    @_mapped
    def delete(self, sf_account_id: str, *, if_match: str | None = None) -> bool:
        key = account_key(sf_account_id)
        with self._write() as conn:
            row = conn.execute(
                "SELECT etag FROM profiles WHERE sf_account_id = ?", (key,)
            ).fetchone()
            if row is None:
                return False
            if if_match is not None and row[0] != if_match:
                raise PreconditionFailed(
                    f"profile {key} changed since it was read", system=SYSTEM, status=412
                )
            conn.execute("DELETE FROM profiles WHERE sf_account_id = ?", (key,))
            write_lookups(conn, key, [])
        return True

    @_mapped
    def get_many(self, sf_account_ids: Sequence[str]) -> dict[str, UnifiedProfile]:
        found: dict[str, UnifiedProfile] = {}
        conn = self._conn()
        for chunk in chunks(unique_keys(sf_account_ids), _CHUNK):
            marks = ", ".join("?" * len(chunk))
            rows = conn.execute(
                f"SELECT {COLUMNS} FROM profiles WHERE sf_account_id IN ({marks})", tuple(chunk)
            )
            for row in rows:
                found[row[0]] = row_profile(row)
        return found

    def _select(self, where: str, params: tuple[Any, ...], limit: int | None = None) -> list[Any]:
        sql = f"SELECT {COLUMNS} FROM profiles WHERE {where} ORDER BY sf_account_id"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        return [row_profile(row) for row in self._conn().execute(sql, params)]

    @_mapped
    def find(self, kind: LookupKind, value: str) -> list[UnifiedProfile]:
        key = lookup_key(kind, value)
        if key is None:
            return []
        rows = self._conn().execute(
            f"SELECT {JOINED} FROM lookups AS l"
            " JOIN profiles AS p ON p.sf_account_id = l.sf_account_id"
            " WHERE l.lookup_key = ? ORDER BY l.sf_account_id",
            (key,),
        )
        return [row_profile(row) for row in rows]

    @_mapped
    def repair_lookups(self, sf_account_id: str) -> int:
        key = account_key(sf_account_id)
        with self._write() as conn:
            row = conn.execute(
                f"SELECT {COLUMNS} FROM profiles WHERE sf_account_id = ?", (key,)
            ).fetchone()
            wanted = profile_lookup_keys(row_profile(row)) if row else []
            return write_lookups(conn, key, wanted)

    @_mapped
    def versions(self) -> dict[str, str]:
        rows = self._conn().execute("SELECT sf_account_id, etag FROM profiles")
        return {str(key): str(etag) for key, etag in rows}

    @_mapped
    def list_by_status(
        self, status: ProfileStatus | str, *, limit: int = 100, after: str | None = None
    ) -> list[UnifiedProfile]:
        return self._select(
            "status = ? AND sf_account_id > ?",
            (status_value(status), after or ""),
            limit=check_limit(limit),
        )

    @_mapped
    def changes(
        self, *, since: datetime | None = None, cursor: str | None = None, limit: int = 100
    ) -> ChangePage:
        after = int(decode_cursor(cursor, {"seq": int})["seq"]) if cursor else 0
        where, params = "feed_seq > ?", [after]
        if since is not None:
            where += " AND changed_at >= ?"
            params.append(feed_stamp(since))
        rows = (
            self._conn()
            .execute(
                f"SELECT {COLUMNS}, feed_seq FROM profiles WHERE {where} ORDER BY feed_seq LIMIT ?",
                (*params, check_limit(limit) + 1),
            )
            .fetchall()
        )
        page = rows[:limit]
        last = page[-1][4] if page else after
        return ChangePage(
            [row_profile(row) for row in page], encode_cursor({"seq": last}), len(rows) > limit
        )

    # ---------------------------------------------------------------- tombstones

    @_mapped
    def put_tombstones(self, hashes: Sequence[str], at: datetime) -> None:
        rows = [(tombstone_key(h), feed_stamp(at)) for h in hashes]
        with self._write() as conn:
            conn.executemany("INSERT OR IGNORE INTO tombstones (hash, at) VALUES (?, ?)", rows)

    @_mapped
    def tombstoned(self, hashes: Sequence[str]) -> set[str]:
        wanted = [tombstone_key(h) for h in hashes]
        if not wanted:
            return set()
        marks = ", ".join("?" * len(wanted))
        rows = self._conn().execute(f"SELECT hash FROM tombstones WHERE hash IN ({marks})", wanted)
        return {h for (h,) in rows}

    # ---------------------------------------------------------------- reports

    @_mapped
    def put_report(self, report: ReconciliationReport) -> None:
        started = utc_iso(report.started_at.astimezone(UTC))
        with self._write() as conn:
            conn.execute(
                "INSERT INTO reports (run_id, started_at, body) VALUES (?, ?, ?)"
                " ON CONFLICT (run_id) DO UPDATE SET started_at = excluded.started_at,"
                " body = excluded.body",
                (run_key(report.run_id), started, report.model_dump_json()),
            )

    @_mapped
    def get_report(self, run_id: str) -> ReconciliationReport | None:
        row = (
            self._conn()
            .execute("SELECT body FROM reports WHERE run_id = ?", (run_key(run_id),))
            .fetchone()
        )
        return None if row is None else ReconciliationReport.model_validate_json(row[0])

    @_mapped
    def list_reports(self, limit: int = 20) -> list[ReconciliationReport]:
        rows = self._conn().execute(
            "SELECT body FROM reports ORDER BY started_at DESC, run_id DESC LIMIT ?",
            (check_limit(limit),),
        )
        return [ReconciliationReport.model_validate_json(body) for (body,) in rows]
