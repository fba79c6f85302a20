"""Events Event Grid could not deliver to the app, as it dead-letters them to Blob Storage.

Event Grid writes one blob per dead-lettered delivery to the subscription's dead-letter
container (`LAKE_EVENTGRID_DEADLETTER_CONTAINER`), named
`<SUBSCRIPTION NAME IN UPPER CASE>/<yyyy>/<M>/<d>/<H>/<guid>.json` (UTC, not zero-padded),
holding a JSON array of events: each the CloudEvent as published plus `deadletterreason`,
`deliveryattempts`, `lastdeliveryoutcome`, `publishtime` and, where present,
`lasthttpstatuscode` and `lastdeliveryattempttime` (docs/sandbox.md names the sources).
Whether anything comes before the subscription's folder is not documented, so any prefix is
taken; the topic an event belongs to is read from the event itself, never from the name.

These events never reached the app: they are not in the raw zone, and only a replay to their
topic (`triggers/eventgrid_deadletters.py`) brings them back. Listing reads names only; a
page reads at most `limit` blobs, newest hour first.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from crosswalk.errors import NotFound
from crosswalk.lake.base import Lake
from crosswalk.settings import LakeKind, LakeSettings

DEAD_LETTER_PROPERTIES = frozenset(
    {
        "deadletterreason",
        "deliveryattempts",
        "lastdeliveryoutcome",
        "lasthttpstatuscode",
        "publishtime",
        "lastdeliveryattempttime",
    }
)
_NAME = re.compile(
    r"^(?:.+/)?(?P<sub>[^/]+)/(?P<y>\d{4})/(?P<m>\d{1,2})/(?P<d>\d{1,2})/(?P<h>\d{1,2})/"
    r"(?P<guid>[^/]+)\.json$"
)
MAX_BLOB_BYTES = 10 * 1024 * 1024  # a blob holds events of at most 1 MB each; far beyond: refuse


def topic_of(event: dict[str, Any]) -> str | None:
    """The Crosswalk topic an event was published to, from the event: Salesforce change
    events (`/data/<Object>ChangeEvent`, `com.salesforce.cdc.*`) or D2C (`/d2c/...`)."""
    source, kind = str(event.get("source") or ""), str(event.get("type") or "")
    if source.startswith("/data/") or kind.startswith("com.salesforce."):
        return "salesforce"
    if source.startswith("/d2c/"):
        return "d2c"
    return None


@dataclass(frozen=True)
class DeadLetteredEvent:
    """One event of a dead-letter blob: the CloudEvent as published, and how delivery ended."""

    event: dict[str, Any]
    reason: str | None
    attempts: int | None
    outcome: str | None
    http_status: int | None
    published_at: str | None
    last_attempt_at: str | None

    @classmethod
    def parse(cls, item: dict[str, Any]) -> DeadLetteredEvent:
        def text(key: str) -> str | None:
            value = item.get(key)
            return str(value) if value is not None else None

        def number(key: str) -> int | None:
            value = item.get(key)
            return value if isinstance(value, int) and not isinstance(value, bool) else None

        return cls(
            event={k: v for k, v in item.items() if k not in DEAD_LETTER_PROPERTIES},
            reason=text("deadletterreason"),
            attempts=number("deliveryattempts"),
            outcome=text("lastdeliveryoutcome"),
            http_status=number("lasthttpstatuscode"),
            published_at=text("publishtime"),
            last_attempt_at=text("lastdeliveryattempttime"),
        )

    @property
    def topic(self) -> str | None:
        return topic_of(self.event)

    def as_dict(self) -> dict[str, Any]:
        e = self.event
        return {
            "id": e.get("id"),
            "type": e.get("type"),
            "source": e.get("source"),
            "subject": e.get("subject"),
            "time": e.get("time"),
            "topic": self.topic,
            "reason": self.reason,
            "attempts": self.attempts,
            "outcome": self.outcome,
            "httpStatus": self.http_status,
            "publishedAt": self.published_at,
            "lastAttemptAt": self.last_attempt_at,
            "data": e.get("data"),
        }


@dataclass
class DeadLetterBlob:
    """One blob: where it is, whose subscription, the hour Event Grid wrote it, its events
    (`problem` says why none could be read)."""

    name: str
    subscription: str
    hour: datetime
    events: list[DeadLetteredEvent] = field(default_factory=list)
    problem: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "blob": self.name,
            "subscription": self.subscription,
            "hour": self.hour.isoformat(),
            "events": [e.as_dict() for e in self.events],
            "problem": self.problem,
        }


def parse_name(name: str) -> tuple[str, datetime] | None:
    """(subscription, hour) from a dead-letter blob name; None for any other name."""
    match = _NAME.match(name)
    if match is None:
        return None
    try:
        hour = datetime(
            int(match["y"]), int(match["m"]), int(match["d"]), int(match["h"]), tzinfo=UTC
        )
    except ValueError:
        return None
    return match["sub"], hour


def parse_blob(name: str, data: bytes) -> DeadLetterBlob:
    """A blob's events; an unreadable blob is kept with the reason, never raised."""
    parsed = parse_name(name)
    subscription, hour = parsed if parsed else ("", datetime.min.replace(tzinfo=UTC))
    blob = DeadLetterBlob(name, subscription, hour)
    if len(data) > MAX_BLOB_BYTES:
        blob.problem = f"over {MAX_BLOB_BYTES} bytes: not read"
        return blob
    try:
        items = json.loads(data)
    except ValueError:
        blob.problem = "not JSON"
        return blob
    if isinstance(items, dict):  # tolerate a single event
        items = [items]
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        blob.problem = "not a JSON array of events"
        return blob
    blob.events = [DeadLetteredEvent.parse(item) for item in items]
    return blob


