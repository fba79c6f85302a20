"""The data lake contract (raw zone) and the one place lake paths are built and checked.

Paths are relative, `/`-separated object names, the same for a folder and a Blob container,
so a snapshot written locally has the name it would have in Azure. A path that could escape
the lake (`..`, absolute, drive letters, backslashes) is refused as `InvalidData` before any
I/O, by every implementation alike.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any, Protocol, runtime_checkable
from uuid import UUID

from crosswalk.errors import InvalidData
from crosswalk.models import compact_utc

SYSTEM = "lake"

_SEGMENT = re.compile(r"^[A-Za-z0-9_=+@,-][A-Za-z0-9 ._=+@,-]*$")
_MAX_PATH = 1024  # Blob names may be up to 1,024 characters


@runtime_checkable
class Lake(Protocol):
    """JSON documents stored under relative object paths."""

    def put_json(self, path: str, document: Mapping[str, Any]) -> str:
        """Write (or overwrite) the document; returns its URI. Same path + content: idempotent."""
        ...

    def get_json(self, path: str) -> dict[str, Any]:
        """Read a document; a missing one raises `NotFound`."""
        ...

    def put_bytes(self, path: str, data: bytes, *, content_type: str) -> str:
        """Write (or overwrite) raw bytes, e.g. a JSON Lines batch; returns the URI."""
        ...

    def get_bytes(self, path: str) -> bytes:
        """Read raw bytes; a missing object raises `NotFound`."""
        ...

    def exists(self, path: str) -> bool: ...

    def delete(self, path: str) -> bool:
        """Remove a document; False when there was none."""
        ...

    def list(self, prefix: str) -> list[str]:
        """Paths that start with `prefix` (a plain string prefix, as Blob listing does), sorted."""
        ...

    def read_tagged(self, path: str) -> tuple[dict[str, Any], str] | None:
        """A document and its ETag (a version tag); None when it does not exist."""

    def write_if(self, path: str, document: Mapping[str, Any], etag: str | None) -> str:
        """Write only if the document still has ``etag`` (None: only if it does not exist);
        returns the new ETag, or raises `PreconditionFailed` when another writer came first.
        What makes one writer of a checkpoint (crosswalk/relay/checkpoint.py)."""

    def close(self) -> None:
        """Release clients and credentials."""
        ...


def account_snapshot_path(sf_account_id: str, system_modstamp: datetime) -> str:
    """Where the raw Account snapshot for one SystemModstamp lands.

    `raw/salesforce/account/{yyyy}/{mm}/{dd}/{id}-{modstamp}.json`, all parts from the
    modstamp in UTC; `{modstamp}` is `YYYYMMDDTHHMMSSmmmZ` (basic ISO 8601 with milliseconds,
    Salesforce's own precision): no `:` so it is safe on every file system and in URLs, and
    it sorts in time order. A naive datetime is refused: Salesforce instants are always UTC.
    """
    if system_modstamp.tzinfo is None or system_modstamp.utcoffset() is None:
        raise InvalidData("system_modstamp must be timezone-aware", system=SYSTEM)
    if not sf_account_id or not _SEGMENT.match(sf_account_id) or "." in sf_account_id:
        raise InvalidData("not a usable record id for a lake path", system=SYSTEM)
    moment = system_modstamp.astimezone(UTC)
    stamp = compact_utc(moment)
    return (
        f"raw/salesforce/account/{moment:%Y}/{moment:%m}/{moment:%d}/{sf_account_id}-{stamp}.json"
    )


def check_path(path: str) -> str:
    """Return `path` if it names an object inside the lake, else raise `InvalidData`."""
    if not isinstance(path, str) or not path or len(path) > _MAX_PATH:
        raise InvalidData("lake path must be a non-empty string", system=SYSTEM, field="path")
    segments = path.split("/")
    for segment in segments:
        if segment in ("", ".", "..") or not _SEGMENT.match(segment):
            raise InvalidData(
                f"bad lake path {path!r}: relative '/'-separated names only, no '..'",
                system=SYSTEM,
                field="path",
            )
    return path


def check_prefix(prefix: str) -> str:
    """A listing prefix: empty (everything), a folder (`a/b/`) or a partial name (`a/b/c`)."""
    if prefix == "":
        return prefix
    check_path(prefix.removesuffix("/") if prefix.endswith("/") else prefix + "x")
    return prefix


def _plain(value: Any) -> Any:
    """What JSON lacks, written the way the rest of Crosswalk writes it."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, UUID | Decimal):
        return str(value)
    if isinstance(value, Enum):
        return value.value
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def encode(document: Mapping[str, Any]) -> bytes:
    """Canonical JSON (sorted keys) so the same document always gives the same bytes."""
    if not isinstance(document, Mapping):
        raise InvalidData("a lake document must be a JSON object", system=SYSTEM)
    try:
        text = json.dumps(
            dict(document), default=_plain, sort_keys=True, ensure_ascii=False, allow_nan=False
        )
    except (TypeError, ValueError) as exc:
        raise InvalidData(f"document is not valid JSON: {exc}", system=SYSTEM) from None
    return text.encode("utf-8")


def decode(data: bytes, path: str) -> dict[str, Any]:
    try:
        document = json.loads(data)
    except ValueError:
        raise InvalidData(f"{path} does not hold JSON", system=SYSTEM, field="path") from None
    if not isinstance(document, dict):
        raise InvalidData(f"{path} does not hold a JSON object", system=SYSTEM, field="path")
    return document
