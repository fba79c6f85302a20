"""The Pub/Sub API relay's timer: one bounded session each `RELAY_SCHEDULE` occurrence (a
minute by default; crosswalk/relay/session.py).

Why a timer on Flex Consumption: a timer function runs on one instance at a time, and the
next occurrence is computed when a run ends, so sessions of `RELAY_SESSION_SECONDS` (290 by
default, longer than the 270 s the Pub/Sub API may wait before a keepalive) follow one
another with a gap of under a minute; no execution limit applies and a scale-in gives 60
minutes' grace. Two sessions at once (a platform update's overlap) cannot both publish: each
channel's checkpoint is a lease in the lake. A session whose checkpoint aged out starts a
catch-up reconciliation from the last relayed commit, which is recorded on the checkpoint
for support.
"""

from __future__ import annotations

import asyncio
import logging
import uuid

import azure.durable_functions as df
import azure.functions as func

from crosswalk.errors import CrosswalkError
from crosswalk.relay.session import RelayContext, TopicReport, run_session
from crosswalk.services import services
from triggers import bp
from triggers.reconciliation import start_unless_running

log = logging.getLogger("crosswalk.relay")


@bp.timer_trigger(schedule="%RELAY_SCHEDULE%", arg_name="timer")
@bp.durable_client_input(client_name="client")
async def salesforce_relay(timer: func.TimerRequest, client: df.DurableOrchestrationClient) -> None:
    svc = services()
    if not svc.settings.relay.enabled:
        return
    try:
        ctx = RelayContext(
            settings=svc.settings.relay,
            lake=svc.lake,
            pubsub=svc.pubsub,
            publisher=svc.event_grid,
            owner=f"relay-{uuid.uuid4().hex[:12]}",
        )
    except CrosswalkError as exc:
        log.error("relay cannot start: %s", exc)
        return
    reports = await asyncio.to_thread(run_session, ctx)
    for report in reports:
        _log(report)
    await _catch_up(client, [r for r in reports if r.catch_up_reason is not None])


def _log(report: TopicReport) -> None:
    log.info(
        "relay %s: %d relayed, %d dead-lettered, %d keepalives, lag %s ms, ended: %s",
        report.topic,
        report.relayed,
        report.dead_lettered,
        report.keepalives,
        None if report.lag_ms is None else round(report.lag_ms),
        report.stopped,
    )


async def _catch_up(client: df.DurableOrchestrationClient, expired: list[TopicReport]) -> None:
    """One reconciliation for every channel that aged out, from the earliest last commit
    (an unknown one: from the reconciliation watermark)."""
    if not expired:
        return
    sinces = [r.catch_up_since for r in expired]
    since = None if any(s is None for s in sinces) else min(s for s in sinces if s is not None)
    run_id = f"reconcile-relay-{uuid.uuid4().hex[:16]}"
    started = await start_unless_running(client, run_id, "relay", since=since)
    log.warning(
        "relay %s: catch-up reconciliation since %s %s",
        ", ".join(r.topic for r in expired),
        since.isoformat() if since else "the watermark",
        "started" if started else "not started: a run is active (it or the next covers it)",
    )
