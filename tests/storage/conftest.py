"""Fixtures for the storage contract suites: each store and lake implementation, real backends.

SQLite, the folder lake and the SQLite audit log always run. Blob (lake and audit log) runs
against a real Azurite started once per session on a free port, Cosmos DB against
`@vercel/cosmosdb-server` through our launcher (tests/cosmos.py), or the emulator named by
`COSMOS_EMULATOR_ENDPOINT`; a missing npm package is a failure (run `npm install`), never a skip.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from crosswalk.lake.base import Lake
from crosswalk.lake.blob import container_from_connection_string
from crosswalk.lake.folder import FolderLake
from crosswalk.profiles.base import ProfileStore
from crosswalk.profiles.sqlite import SqliteProfileStore
from crosswalk.support.audit import AuditStore, SqliteAuditStore
from crosswalk.support.audit_blob import MAX_BLOCKS, BlobAuditStore
from tests.cosmos import CosmosEndpoint


@pytest.fixture(params=["sqlite", pytest.param("cosmos", marks=pytest.mark.cosmos)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ProfileStore]:
    """A fresh, empty profile store of each implementation."""
    if request.param == "sqlite":
        opened = SqliteProfileStore(tmp_path / "profiles.sqlite3")
        yield opened
        opened.close()
    else:
        yield from _cosmos_store(request.getfixturevalue("cosmos_endpoint"))


@pytest.fixture(params=["sqlite", pytest.param("cosmos", marks=pytest.mark.cosmos)])
def settling_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ProfileStore]:
    """Like `store`, but the Cosmos store's feed waits 2 s for slower writers, as in Azure
    (for tests where concurrent writers commit out of order)."""
    if request.param == "sqlite":
        opened = SqliteProfileStore(tmp_path / "profiles.sqlite3")
        yield opened
        opened.close()
    else:
        yield from _cosmos_store(request.getfixturevalue("cosmos_endpoint"), settle=2.0)


def _cosmos_store(endpoint: CosmosEndpoint, *, settle: float = 0) -> Iterator[ProfileStore]:
    """A store on a fresh container, deleted afterwards."""
    from azure.cosmos import CosmosClient
    from azure.cosmos.exceptions import CosmosResourceNotFoundError

    from crosswalk.profiles.cosmos import CosmosProfileStore

    database, container = "crosswalk-tests", f"profiles-{uuid.uuid4().hex[:12]}"
    opened = CosmosProfileStore(
        endpoint.url,
        endpoint.key,
        database,
        container,
        create_if_missing=True,
        feed_settle_seconds=settle,  # 0: one client, one clock, the contract reads its writes
        **endpoint.client_options(),
    )
    yield opened
    opened.close()
    if not endpoint.key:  # the store used DefaultAzureCredential: leave cleanup to the owner
        return
    # A test that only checked its input never made the store connect, so the container
    # (created on first use) may not exist: nothing to clean up then.
    options = endpoint.client_options()
    with (
        CosmosClient(endpoint.url, credential=endpoint.key, **options) as client,
        contextlib.suppress(CosmosResourceNotFoundError),
    ):
        client.get_database_client(database).delete_container(container)


@pytest.fixture(params=["folder", pytest.param("blob", marks=pytest.mark.azurite)])
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


@pytest.fixture(params=["sqlite", pytest.param("blob", marks=pytest.mark.azurite)])
def audit_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[AuditStore]:
    """A fresh, empty support audit log of each implementation."""
    yield from _audit_store(request, tmp_path, max_blocks=MAX_BLOCKS)


@pytest.fixture
def small_blob_audit_store(request: pytest.FixtureRequest) -> Iterator[AuditStore]:
    """A Blob audit log whose append blobs hold 3 entries, so rolling over is quick to reach."""
    yield from _audit_store(request, None, max_blocks=3)


def _audit_store(
    request: pytest.FixtureRequest, tmp_path: Path | None, *, max_blocks: int
) -> Iterator[AuditStore]:
    if tmp_path is not None and request.param == "sqlite":
        opened: AuditStore = SqliteAuditStore(tmp_path / "audit.sqlite3")
    else:
        connection_string = request.getfixturevalue("azurite_connection_string")
        container = container_from_connection_string(
            connection_string, f"audit-{uuid.uuid4().hex[:12]}", retry_total=0
        )
        opened = BlobAuditStore(container, max_blocks=max_blocks)
    yield opened
    opened.close()
