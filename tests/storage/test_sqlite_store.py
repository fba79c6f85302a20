"""SqliteProfileStore specifics: several processes on one file, bulk reads in few statements."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest

from crosswalk.errors import PermanentError, PreconditionFailed
from crosswalk.profiles import SqliteProfileStore, open_profile_store
from crosswalk.settings import ProfileStoreKind, ProfileStoreSettings

from .factories import account_id, profile


def _increment_many(path: str, times: int) -> None:
    """Run in a child process: bump a counter with etag-checked read-modify-write."""
    store = SqliteProfileStore(path)
    try:
        for _ in range(times):
            while True:
                current = store.get(account_id(1))
                assert current is not None and current.failure is not None
                bumped = {"count": current.failure["count"] + 1}
                try:
                    store.upsert(
                        current.model_copy(update={"failure": bumped}), if_match=current.etag
                    )
                    break
                except PreconditionFailed:
                    continue
    finally:
        store.close()


def test_processes_sharing_one_file_lose_no_conditional_update(tmp_path: Path) -> None:
    path = tmp_path / "profiles.sqlite3"
    store = SqliteProfileStore(path)
    store.upsert(profile(1, failure={"count": 0}))
    spawn = multiprocessing.get_context("spawn")
    workers = [spawn.Process(target=_increment_many, args=(str(path), 25)) for _ in range(3)]

    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)

    assert [worker.exitcode for worker in workers] == [0, 0, 0]
    final = store.get(account_id(1))
    assert final is not None and final.failure == {"count": 75}
    store.close()


def test_a_second_store_on_the_same_file_sees_committed_writes(tmp_path: Path) -> None:
    writer = SqliteProfileStore(tmp_path / "p.sqlite3")
    reader = SqliteProfileStore(tmp_path / "p.sqlite3")

    written = writer.upsert(profile(1))

    assert reader.get(account_id(1)) == written
    writer.close()
    reader.close()


def test_get_many_reads_2500_ids_in_a_handful_of_statements(tmp_path: Path) -> None:
    store = SqliteProfileStore(tmp_path / "p.sqlite3")
    for n in range(10):
        store.upsert(profile(n))
    statements: list[str] = []
    store._conn().set_trace_callback(statements.append)

    store.get_many([account_id(n) for n in range(2500)])

    selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert len(selects) == 3  # 900-id chunks, not one query per id
    store.close()


def test_the_file_and_its_folder_are_created_on_first_use_not_on_construction(
    tmp_path: Path,
) -> None:
    path = tmp_path / "nested" / "p.sqlite3"
    store = SqliteProfileStore(path)

    assert not path.parent.exists()
    store.upsert(profile(1))
    assert path.is_file()
    store.close()


def test_a_closed_store_refuses_further_use(tmp_path: Path) -> None:
    store = SqliteProfileStore(tmp_path / "p.sqlite3")
    store.upsert(profile(1))

    store.close()

    with pytest.raises(PermanentError):
        store.get(account_id(1))


def test_open_profile_store_builds_the_sqlite_store_from_settings(tmp_path: Path) -> None:
    settings = ProfileStoreSettings(kind=ProfileStoreKind.SQLITE, sqlite_path=tmp_path / "s.db")

    store = open_profile_store(settings)

    assert isinstance(store, SqliteProfileStore)
    assert store.upsert(profile(1)).etag
    store.close()


def test_a_file_from_before_the_change_feed_gains_it_with_every_profile_listed(
    tmp_path: Path,
) -> None:
    import sqlite3

    path = tmp_path / "old.sqlite3"
    with sqlite3.connect(path) as old:  # the schema as it was before the feed columns
        old.execute(
            "CREATE TABLE profiles (sf_account_id TEXT PRIMARY KEY, etag TEXT NOT NULL,"
            " status TEXT NOT NULL, d2c_customer_id TEXT, email_domain TEXT,"
            " primary_email TEXT, body TEXT NOT NULL) WITHOUT ROWID"
        )
        for n in (3, 1, 2):
            old.execute(
                "INSERT INTO profiles VALUES (?, ?, 'active', NULL, NULL, NULL, ?)",
                (account_id(n), f"e{n}", profile(n).model_dump_json()),
            )
    store = SqliteProfileStore(path)

    before = store.changes(limit=10)
    store.upsert(profile(1, name="after the upgrade"))
    after = store.changes(cursor=before.cursor)

    assert [p.sf_account_id for p in before.profiles] == [account_id(n) for n in (1, 2, 3)]
    assert [p.name for p in after.profiles] == ["after the upgrade"]
    store.close()
