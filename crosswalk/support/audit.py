"""The support audit log: every action, by whom, when and why, readable in the console.

Behind a small interface: `SqliteAuditStore` locally (`SUPPORT_AUDIT_KIND=sqlite`), append
blobs in the lake's storage account in Azure (`blob`, crosswalk/support/audit_blob.py), where
every instance of the app writes to the same log and a retention policy can make it WORM.
Which one runs is `crosswalk.services` `Services.audit`'s choice; both stores import the
entry from here, never the other way round.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from pydantic import AwareDatetime, BaseModel, Field

from crosswalk.sqlite_wal import switch_to_wal


class AuditEntry(BaseModel):
    id: str = Field(default_factory=lambda: uuid.uuid4().hex)
    at: AwareDatetime = Field(default_factory=lambda: datetime.now(UTC))
    actor: str
    roles: list[str] = Field(default_factory=list)
    action: str
    target: str
    reason: str | None = None
    outcome: str
    details: dict[str, Any] = Field(default_factory=dict)


class AuditStore(Protocol):
    def append(self, entry: AuditEntry) -> AuditEntry:
        """Store one entry; entries are never changed or removed."""
        ...

    def list(
        self,
        *,
        limit: int = 50,
        before: str | None = None,
        target: str | None = None,
        actor: str | None = None,
        action: str | None = None,
    ) -> list[AuditEntry]:
        """Newest first (by `at`, then arrival); `before` is the id of the last entry of the
        previous page."""
        ...

    def close(self) -> None: ...


def _sortable(at: datetime) -> str:
    """UTC, fixed width: text order is time order."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class SqliteAuditStore:
    """Append-only SQLite table; one connection per thread (Functions runs handlers in threads)."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        with self._conn() as conn:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS audit (seq INTEGER PRIMARY KEY AUTOINCREMENT,"
                " id TEXT UNIQUE NOT NULL, at TEXT NOT NULL, actor TEXT NOT NULL,"
                " action TEXT NOT NULL, target TEXT NOT NULL, body TEXT NOT NULL)"
            )
            conn.execute("CREATE INDEX IF NOT EXISTS audit_newest ON audit (at, seq)")
            conn.execute("CREATE INDEX IF NOT EXISTS audit_target_at ON audit (target, at, seq)")

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=30)
            switch_to_wal(conn, timeout=30)
            self._local.conn = conn
        return conn

    def append(self, entry: AuditEntry) -> AuditEntry:
        with self._conn() as conn:
            conn.execute(
                "INSERT INTO audit (id, at, actor, action, target, body) VALUES (?,?,?,?,?,?)",
                (
                    entry.id,
                    _sortable(entry.at),
                    entry.actor,
                    entry.action,
                    entry.target,
                    entry.model_dump_json(),
                ),
            )
        return entry

    def list(
        self,
        *,
        limit: int = 50,
        before: str | None = None,
        target: str | None = None,
        actor: str | None = None,
        action: str | None = None,
    ) -> list[AuditEntry]:
        where, params = [], []
        if before:
            # after the cursor entry in (time, arrival) order; an unknown id matches nothing
            where.append("(at, seq) < (SELECT at, seq FROM audit WHERE id = ?)")
            params.append(before)
        for column, value in (("target", target), ("actor", actor), ("action", action)):
            if value:
                where.append(f"{column} = ?")
                params.append(value)
        sql = "SELECT body FROM audit"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY at DESC, seq DESC LIMIT ?"
        rows = self._conn().execute(sql, (*params, limit)).fetchall()
        return [AuditEntry.model_validate(json.loads(body)) for (body,) in rows]

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None
