"""Hands each well-formed event the app receives to the raw zone (crosswalk/lake/raw.py).

Called by the event receivers after an event has been read and before it is routed. It only
queues the event in memory; nothing here can slow the sync down or make it fail.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import azure.functions as func

from crosswalk.lake.raw import RawEvent
from crosswalk.services import services

log = logging.getLogger("crosswalk.events")


def land_raw(
    event: func.EventGridEvent | func.CloudEvent,
    *,
    system: str,
    entity: str,
    kind: str,
    moment: datetime | None,
) -> None:
    """Queue `event` as received for `raw/{system}/{entity}/...`; never raises.

    `kind` is used only when the envelope carries no type of its own.
    """
    try:
        landing = services().raw_landing
        if landing is None:
            return
        landing.land(
            RawEvent(
                system=system,
                entity=entity.lower(),
                id=str(event.id),
                type=str(
                    getattr(event, "type", None) or getattr(event, "event_type", None) or kind
                ),
                time=moment or datetime.now(UTC),
                data=event.get_json(),
                source=_source(event),
                subject=event.subject,
            )
        )
    except Exception as exc:  # the raw zone must never fail the sync
        log.warning("%s event %s not landed in the raw zone: %s", system, event.id, exc)


def cloud_event_time(event: Any) -> datetime | None:
    """The CloudEvent `time` (or Event Grid `eventTime`) as an aware datetime, if usable."""
    value = getattr(event, "time", None) or getattr(event, "event_time", None)
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value
    return None


def _envelope_type(event: Any) -> str | None:
    value = getattr(event, "type", None) or getattr(event, "event_type", None)
    return str(value) if value else None


def _source(event: Any) -> str | None:
    value = getattr(event, "source", None) or getattr(event, "topic", None)
    return str(value) if value else None
