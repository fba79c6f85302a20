"""History events in the shape DTFx serializes them (PascalCase, integer EventType)."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import IntEnum
from typing import Any

Event = dict[str, Any]


class EventType(IntEnum):
    ExecutionStarted = 0
    ExecutionCompleted = 1
    ExecutionTerminated = 3
    TaskScheduled = 4
    TaskCompleted = 5
    TaskFailed = 6
    SubOrchestrationInstanceCreated = 7
    SubOrchestrationInstanceCompleted = 8
    SubOrchestrationInstanceFailed = 9
    TimerCreated = 10
    TimerFired = 11
    OrchestratorStarted = 12
    OrchestratorCompleted = 13
    EventSent = 14
    EventRaised = 15
    GenericEvent = 17
    ExecutionSuspended = 19
    ExecutionResumed = 20


SCHEDULING = {
    EventType.TaskScheduled,
    EventType.SubOrchestrationInstanceCreated,
    EventType.TimerCreated,
    EventType.EventSent,
}


def iso(ts: float) -> str:
    """.NET round-trip format with 7 fractional digits, as the SDK receives it."""
    global _last_iso
    last = _last_iso  # one tuple, swapped whole: safe from any thread
    if last[0] == ts:  # an episode stamps all its events with one time: format it once
        return last[1]
    text = datetime.fromtimestamp(ts, UTC).isoformat(timespec="microseconds")[:26] + "0Z"
    _last_iso = (ts, text)
    return text


_last_iso: tuple[float, str] = (float("nan"), "")


def iso_short(ts: float) -> str:
    """Status payload format (createdTime / lastUpdatedTime)."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(text: str) -> float:
    """Parse the timestamps the SDK and clients send (`...Z`, up to 7 fractional digits)."""
    text = text.strip().replace("Z", "+00:00")
    if "." in text:
        head, _, rest = text.partition(".")
        digits = "".join(c for c in rest if c.isdigit())
        tz = rest[len(digits) :]
        text = f"{head}.{digits[:6].ljust(6, '0')}{tz}"
    dt = datetime.fromisoformat(text)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.timestamp()


def event(kind: EventType, ts: float, event_id: int = -1, **fields: Any) -> Event:
    base = {"EventType": int(kind), "EventId": event_id, "IsPlayed": False, "Timestamp": iso(ts)}
    return base | fields
