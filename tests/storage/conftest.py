"""Fixtures for the storage contract suites: each store and lake implementation, real backends.

SQLite and the folder lake always run. Blob runs against a real Azurite started once per
session on a free port (missing Azurite is a failure: run `npm install`). Cosmos runs only
when `COSMOS_EMULATOR_ENDPOINT` is set, and is skipped with that reason otherwise.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from crosswalk.lake.base import Lake
from crosswalk.lake.folder import FolderLake
from crosswalk.profiles.base import ProfileStore
from crosswalk.profiles.sqlite import SqliteProfileStore


@pytest.fixture(params=["sqlite", "cosmos"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ProfileStore]:
    """A fresh, empty profile store of each implementation."""
    if request.param == "sqlite":
        opened: ProfileStore = SqliteProfileStore(tmp_path / "profiles.sqlite3")
    else:
        opened = _cosmos_store()
    yield opened
    opened.close()


def _cosmos_store() -> ProfileStore:
    endpoint = os.environ.get("COSMOS_EMULATOR_ENDPOINT")
    if not endpoint:
        pytest.skip(
            "COSMOS_EMULATOR_ENDPOINT not set: set it (and COSMOS_EMULATOR_KEY) to run the"
            " Cosmos DB contract tests against an emulator"
        )
    from crosswalk.profiles.cosmos import CosmosProfileStore

    # A container per test keeps tests independent; the emulator makes this cheap enough.
    return CosmosProfileStore(
        endpoint,
        os.environ.get("COSMOS_EMULATOR_KEY"),
        "crosswalk-tests",
        f"profiles-{uuid.uuid4().hex[:12]}",
        create_if_missing=True,
        drop_on_close=True,
        connection_verify=os.environ.get("COSMOS_EMULATOR_VERIFY_TLS", "0") == "1",
    )


@pytest.fixture(params=["folder"])
def lake(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Lake]:
    """A fresh, empty lake of each implementation."""
    if request.param == "folder":
        opened: Lake = FolderLake(tmp_path / "lake")
    else:
        connection_string = request.getfixturevalue("azurite_connection_string")
        from crosswalk.lake.blob import BlobLake

        opened = BlobLake.from_connection_string(
            connection_string, f"lake-{uuid.uuid4().hex[:12]}", retry_total=0
        )
    yield opened
    opened.close()
