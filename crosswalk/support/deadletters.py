"""Replaying what Event Grid dead-lettered: each blob's events published again, unchanged, to
the topic they came from, and the blob removed only once Event Grid took them all.

Safe to repeat: a blob already gone was replayed (or erased) before and is reported `gone`;
a blob whose events were published but not removed (the delete failed) is published again
next time under the same event ids, which the app's handlers treat as the same event (the
raw zone keeps an id once; every workflow's instance id comes from what the event says, so
a second delivery starts nothing new). A blob is replayed whole or not at all: an event of
no known topic, or a topic without an endpoint setting, keeps it where it is.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, Protocol

from crosswalk.errors import ConfigurationError, CrosswalkError, NotFound
from crosswalk.lake.eventgrid_deadletters import EventGridDeadLetters
from crosswalk.relay.publisher import PublishError

PUBLISH_SECONDS = 20.0  # how long one blob's transient publish failures are retried


class Publisher(Protocol):
    def republish(self, events: list[dict[str, Any]], *, deadline: float) -> None: ...


@dataclass
class Replayed:
    """What happened to one blob: `replayed`, `gone`, `refused` (kept: it cannot be replayed
    as it is) or `failed` (kept: Event Grid did not take it; try again)."""

    blob: str
    outcome: str
    events: int = 0
    topics: list[str] | None = None
    detail: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}


def replay(
    letters: EventGridDeadLetters,
    names: list[str],
    publisher_for: Callable[[str], Publisher],
    *,
    clock: Callable[[], float] = time.monotonic,
) -> list[Replayed]:
    """Replay each blob in turn (duplicates in `names` once)."""
    return [_replay_one(letters, name, publisher_for, clock) for name in dict.fromkeys(names)]


def _replay_one(
    letters: EventGridDeadLetters,
    name: str,
    publisher_for: Callable[[str], Publisher],
    clock: Callable[[], float],
) -> Replayed:
    try:
        blob = letters.read(name)
    except NotFound:
        return Replayed(name, "gone", detail="not in the container: replayed or erased before")
    if blob.problem is not None:
        return Replayed(name, "refused", detail=f"the blob cannot be read: {blob.problem}")
    by_topic: dict[str, list[dict[str, Any]]] = {}
    for letter in blob.events:
        if letter.topic is None:
            return Replayed(
                name,
                "refused",
                len(blob.events),
                detail=f"event {letter.event.get('id')!r} is of no Crosswalk topic",
            )
        by_topic.setdefault(letter.topic, []).append(letter.event)
    topics = sorted(by_topic)
    try:
        publishers = {topic: publisher_for(topic) for topic in topics}
    except ConfigurationError as exc:
        return Replayed(name, "refused", len(blob.events), topics, str(exc))
    deadline = clock() + PUBLISH_SECONDS
    for topic in topics:
        try:
            publishers[topic].republish(by_topic[topic], deadline=deadline)
        except PublishError as exc:  # the blob stays for another try
            return Replayed(name, "failed", len(blob.events), topics, str(exc)[:300])
    try:
        letters.delete(name)
    except CrosswalkError as exc:
        return Replayed(
            name,
            "failed",
            len(blob.events),
            topics,
            f"published, but the blob could not be removed ({exc}); a replay again is safe",
        )
    return Replayed(name, "replayed", len(blob.events), topics)


def summary(results: list[Replayed]) -> dict[str, Any]:
    counts: dict[str, int] = {}
    for r in results:
        counts[r.outcome] = counts.get(r.outcome, 0) + 1
    return {"counts": counts, "results": [r.as_dict() for r in results]}
