"""The raw zone: every event both systems send, as received, in JSON Lines batches.

Layout: `raw/{system}/{entity}/{yyyy}/{mm}/{dd}/{hh}/{written}-{writer}-{seq}.jsonl`, the hour
from the event's own time (Salesforce's commit time, the CloudEvent `time`), so a repeated
delivery of an event falls in the same hour folder as the first. One line per event:
`{id, system, entity, type, source, subject, time, received_at, data}` with `data` exactly as
the event carried it.

Each event id lands once per hour folder: a writer reads the ids already in a folder the first
time it writes there (then keeps them in memory) and leaves out ids it finds. Two instances
receiving the same event within the same moment can still both write it; readers
(`RawZone.read`, replay) keep the first line per id, so nothing downstream sees it twice.

With an erasure key, each batch gets a sidecar `{batch}.persons` listing the short keyed
hashes of every e-mail and D2C user id in it (crosswalk/erasure/keys.py), so erasing a person
reads the sidecars and only the batches that can hold them.

`RawLanding` is what the triggers call: `land()` only appends to an in-memory buffer (it never
blocks on I/O and never raises), and a background thread writes the buffer every
`LAKE_RAW_FLUSH_SECONDS` or `LAKE_RAW_BATCH_SIZE` events. Events still buffered when the
process is killed are lost to the raw zone (never to the sync); a normal exit flushes.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import logging
import threading
import uuid
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from crosswalk.erasure.keys import index_keys
from crosswalk.errors import InvalidData
from crosswalk.lake.base import SYSTEM, Lake, check_path
from crosswalk.models import compact_utc

log = logging.getLogger("crosswalk.lake.raw")

SYSTEMS = frozenset({"salesforce", "d2c"})
_INDEXED_FOLDERS = 64  # hour folders whose ids a writer keeps in memory
PERSONS = ".persons"  # a batch's person-index sidecar: `{batch}.persons`


@dataclass(frozen=True)
class RawEvent:
    """One event as received, with where it belongs."""

    system: str
    entity: str
    id: str
    type: str
    time: datetime
    data: Any
    source: str | None = None
    subject: str | None = None
    received_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def folder(self) -> str:
        return hour_folder(self.system, self.entity, self.time)

    def line(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "system": self.system,
            "entity": self.entity,
            "type": self.type,
            "source": self.source,
            "subject": self.subject,
            "time": self.time.astimezone(UTC).isoformat(),
            "received_at": self.received_at.astimezone(UTC).isoformat(),
            "data": self.data,
        }


def hour_folder(system: str, entity: str, moment: datetime) -> str:
    """`raw/{system}/{entity}/{yyyy}/{mm}/{dd}/{hh}/` for an aware moment (in UTC)."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise InvalidData("raw event time must be timezone-aware", system=SYSTEM, field="time")
    if system not in SYSTEMS:
        raise InvalidData(f"unknown system {system!r}", system=SYSTEM, field="system")
    at = moment.astimezone(UTC)
    folder = f"raw/{system}/{entity}/{at:%Y}/{at:%m}/{at:%d}/{at:%H}"
    check_path(folder)
    return folder + "/"


def encode_lines(lines: Iterable[dict[str, Any]]) -> bytes:
    return b"".join(
        json.dumps(line, sort_keys=True, ensure_ascii=False, default=str).encode() + b"\n"
        for line in lines
    )


