"""The curated zone: the profile store as a Delta Lake table, refreshed incrementally.

Tests run on the folder and, where Azurite allows, on Blob Storage through delta-rs' own Azure
client: on Azurite (3.35) delta-rs creates the table, commits once more and reads back, but
every commit after the second fails with "Invalid table version: 1" (the xfail below keeps
watching), so the refresh-after-refresh tests run on the folder only.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from deltalake import DeltaTable

from crosswalk.lake.blob import container_from_connection_string
from crosswalk.lake.curated import PARTITION_BY, ProfileTable
from crosswalk.models import ApprovalDecision, ApprovalVerdict, ProfileStatus
from crosswalk.profiles.base import ProfileStore
from crosswalk.profiles.sqlite import SqliteProfileStore
from crosswalk.settings import LakeKind, LakeSettings

from .factories import account_id, profile

NOW = datetime(2026, 3, 4, 10, 0, tzinfo=UTC)


@pytest.fixture(params=["folder", pytest.param("blob", marks=pytest.mark.azurite)])
def table(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ProfileTable]:
    """An empty curated table location on each lake implementation."""
    yield _table(request, tmp_path, request.param)


@pytest.fixture
def folder_table(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ProfileTable]:
    yield _table(request, tmp_path, "folder")


def _table(request: pytest.FixtureRequest, tmp_path: Path, kind: str) -> ProfileTable:
    if kind == "folder":
        settings = LakeSettings.model_validate({"kind": LakeKind.FOLDER, "folder": tmp_path})
    else:
        connection_string = request.getfixturevalue("azurite_connection_string")
        container = f"curated-{uuid.uuid4().hex[:12]}"
        client = container_from_connection_string(connection_string, container, retry_total=0)
        client.create_container()
        client.close()
        settings = LakeSettings.model_validate(
            {
                "kind": LakeKind.BLOB,
                "connection_string": connection_string,
                "container": container,
            }
        )
    return ProfileTable.from_settings(settings)


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[ProfileStore]:
    opened = SqliteProfileStore(tmp_path / "profiles.sqlite3")
    yield opened
    opened.close()


def _fill(store: ProfileStore, count: int) -> None:
    for n in range(count):
        store.upsert(
            profile(
                n,
                status=ProfileStatus.FAILED if n % 5 == 0 else ProfileStatus.ACTIVE,
                country="DE" if n % 2 else None,
                primary_email=f"buyer{n}@example.com",
                last_modstamp=NOW - timedelta(minutes=n),
                updated_at=NOW,
                failure={"step": "invite", "detail": "boom"} if n % 5 == 0 else None,
                approval=ApprovalDecision(
                    decision=ApprovalVerdict.APPROVE,
                    approver="lee@corp.example",
                    reason="known",
                    decided_at=NOW,
                )
                if n == 3
                else None,
            )
        )


def _everything(store: ProfileStore) -> dict:
    return store.get_many(list(store.versions()))


def test_the_first_refresh_writes_every_profile_and_the_table_reads_back_equal_to_the_store(
    table: ProfileTable, store: ProfileStore
) -> None:
    _fill(store, 30)

    result = table.refresh(store, now=NOW)

    assert (result.upserted, result.deleted, result.version) == (30, 0, 0)
    assert table.read() == _everything(store)


def test_a_refresh_writes_only_what_changed_and_removes_what_was_deleted(
    folder_table: ProfileTable, sqlite_store: ProfileStore
) -> None:
    table = folder_table
    _fill(sqlite_store, 20)
    table.refresh(sqlite_store, now=NOW)
    sqlite_store.upsert(profile(1, name="Renamed", status=ProfileStatus.DEACTIVATED))
    sqlite_store.upsert(profile(99, name="Newcomer"))
    sqlite_store.delete(account_id(2))

    result = table.refresh(sqlite_store, now=NOW + timedelta(hours=1))

    assert (result.upserted, result.deleted, result.unchanged) == (2, 1, 18)
    rows = table.read()
    assert rows == _everything(sqlite_store)
    assert rows[account_id(1)].status is ProfileStatus.DEACTIVATED  # moved partition
    assert account_id(2) not in rows


def test_a_refresh_of_an_unchanged_store_commits_nothing(
    table: ProfileTable, sqlite_store: ProfileStore
) -> None:
    _fill(sqlite_store, 10)
    first = table.refresh(sqlite_store, now=NOW)

    again = table.refresh(sqlite_store, now=NOW + timedelta(hours=1))

    assert (again.upserted, again.deleted, again.unchanged) == (0, 0, 10)
    assert again.version == first.version


def test_the_table_is_partitioned_by_status_and_readable_as_plain_delta(
    table: ProfileTable, sqlite_store: ProfileStore
) -> None:
    _fill(sqlite_store, 10)
    table.refresh(sqlite_store, now=NOW)

    delta = DeltaTable(table.uri, storage_options=table._options)

    assert delta.metadata().partition_columns == PARTITION_BY
    partitions = {p["status"] for p in delta.partitions()}
    assert partitions == {"active", "failed"}
    assert delta.history()[0]["operation"] in ("CREATE TABLE", "WRITE")


def test_compaction_leaves_fewer_files_and_the_same_rows(
    folder_table: ProfileTable, sqlite_store: ProfileStore
) -> None:
    table = folder_table
    _fill(sqlite_store, 10)
    table.refresh(sqlite_store, now=NOW)
    for round_ in range(4):  # each refresh adds files in the partition it touches
        sqlite_store.upsert(profile(100 + round_, name=f"Late {round_}"))
        table.refresh(sqlite_store, now=NOW + timedelta(minutes=round_ + 1))
    before = table.files()

    metrics = table.compact()

    assert table.files() < before
    assert metrics["numFilesRemoved"] > metrics["numFilesAdded"]
    assert table.read() == _everything(sqlite_store)


def test_reading_a_table_that_was_never_written_is_empty(table: ProfileTable) -> None:
    assert table.read() == {}
    assert table.version() is None
    assert table.compact() == {}


def test_a_second_refresh_with_changes_merges_them_on_every_lake(
    table: ProfileTable, sqlite_store: ProfileStore
) -> None:
    _fill(sqlite_store, 10)
    table.refresh(sqlite_store, now=NOW)
    sqlite_store.upsert(profile(4, name="Renamed", status=ProfileStatus.DEACTIVATED))

    result = table.refresh(sqlite_store, now=NOW + timedelta(hours=1))

    assert (result.upserted, result.version) == (1, 1)
    assert table.read() == _everything(sqlite_store)


@pytest.mark.azurite
@pytest.mark.xfail(
    strict=True, reason="Azurite: delta-rs' third commit fails with 'Invalid table version: 1'"
)
def test_on_azurite_a_table_takes_a_third_commit(
    request: pytest.FixtureRequest, tmp_path: Path, sqlite_store: ProfileStore
) -> None:
    table = _table(request, tmp_path, "blob")
    _fill(sqlite_store, 3)
    table.refresh(sqlite_store, now=NOW)
    sqlite_store.upsert(profile(1, name="Second"))
    table.refresh(sqlite_store, now=NOW)
    sqlite_store.upsert(profile(1, name="Third"))

    assert table.refresh(sqlite_store, now=NOW).version == 2


def test_the_command_refreshes_the_configured_table_from_the_configured_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    from crosswalk.lake.curated import main

    store = SqliteProfileStore(tmp_path / "profiles.sqlite3")
    _fill(store, 5)
    store.close()
    monkeypatch.setenv("PROFILE_STORE_SQLITE_PATH", str(tmp_path / "profiles.sqlite3"))
    monkeypatch.setenv("LAKE_FOLDER", str(tmp_path / "lake"))

    assert main(["--compact"]) == 0
    report = json.loads(capsys.readouterr().out)

    assert report["upserted"] == 5 and report["version"] == 0
    assert report["table"] == str((tmp_path / "lake" / "curated" / "profiles").absolute())
    assert len(ProfileTable(report["table"]).read()) == 5


def test_on_blob_the_table_is_addressed_on_the_lakes_account_without_io() -> None:
    from crosswalk.lake.curated import blob_options

    keyed = LakeSettings.model_validate(
        {
            "kind": LakeKind.BLOB,
            "connection_string": "DefaultEndpointsProtocol=https;AccountName=acmelake;"
            "AccountKey=c2VjcmV0;EndpointSuffix=core.windows.net",
            "container": "lake",
        }
    )
    identity = LakeSettings.model_validate(
        {"kind": LakeKind.BLOB, "account_url": "https://acmelake.blob.core.windows.net"}
    )

    assert ProfileTable.from_settings(keyed).uri == (
        "abfss://lake@acmelake.dfs.core.windows.net/curated/profiles"
    )
    assert blob_options(keyed) == {"account_name": "acmelake", "account_key": "c2VjcmV0"}
    assert blob_options(identity) == {"account_name": "acmelake"}
