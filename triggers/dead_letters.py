"""Malformed events go to the lake's dead-letter folder with the reason, never back to Event Grid.

Failing the function would only make Event Grid deliver the same bad event again; keeping it
with the reason lets a person inspect and replay it.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import Any

import azure.functions as func

from crosswalk.services import services
from crosswalk.telemetry import metric

log = logging.getLogger("crosswalk.events")


async def dead_letter(
    event: func.CloudEvent | func.EventGridEvent, reason: str, *, source: str
) -> str:
    """Write `deadletter/<source>/<yyyy/mm/dd>/<event id>.json`; returns the path."""
    now = datetime.now(UTC)
    raw_id = event.id or "no-id"
    safe_id = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in raw_id)[:100]
    record = {
        "source": source,
        "id": safe_id,
        "day": now.strftime("%Y/%m/%d"),
        "reason": reason[:2000],
        "received_at": now.isoformat(),
        "event": {
            "id": event.id,
            "subject": event.subject,
            "type": getattr(event, "type", None) or getattr(event, "event_type", None),
            "body": _body(event),
        },
    }
    path = f"deadletter/{source}/{record['day']}/{safe_id}.json"
    log.warning("%s event %s dead-lettered: %s", source, event.id, reason[:300])
    metric.dead_lettered(source)
    await asyncio.to_thread(services().lake.put_json, path, record)
    return path


def _body(event: func.CloudEvent | func.EventGridEvent) -> Any:
    try:
        return event.get_json()
    except ValueError:
        return None