def decode_lines(data: bytes, path: str) -> list[dict[str, Any]]:
    """The lines of a batch; a torn or foreign line is skipped with a warning, never fatal."""
    found: list[dict[str, Any]] = []
    for number, raw in enumerate(data.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            line = json.loads(raw)
        except ValueError:
            log.warning("raw zone: %s line %d is not JSON; skipped", path, number)
            continue
        if isinstance(line, dict) and isinstance(line.get("id"), str):
            found.append(line)
    return found


class RawZone:
    """Reads and writes raw-zone batches on a `Lake` (folder or Blob)."""

    def __init__(
        self, lake: Lake, *, writer: str | None = None, index_key: bytes | None = None
    ) -> None:
        self._lake = lake
        self._index_key = index_key
        self._writer = writer or uuid.uuid4().hex[:10]
        self._seq = 0
        self._lock = threading.Lock()
        self._known: OrderedDict[str, set[str]] = OrderedDict()  # folder -> ids in it

    def _ids_in(self, folder: str) -> set[str]:
        known = self._known.get(folder)
        if known is None:
            known = {line["id"] for _path, line in self._lines(folder)}
            self._known[folder] = known
            while len(self._known) > _INDEXED_FOLDERS:
                self._known.popitem(last=False)
        self._known.move_to_end(folder)
        return known

    def write(self, events: Sequence[RawEvent]) -> tuple[int, list[str]]:
        """Write each folder's new events as one batch; ids already there are left out.

        Returns how many events were new and the batches written.
        """
        by_folder: dict[str, dict[str, RawEvent]] = {}
        for event in events:
            by_folder.setdefault(event.folder(), {}).setdefault(event.id, event)
        written: list[str] = []
        count = 0
        with self._lock:
            for folder, batch in by_folder.items():
                known = self._ids_in(folder)
                fresh = [event for event_id, event in batch.items() if event_id not in known]
                if not fresh:
                    continue
                self._seq += 1
                stamp = compact_utc(datetime.now(UTC))
                path = f"{folder}{stamp}-{self._writer}-{self._seq:06d}.jsonl"
                lines = [e.line() for e in fresh]
                if self._index_key is not None:  # the index first: a batch is never unindexed
                    write_person_index(self._lake, path, index_keys(self._index_key, lines))
                self._lake.put_bytes(path, encode_lines(lines), content_type="application/x-ndjson")
                known.update(e.id for e in fresh)
                written.append(path)
                count += len(fresh)
        return count, written

    def _lines(self, prefix: str) -> Iterator[tuple[str, dict[str, Any]]]:
        for path in self._lake.list(prefix):
            if path.endswith(".jsonl"):
                for line in decode_lines(self._lake.get_bytes(path), path):
                    yield path, line

    def read(
        self,
        start: datetime,
        end: datetime,
        *,
        systems: Iterable[str] = SYSTEMS,
    ) -> list[dict[str, Any]]:
        """Events whose time is in [start, end), each id once, in time order."""
        if start.tzinfo is None or end.tzinfo is None:
            raise InvalidData("window bounds must be timezone-aware", system=SYSTEM, field="start")
        seen: set[tuple[str, str]] = set()
        found: list[dict[str, Any]] = []
        for system in sorted(set(systems)):
            for entity in self._entities(system):
                for folder in _hours(system, entity, start, end):
                    for _path, line in self._lines(folder):
                        key = (system, line["id"])
                        moment = _parse_time(line.get("time"))
                        if key in seen or moment is None or not start <= moment < end:
                            continue
                        seen.add(key)
                        found.append(line)
        found.sort(key=lambda line: (line["time"], line["id"]))
        return found

    def _entities(self, system: str) -> list[str]:
        prefix = f"raw/{system}/"
        return sorted({path[len(prefix) :].split("/", 1)[0] for path in self._lake.list(prefix)})


def _hours(system: str, entity: str, start: datetime, end: datetime) -> Iterator[str]:
    moment = start.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    while moment < end:
        yield hour_folder(system, entity, moment)
        moment += timedelta(hours=1)


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


class RawLanding:
    """The triggers' side: buffer events in memory, write them in batches from a thread.

    `land()` never blocks on the lake and never raises. A failed write keeps the batch for the
    next attempt; beyond `max_buffer` events the oldest are dropped and counted (a lake that is
    down for long must not take the app's memory with it).
    """

    def __init__(
        self,
        zone: RawZone,
        *,
        batch_size: int = 500,
        flush_seconds: float = 5.0,
        max_buffer: int = 50_000,
        start_thread: bool = True,
    ) -> None:
        self._zone = zone
        self._batch_size = batch_size
        self._flush_seconds = flush_seconds
        self._max_buffer = max_buffer
        self._buffer: OrderedDict[tuple[str, str], RawEvent] = OrderedDict()
        self._cond = threading.Condition()
        self._write_lock = threading.Lock()
        self._closed = False
        self.landed = 0
        self.duplicates = 0
        self.dropped = 0
        self.failures = 0
        self.refused = 0
        self._thread: threading.Thread | None = None
        if start_thread:
            self._thread = threading.Thread(target=self._run, name="raw-landing", daemon=True)
            self._thread.start()
            atexit.register(self.close)

    def land(self, event: RawEvent) -> None:
        """Queue one event for the raw zone. Never raises, never waits for I/O."""
        try:
            event.folder()  # an event with no usable place is refused here, not in the batch
            with self._cond:
                key = (event.system, event.id)
                if self._closed or key in self._buffer:
                    self.duplicates += key in self._buffer
                    return
                self._buffer[key] = event
                while len(self._buffer) > self._max_buffer:
                    self._buffer.popitem(last=False)
                    self.dropped += 1
                if len(self._buffer) >= self._batch_size:
                    self._cond.notify()
        except Exception as exc:  # landing must never fail the sync
            self.refused += 1
            log.warning("raw zone: event %s not landed: %s", getattr(event, "id", "?"), exc)

    def pending(self) -> int:
        with self._cond:
            return len(self._buffer)

    def flush(self) -> int:
        """Write everything buffered now; returns how many new events were written."""
        with self._write_lock:
            with self._cond:
                batch = list(self._buffer.values())
            if not batch:
                return 0
            try:
                written, _paths = self._zone.write(batch)
            except Exception as exc:  # kept for the next attempt
                self.failures += 1
                log.warning("raw zone: writing %d events failed, will retry: %s", len(batch), exc)
                return 0
            with self._cond:
                for event in batch:
                    key = (event.system, event.id)
                    if self._buffer.get(key) is event:
                        del self._buffer[key]
            self.landed += written
            self.duplicates += len(batch) - written
            return written

    def _run(self) -> None:
        while True:
            with self._cond:
                if self._closed:
                    return
                if len(self._buffer) < self._batch_size:
                    self._cond.wait(self._flush_seconds)
                if self._closed:
                    return
            with contextlib.suppress(Exception):
                self.flush()

    def close(self) -> None:
        """Stop the thread and write what is left (best effort)."""
        with self._cond:
            if self._closed:
                return
            self._closed = True
            self._cond.notify_all()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(10)
        with contextlib.suppress(Exception):
            self.flush()


def write_person_index(lake: Lake, batch: str, keys: list[str]) -> None:
    lake.put_bytes(batch + PERSONS, json.dumps(keys).encode(), content_type="application/json")


def landing_from_settings(
    lake: Lake, settings: Any, *, index_key: bytes | None = None
) -> RawLanding | None:
    """The landing the triggers use, or None when `LAKE_RAW_ENABLED` is false."""
    if not settings.raw_enabled:
        return None
    return RawLanding(
        RawZone(lake, index_key=index_key),
        batch_size=settings.raw_batch_size,
        flush_seconds=settings.raw_flush_seconds,
        max_buffer=settings.raw_max_buffer,
    )
