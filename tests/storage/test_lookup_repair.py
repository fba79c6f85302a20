"""Lookup entries that disagree with their profiles are put right by one implementation,
which both `python -m crosswalk.profiles.repair` and reconciliation use."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from crosswalk.people import ProfileContact
from crosswalk.profiles import SqliteProfileStore
from crosswalk.profiles.base import LookupKind, ProfileStore, lookup_key
from crosswalk.profiles.repair import repair_accounts, repair_written_since

from .factories import account_id, profile


def _drift(path, account: str) -> None:
    """What a writer that stopped between its steps leaves: an entry missing, one stale."""
    with sqlite3.connect(path) as conn:
        conn.execute("DELETE FROM lookups WHERE sf_account_id = ?", (account,))
        conn.execute(
            "INSERT INTO lookups (lookup_key, sf_account_id) VALUES (?, ?)",
            (lookup_key(LookupKind.EMAIL, "gone@acme.example"), account),
        )
    conn.close()


def test_profiles_written_since_a_moment_are_repaired_a_page_at_a_time(tmp_path) -> None:
    store = SqliteProfileStore(tmp_path / "p.sqlite3")
    person = [ProfileContact(email="ana@acme.example")]
    for n in range(1, 6):
        store.upsert(profile(n, contacts=person))
    _drift(tmp_path / "p.sqlite3", account_id(3))
    assert store.find_by_email("ana@acme.example")[2].sf_account_id != account_id(3)

    since = datetime.now(UTC) - timedelta(minutes=5)
    first = repair_written_since(store, since, limit=2)
    rest = [first]
    while rest[-1].more:
        rest.append(repair_written_since(store, since, cursor=rest[-1].cursor, limit=2))

    assert sum(r.profiles for r in rest) == 5
    assert sum(r.entries_changed for r in rest) == 2  # the e-mail entry back, the stale one out
    assert len(store.find_by_email("ana@acme.example")) == 5
    assert repair_accounts(store, store.versions()).entries_changed == 0
    store.close()


def test_the_command_repairs_every_profile_of_the_configured_store(tmp_path) -> None:
    path = tmp_path / "p.sqlite3"
    store: ProfileStore = SqliteProfileStore(path)
    store.upsert(profile(1, contacts=[ProfileContact(email="ana@acme.example")]))
    store.close()
    _drift(path, account_id(1))

    done = subprocess.run(
        [sys.executable, "-m", "crosswalk.profiles.repair"],
        env={"PROFILE_STORE_KIND": "sqlite", "PROFILE_STORE_SQLITE_PATH": str(path)},
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        check=True,
    )

    assert json.loads(done.stdout) == {"profiles": 1, "entries_changed": 2}


def test_nothing_written_since_repairs_nothing(tmp_path) -> None:
    store = SqliteProfileStore(tmp_path / "p.sqlite3")
    store.upsert(profile(1))

    done = repair_written_since(store, datetime.now(UTC) + timedelta(minutes=1))

    assert (done.profiles, done.entries_changed, done.more) == (0, 0, False)
    store.close()
