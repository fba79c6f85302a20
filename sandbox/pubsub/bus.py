"""The org's event bus as the Pub/Sub API shows it: change events retained per channel for
72 hours on the sandbox clock, positions (replay ids) that only move forward.

Replay ids are 8 opaque bytes to clients. Positions advance on every event and on every
keepalive, which is how Salesforce's keepalive ids "move past other tenants' events": a
checkpoint taken from a keepalive ages from that moment, not from the org's last change.
An id older than retention, or one this bus never handed out, fails validation.
"""

from __future__ import annotations

import base64
import bisect
import itertools
import struct
import threading
import uuid
from collections import deque
from dataclasses import dataclass
from typing import Any

from ..clock import Clock
from .avro import SCHEMAS, encode

RETENTION_MS = 72 * 3600 * 1000
CHANNELS = {
    "/data/ChangeEvents": None,  # every selected entity
    **{f"/data/{name}ChangeEvent": name for name in SCHEMAS},
}


@dataclass
class BusEvent:
    """One retained event. The Avro payload is made from the CometD event the first time a
    subscriber reads it, so commits cost nothing extra while nobody subscribes."""

    position: int
    time_ms: int
    entity: str
    schema_id: str
    cometd: dict[str, Any] | None
    event_uuid: str
    _payload: bytes | None = None

    @property
    def payload(self) -> bytes:
        if self._payload is None:
            assert self.cometd is not None
            self._payload = encode(self.cometd)[1]
            self.cometd = None
        return self._payload

    @property
    def replay_id(self) -> bytes:
        return replay_id(self.position)


def replay_id(position: int) -> bytes:
    return struct.pack(">Q", position)


def position_of(replay: bytes) -> int | None:
    return struct.unpack(">Q", replay)[0] if len(replay) == 8 else None


class EventBus:
    """Retained events of every channel; subscribers wait on ``changed``."""

    def __init__(self, clock: Clock, retention_ms: int = RETENTION_MS) -> None:
        self.clock = clock
        self.retention_ms = retention_ms
        self.changed = threading.Condition()
        self._events: list[BusEvent] = []
        self._marks: deque[tuple[int, int]] = deque()  # (position, time) of keepalives
        self._position = 0
        self._expired_upto = 0  # every position at or below this is out of retention
        self.delivered = 0  # events sent to subscribers: the org's delivery allocation

    def reset(self) -> None:
        """Forget retained events; positions go on (an old replay id names no new event)."""
        with self.changed:
            self._events.clear()
            self._marks.clear()
            self.delivered = 0
            self.changed.notify_all()

    def snapshot(self) -> dict[str, Any]:
        """Retained events and positions, JSON-ready: the bus is Salesforce's, and a client's
        checkpoint outlives a restart of the stand-in as it outlives the client's own."""
        with self.changed:
            self._expire()
            return {
                "position": self._position,
                "expired_upto": self._expired_upto,
                "marks": [list(mark) for mark in self._marks],
                "events": [
                    [
                        e.position,
                        e.time_ms,
                        e.entity,
                        e.schema_id,
                        e.event_uuid,
                        base64.b64encode(e.payload).decode(),
                    ]
                    for e in self._events
                ],
                "delivered": self.delivered,
            }

    def restore(self, state: dict[str, Any]) -> None:
        with self.changed:
            self._position = int(state["position"])
            self._expired_upto = int(state["expired_upto"])
            self._marks = deque((int(p), int(at)) for p, at in state["marks"])
            self._events = [
                BusEvent(
                    position, time_ms, entity, schema_id, None, uuid_, base64.b64decode(payload)
                )
                for position, time_ms, entity, schema_id, uuid_, payload in state["events"]
            ]
            self.delivered = int(state.get("delivered", 0))
            self.changed.notify_all()

    def publish(self, cloud_events: list[dict[str, Any]]) -> None:
        """Add the committed change events (the org's CometD CloudEvents) to the bus."""
        now = self.clock.now_ms()
        with self.changed:
            for ce in cloud_events:
                schema = SCHEMAS[ce["data"]["payload"]["ChangeEventHeader"]["entityName"]]
                self._position += 1
                self._events.append(
                    BusEvent(
                        self._position,
                        now,
                        schema.entity,
                        schema.schema_id,
                        ce["data"],
                        str(uuid.uuid4()),
                    )
                )
            self.changed.notify_all()

    def inject(self, entity: str, schema_id: str, payload: bytes) -> None:
        """Test fault: an event whose payload is whatever the test says (e.g. not Avro)."""
        with self.changed:
            self._position += 1
            self._events.append(
                BusEvent(
                    self._position,
                    self.clock.now_ms(),
                    entity,
                    schema_id,
                    None,
                    str(uuid.uuid4()),
                    _payload=payload,
                )
            )
            self.changed.notify_all()

    def _expire(self) -> None:
        floor = self.clock.now_ms() - self.retention_ms
        gone = 0
        while gone < len(self._events) and self._events[gone].time_ms < floor:
            self._expired_upto = max(self._expired_upto, self._events[gone].position)
            gone += 1
        if gone:
            del self._events[:gone]
        while self._marks and self._marks[0][1] < floor:
            self._expired_upto = max(self._expired_upto, self._marks.popleft()[0])

    def keepalive_id(self) -> bytes:
        """A fresh position for a keepalive (the bus moved on by other tenants' events)."""
        with self.changed:
            self._position += 1
            self._marks.append((self._position, self.clock.now_ms()))
            return replay_id(self._position)

    def latest(self) -> int:
        with self.changed:
            return self._position

    def valid(self, position: int) -> bool:
        """Is a client's replay id inside retention and one this bus handed out?"""
        with self.changed:
            self._expire()
            return self._expired_upto < position <= self._position

    def earliest(self) -> int:
        """The position just before the oldest retained event."""
        with self.changed:
            self._expire()
            return self._events[0].position - 1 if self._events else self._position

    def after(self, position: int, entity: str | None, limit: int) -> list[BusEvent]:
        """Up to ``limit`` retained events after ``position`` on a channel."""
        with self.changed:
            start = bisect.bisect_right(self._events, position, key=lambda e: e.position)
            out = []
            for e in itertools.islice(self._events, start, None):
                if entity is None or e.entity == entity:
                    _ = e.payload  # encoded here, under the lock, once
                    out.append(e)
                    if len(out) >= limit:
                        break
            return out
