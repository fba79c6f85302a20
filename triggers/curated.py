"""The curated zone keeps itself fresh: two timers.

`curated_refresh` (`%CURATED_REFRESH_SCHEDULE%`) brings both curated tables up to the profile
store, incrementally (only profiles whose etag changed are read and merged; an unchanged store
commits nothing). `curated_compact` (`%CURATED_COMPACT_SCHEDULE%`) compacts the small files the
refreshes leave and vacuums files no version within CURATED_VACUUM_RETENTION_HOURS needs. The
Functions host runs one occurrence of a timer at a time across instances (its schedule lock),
and this process never runs two curated jobs at once either (Delta commits would conflict).
"""

from __future__ import annotations

import asyncio
import logging

import azure.functions as func

from crosswalk.curated_jobs import compact, refresh
from crosswalk.telemetry import metric
from triggers import bp

log = logging.getLogger("crosswalk.curated")


@bp.timer_trigger(schedule="%CURATED_REFRESH_SCHEDULE%", arg_name="timer")
async def curated_refresh(timer: func.TimerRequest) -> None:
    try:
        done = await asyncio.to_thread(refresh)
    except Exception:  # the next occurrence tries again; support sees the log and the metric
        log.exception("curated refresh failed")
        metric.curated_refreshed("refresh_failed", 0.0, {})
        return
    log.info("curated refresh: %s", done)


@bp.timer_trigger(schedule="%CURATED_COMPACT_SCHEDULE%", arg_name="timer")
async def curated_compact(timer: func.TimerRequest) -> None:
    try:
        done = await asyncio.to_thread(compact)
    except Exception:
        log.exception("curated compaction failed")
        metric.curated_refreshed("compact_failed", 0.0, {})
        return
    log.info("curated compaction: %s", done)
