"""The support audit log in Azure: append blobs in the lake's storage account.

Append blobs only grow, which is what an audit log should do, and a container with a
time-based retention policy that allows protected append writes makes them WORM: nobody,
Crosswalk included, can rewrite or delete an entry before the period ends.

Layout (one container, `SUPPORT_AUDIT_CONTAINER`):
- `days/YYYY/MM/DD/NNNNN.jsonl`: every entry of that UTC day, one JSON line each;
- `targets/<sha256 of target>/NNNNN.jsonl`: the same entry again under its target, so the
  record page reads one short blob instead of every day.

An append blob takes at most 50,000 blocks; a full part continues in the next number. A
retried append can leave a line twice; readers keep the first copy of each id.
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
from collections.abc import Iterable, Iterator
from datetime import UTC
from typing import Any

from azure.core import MatchConditions
from azure.core.exceptions import (
    AzureError,
    HttpResponseError,
    ResourceExistsError,
    ResourceNotFoundError,
)
from azure.storage.blob import ContainerClient, ContentSettings

from crosswalk.lake.blob import lake_error
from crosswalk.support.audit import AuditEntry

MAX_BLOCKS = 50_000  # Azure's limit per append blob
_JSONL = ContentSettings(content_type="application/x-ndjson")


def _target_key(target: str) -> str:
    return hashlib.sha256(target.encode()).hexdigest()[:40]


def _part(prefix: str, number: int) -> str:
    return f"{prefix}{number:05d}.jsonl"


def _part_number(name: str) -> int:
    return int(name.rsplit("/", 1)[1].split(".", 1)[0])


class BlobAuditStore:
    """`AuditStore` over append blobs; the container is created on the first append."""

    def __init__(
        self,
        container: ContainerClient,
        *,
        credential: Any = None,
        max_blocks: int = MAX_BLOCKS,
    ) -> None:
        self._container = container
        self._credential = credential  # closed with the store when we created it
        self._max_blocks = max_blocks
        self._parts: dict[str, int] = {}  # prefix -> the part appended to last
        self._lock = threading.Lock()

    # ---------------------------------------------------------------- writing

    def append(self, entry: AuditEntry) -> AuditEntry:
        line = (entry.model_dump_json() + "\n").encode()
        day = entry.at.astimezone(UTC)
        try:
            self._append(f"days/{day:%Y/%m/%d}/", line)
            self._append(f"targets/{_target_key(entry.target)}/", line)
        except AzureError as exc:
            raise lake_error(exc, "append audit entry", entry.id) from exc
        return entry

    def _append(self, prefix: str, line: bytes) -> None:
        number = self._current_part(prefix)
        while True:
            blob = self._container.get_blob_client(_part(prefix, number))
            try:
                result = blob.append_block(line)
            except ResourceNotFoundError as exc:
                self._create(blob, exc)
                continue
            except HttpResponseError as exc:
                if getattr(exc, "error_code", None) != "BlockCountExceedsLimit":
                    raise
                number = self._next_part(prefix, number)
                continue
            if int(result.get("blob_committed_block_count") or 0) >= self._max_blocks:
                self._next_part(prefix, number)
            return

    def _current_part(self, prefix: str) -> int:
        with self._lock:
            known = self._parts.get(prefix)
        if known is not None:
            return known
        names = self._names(prefix)
        number = _part_number(names[-1]) if names else 0
        with self._lock:
            return self._parts.setdefault(prefix, number)

    def _next_part(self, prefix: str, full: int) -> int:
        with self._lock:
            number = max(self._parts.get(prefix, 0), full + 1)
            self._parts[prefix] = number
            return number

    def _create(self, blob: Any, missing: ResourceNotFoundError) -> None:
        """Create the missing container or blob; another writer may have done it first."""
        if getattr(missing, "error_code", None) == "ContainerNotFound":
            with contextlib.suppress(ResourceExistsError):
                self._container.create_container()
        with contextlib.suppress(ResourceExistsError):
            blob.create_append_blob(
                content_settings=_JSONL, match_condition=MatchConditions.IfMissing
            )

    # ---------------------------------------------------------------- reading

    def list(
        self,
        *,
        limit: int = 50,
        before: str | None = None,
        target: str | None = None,
        actor: str | None = None,
        action: str | None = None,
    ) -> list[AuditEntry]:
        found: list[AuditEntry] = []
        passed = before is None
        try:
            for entry in self._newest_first(target):
                if not passed:
                    passed = entry.id == before
                    continue
                if (target and entry.target != target) or (actor and entry.actor != actor):
                    continue
                if action and entry.action != action:
                    continue
                found.append(entry)
                if len(found) >= limit:
                    break
        except AzureError as exc:
            raise lake_error(exc, "list audit", target or "days") from exc
        return found

    def _newest_first(self, target: str | None) -> Iterator[AuditEntry]:
        """Entries newest first: one target's blobs, or day by day from today backwards."""
        if target is not None:
            groups: Iterable[list[str]] = [self._names(f"targets/{_target_key(target)}/")]
        else:
            groups = self._days_newest_first()
        seen: set[str] = set()
        for names in groups:
            entries = [e for name in names for e in self._read(name)]
            ordered = sorted(enumerate(entries), key=lambda p: (p[1].at, p[0]), reverse=True)
            for _, entry in ordered:
                if entry.id not in seen:
                    seen.add(entry.id)
                    yield entry

    def _days_newest_first(self) -> Iterator[list[str]]:
        by_day: dict[str, list[str]] = {}
        for name in self._names("days/"):
            by_day.setdefault(name.rsplit("/", 1)[0], []).append(name)
        for day in sorted(by_day, reverse=True):
            yield by_day[day]

    def _names(self, prefix: str) -> list[str]:
        try:
            return sorted(b.name for b in self._container.list_blobs(name_starts_with=prefix))
        except ResourceNotFoundError:
            return []  # no container yet: nothing was audited

    def _read(self, name: str) -> list[AuditEntry]:
        data = self._container.get_blob_client(name).download_blob().readall()
        return [AuditEntry.model_validate_json(line) for line in data.splitlines() if line]

    def close(self) -> None:
        self._container.close()
        if self._credential is not None:
            self._credential.close()
