"""The data lake's raw zone: `open_lake(settings)` picks a local folder or Blob Storage.

The Azure SDK is imported only when a Blob lake is asked for; nothing does I/O at import.
"""

from __future__ import annotations

from crosswalk.errors import ConfigurationError
from crosswalk.lake.base import Lake, account_snapshot_path
from crosswalk.lake.folder import FolderLake
from crosswalk.settings import LakeKind, LakeSettings

__all__ = ["FolderLake", "Lake", "account_snapshot_path", "open_lake"]


def open_lake(settings: LakeSettings) -> Lake:
    """Build the configured lake. Call once and reuse it: the Blob client pools connections."""
    if settings.kind is LakeKind.FOLDER:
        return FolderLake(settings.folder)
    if settings.kind is LakeKind.BLOB:
        from crosswalk.lake.blob import BlobLake

        return BlobLake.from_settings(settings)
    raise ConfigurationError(f"LAKE_KIND: unsupported kind {settings.kind!r}")