class EventGridDeadLetters:
    """The dead-letter container, read through the `Lake` contract (folder or Blob)."""

    def __init__(self, store: Lake) -> None:
        self.store = store

    def names(self) -> list[str]:
        """Every dead-letter blob's name, newest hour first (names within an hour by name)."""
        found = [(parsed[1], n) for n in self.store.list("") if (parsed := parse_name(n))]
        found.sort(key=lambda pair: (-pair[0].timestamp(), pair[1]))
        return [name for _, name in found]

    def count(self) -> int:
        """How many dead-letter blobs there are (names only, unsorted: the health page's)."""
        return sum(1 for name in self.store.list("") if parse_name(name) is not None)

    def read(self, name: str) -> DeadLetterBlob:
        """One blob; `NotFound` when it is gone (replayed, or removed by an erasure)."""
        if parse_name(name) is None:
            raise NotFound(f"{name} is not a dead-letter blob", system="lake", status=404)
        return parse_blob(name, self.store.get_bytes(name))

    def newest(self, limit: int) -> tuple[list[DeadLetterBlob], int]:
        """At most `limit` blobs, newest hour first, and how many there are in all."""
        names = self.names()
        page: list[DeadLetterBlob] = []
        for name in names[:limit]:
            try:
                page.append(self.read(name))
            except NotFound:
                continue  # replayed or erased since the listing
        page.sort(key=_when, reverse=True)
        return page, len(names)

    def delete(self, name: str) -> bool:
        if parse_name(name) is None:
            raise NotFound(f"{name} is not a dead-letter blob", system="lake", status=404)
        return self.store.delete(name)

    def holding(self, identifiers: Iterable[str]) -> list[str]:
        """The blobs whose events mention any of `identifiers` (an erasure's normalised
        e-mail and D2C user id, `Person.values()`), compared without case: what an erasure
        deletes. Reads every blob: dead letters are few."""
        wanted = {i.strip().lower() for i in identifiers if i and i.strip()}
        if not wanted:
            return []
        found = []
        for name in self.names():
            try:
                text = self.store.get_bytes(name).decode("utf-8", "replace").lower()
            except NotFound:
                continue
            if any(needle in text or json.dumps(needle)[1:-1] in text for needle in wanted):
                found.append(name)
        return found

    def close(self) -> None:
        self.store.close()


def _when(blob: DeadLetterBlob) -> tuple[datetime, str]:
    """Newest first: Event Grid's hour, then the last delivery attempt within it."""
    return blob.hour, max(
        (e.last_attempt_at or e.published_at or "" for e in blob.events), default=""
    )


def open_eventgrid_deadletters(settings: LakeSettings) -> EventGridDeadLetters:
    """The container on the lake's storage account; a folder lake's sibling folder."""
    container = settings.eventgrid_deadletter_container
    if settings.kind is LakeKind.FOLDER:
        from crosswalk.lake.folder import FolderLake

        return EventGridDeadLetters(FolderLake(settings.folder.parent / container))
    from crosswalk.lake.blob import BlobLake, open_container

    client, credential = open_container(settings, container)
    return EventGridDeadLetters(BlobLake(client, credential=credential))
