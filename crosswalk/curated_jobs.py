"""The curated zone's jobs, as the timers (triggers/curated.py) and the erasure run them:
an incremental refresh of both tables, and compaction with vacuum; each timed into the
`crosswalk.curated.*` metrics."""

from __future__ import annotations

import threading
import time
from typing import Any

from crosswalk.lake.curated import ProfileTable
from crosswalk.services import services
from crosswalk.telemetry import metric

ONE_AT_A_TIME = threading.Lock()
"""Held by every curated job in this process (timers, the erasure's step): one Delta writer."""


def refresh() -> dict[str, Any]:
    """One incremental refresh of both tables; returns what it did."""
    svc = services()
    with ONE_AT_A_TIME:
        started = time.perf_counter()
        result = ProfileTable.from_settings(svc.settings.lake).refresh(svc.profiles)
        seconds = time.perf_counter() - started
    rows = {
        "profiles.upserted": result.upserted,
        "profiles.deleted": result.deleted,
        "people.written": result.people,
    }
    metric.curated_refreshed("refresh", seconds, rows)
    return {**rows, "unchanged": result.unchanged, "version": result.version, "seconds": seconds}


def compact() -> dict[str, Any]:
    svc = services()
    table = ProfileTable.from_settings(svc.settings.lake)
    with ONE_AT_A_TIME:
        started = time.perf_counter()
        metrics = table.compact()
        removed = table.vacuum(retention_hours=svc.settings.curated.vacuum_retention_hours)
        seconds = time.perf_counter() - started
    metric.curated_refreshed("compact", seconds, {"files.vacuumed": len(removed)})
    return {"compaction": metrics, "vacuumed": len(removed), "seconds": seconds}
