"""Erasure in Event Grid's dead-letter container: events that never reached the app.

Event Grid writes them as blobs of JSON arrays (crosswalk/lake/eventgrid_deadletters.py), so
one blob may hold someone else's events beside the person's. A blob that holds only theirs is
deleted; one that also holds others' is rewritten under the same name without theirs (and
with their address taken out of what the others' text says about them).

The saga erases what is there when it runs; an event Event Grid was still retrying lands
later (up to the subscription's time to live, a day, plus the write delay), and no receipt
may say whom to look for. So the hourly sweep reads every blob's identifiers and erases the
events of anyone the tombstones name.
"""

from __future__ import annotations

import json
from typing import Any

from crosswalk.erasure.gate import erased_values
from crosswalk.erasure.keys import identifiers, mentions
from crosswalk.erasure.lake import scrub
from crosswalk.errors import NotFound
from crosswalk.lake.eventgrid_deadletters import EventGridDeadLetters


def erase_eventgrid_dead_letters(letters: EventGridDeadLetters, wanted: set[str]) -> dict[str, int]:
    """Remove the events of the people in `wanted` (normalised e-mails and D2C user ids);
    counts of events removed and blobs deleted or rewritten (no personal data)."""
    counts = {"eventgrid_events_removed": 0, "eventgrid_blobs_deleted": 0}
    counts["eventgrid_blobs_rewritten"] = 0
    for name in letters.holding(wanted):
        try:
            events = _events(letters.store.get_bytes(name))
        except NotFound:
            continue  # replayed or erased since the listing
        _erase_in(letters, name, events, wanted, counts)
    return counts


def sweep_eventgrid_dead_letters(letters: EventGridDeadLetters) -> dict[str, int]:
    """Erase, in every blob, the events of people who were erased (by their tombstones)."""
    counts = {"eventgrid_events_removed": 0, "eventgrid_blobs_deleted": 0}
    counts["eventgrid_blobs_rewritten"] = 0
    for name in letters.names():
        try:
            events = _events(letters.store.get_bytes(name))
        except NotFound:
            continue
        if events is None:
            continue  # unreadable: listed for support as it is, nothing to match
        erased = erased_values(sorted({v for e in events for v in identifiers(e)}))
        if erased:
            _erase_in(letters, name, events, erased, counts)
    return counts


def _events(data: bytes) -> list[Any] | None:
    try:
        items = json.loads(data)
    except ValueError:
        return None
    return items if isinstance(items, list) else [items]


def _erase_in(
    letters: EventGridDeadLetters,
    name: str,
    events: list[Any] | None,
    wanted: set[str],
    counts: dict[str, int],
) -> None:
    if events is None:  # unreadable, yet it names them: nothing else in it can be kept
        letters.delete(name)
        counts["eventgrid_blobs_deleted"] += 1
        return
    kept = [scrub(e, wanted) for e in events if not mentions(e, wanted, in_text=False)]
    counts["eventgrid_events_removed"] += len(events) - len(kept)
    if kept:
        data = json.dumps(kept).encode()
        letters.store.put_bytes(name, data, content_type="application/json")
        counts["eventgrid_blobs_rewritten"] += 1
    else:
        letters.delete(name)
        counts["eventgrid_blobs_deleted"] += 1
