"""The SQLite profile store's tables, and how an older file is brought up to them: the change
feed's columns and the lookup entries are added to files made before them."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from crosswalk.models import UnifiedProfile
from crosswalk.profiles.base import feed_stamp, profile_lookup_keys

_SCHEMA = """
CREATE TABLE IF NOT EXISTS profiles (
    sf_account_id   TEXT PRIMARY KEY,
    etag            TEXT NOT NULL,
    status          TEXT NOT NULL,
    d2c_customer_id TEXT,
    email_domain    TEXT,
    primary_email   TEXT,
    body            TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS profiles_d2c ON profiles (d2c_customer_id);
CREATE INDEX IF NOT EXISTS profiles_domain ON profiles (email_domain);
CREATE INDEX IF NOT EXISTS profiles_email ON profiles (primary_email);
CREATE INDEX IF NOT EXISTS profiles_status ON profiles (status, sf_account_id);
CREATE TABLE IF NOT EXISTS lookups (
    lookup_key    TEXT NOT NULL,
    sf_account_id TEXT NOT NULL,
    PRIMARY KEY (lookup_key, sf_account_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS lookups_account ON lookups (sf_account_id);
CREATE TABLE IF NOT EXISTS tombstones (
    hash TEXT PRIMARY KEY,
    at   TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS reports (
    run_id     TEXT PRIMARY KEY,
    started_at TEXT NOT NULL,
    body       TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS reports_newest ON reports (started_at DESC, run_id DESC);
CREATE TABLE IF NOT EXISTS feed_counter (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    last INTEGER NOT NULL
);
INSERT OR IGNORE INTO feed_counter (id, last) VALUES (1, 0);
"""

# The change feed: every write takes the next number from `feed_counter` inside its write
# transaction, so write order and feed order are the same and a reader between two commits
# can never be overtaken by a smaller number (no skipped change). Added to older files too.
_FEEDCOLUMNS = {"feed_seq": "INTEGER", "changed_at": "TEXT"}
_FEED_INDEX = "CREATE INDEX IF NOT EXISTS profiles_feed ON profiles (feed_seq)"

COLUMNS = "sf_account_id, etag, body, changed_at"
JOINED = "p.sf_account_id, p.etag, p.body, p.changed_at"  # the same, from `profiles AS p`


def row_profile(row: sqlite3.Row | tuple[Any, ...]) -> UnifiedProfile:
    _, etag, body, changed_at = row[:4]
    changed = datetime.fromisoformat(changed_at) if changed_at else None
    return UnifiedProfile.model_validate_json(body).model_copy(
        update={"etag": etag, "changed_at": changed}
    )


LOOKUPS_VERSION = 2
"""Bumped when `profile_lookup_keys` gains a kind (2: Salesforce Contact ids): a file whose
`user_version` is older has its entries written again on opening."""


def create_schema(conn: sqlite3.Connection) -> None:
    """Create what is missing, inside the caller's write transaction."""
    (version,) = conn.execute("PRAGMA user_version").fetchone()
    for statement in filter(str.strip, _SCHEMA.split(";")):
        conn.execute(statement)
    _add_feed_columns(conn)
    if version < LOOKUPS_VERSION:
        _fill_lookups(conn)
        conn.execute(f"PRAGMA user_version = {LOOKUPS_VERSION}")


def write_lookups(conn: sqlite3.Connection, account: str, wanted: Sequence[str]) -> int:
    """Make the account's lookup rows exactly `wanted`; returns how many rows changed."""
    have = {k for (k,) in conn.execute(
        "SELECT lookup_key FROM lookups WHERE sf_account_id = ?", (account,)
    )}  # fmt: skip
    gone, new = have - set(wanted), set(wanted) - have
    conn.executemany(
        "DELETE FROM lookups WHERE lookup_key = ? AND sf_account_id = ?",
        [(k, account) for k in gone],
    )
    conn.executemany(
        "INSERT INTO lookups (lookup_key, sf_account_id) VALUES (?, ?)",
        [(k, account) for k in new],
    )
    return len(gone) + len(new)


def _fill_lookups(conn: sqlite3.Connection) -> None:
    """A file made before (these kinds of) lookup entries gets them for every profile."""
    for row in conn.execute(f"SELECT {COLUMNS} FROM profiles").fetchall():
        write_lookups(conn, row[0], profile_lookup_keys(row_profile(row)))


def _add_feed_columns(conn: sqlite3.Connection) -> None:
    """Give a file made before the change feed its columns (existing rows start the feed)."""
    present = {row[1] for row in conn.execute("PRAGMA table_info(profiles)")}
    for name, kind in _FEEDCOLUMNS.items():
        if name not in present:
            conn.execute(f"ALTER TABLE profiles ADD COLUMN {name} {kind}")
    if "feed_seq" not in present:
        conn.execute(
            "UPDATE profiles SET feed_seq = ranked.n, changed_at = ? FROM (SELECT sf_account_id,"
            " ROW_NUMBER() OVER (ORDER BY sf_account_id) AS n FROM profiles) AS ranked"
            " WHERE ranked.sf_account_id = profiles.sf_account_id",
            (feed_stamp(datetime.now(UTC)),),
        )
        conn.execute(
            "UPDATE feed_counter SET last = (SELECT COALESCE(MAX(feed_seq), 0) FROM profiles)"
        )
    conn.execute(_FEED_INDEX)
