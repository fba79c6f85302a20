"""Unified profile store: `open_profile_store(settings)` picks SQLite or Cosmos DB.

Nothing here touches the network or the disk at import; the Azure SDK is imported only when a
Cosmos store is asked for, so local runs and tests never load it.
"""

from __future__ import annotations

from crosswalk.errors import ConfigurationError
from crosswalk.profiles.base import ProfileStore
from crosswalk.profiles.sqlite import SqliteProfileStore
from crosswalk.settings import ProfileStoreKind, ProfileStoreSettings

__all__ = ["ProfileStore", "SqliteProfileStore", "open_profile_store"]


def open_profile_store(
    settings: ProfileStoreSettings, *, create_if_missing: bool = False
) -> ProfileStore:
    """Build the configured store. Call once and reuse it: it pools connections.

    `create_if_missing` creates the Cosmos database and container on first use; it is for
    the emulator and local runs only — production resources come from infra/, never from here.
    """
    if settings.kind is ProfileStoreKind.SQLITE:
        return SqliteProfileStore(settings.sqlite_path)
    if settings.kind is ProfileStoreKind.COSMOS:
        from crosswalk.profiles.cosmos import CosmosProfileStore

        if settings.cosmos_endpoint is None:  # the settings validator already insists
            raise ConfigurationError("PROFILE_STORE_COSMOS_ENDPOINT: required for cosmos")
        key = settings.cosmos_key.get_secret_value() if settings.cosmos_key else None
        return CosmosProfileStore(
            str(settings.cosmos_endpoint),
            key,
            settings.cosmos_database,
            settings.cosmos_container,
            create_if_missing=create_if_missing,
            feed_settle_seconds=settings.cosmos_feed_settle_seconds,
        )
    raise ConfigurationError(f"PROFILE_STORE_KIND: unsupported kind {settings.kind!r}")
