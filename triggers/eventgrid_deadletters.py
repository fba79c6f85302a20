"""Support API for what Event Grid could not deliver to the app (its dead-letter container):
`GET /api/support/deadletters` lists them (any support role, personal data masked as in every
support view), `POST /api/support/deadletters/replay` publishes chosen ones again to their
topic and removes them (Support.Approve: the events change both systems; audited).
"""

from __future__ import annotations

import asyncio
import logging

import azure.functions as func

from crosswalk.errors import CrosswalkError
from crosswalk.services import services
from crosswalk.support.auth import ANY_ROLE, Role
from crosswalk.support.deadletters import replay, summary
from crosswalk.support.schemas import DeadLetterReplayBody, DeadLettersQuery
from triggers import bp
from triggers.responses import HttpError, body_model, query_model, translated
from triggers.support_http import audit, authorize, authorize_action, view

ANON = func.AuthLevel.ANONYMOUS
TARGET = "eventgrid-deadletter"
log = logging.getLogger("crosswalk.support")


@bp.route(route="support/deadletters", methods=["GET"], auth_level=ANON)
@translated
async def support_deadletters(req: func.HttpRequest) -> func.HttpResponse:
    """The newest dead-lettered deliveries (at most `limit` blobs, newest hour first), with
    why Event Grid gave up on each event, and how many blobs there are in all."""
    principal = authorize(req, ANY_ROLE)
    query = query_model(DeadLettersQuery, req)
    letters = services().eventgrid_deadletters
    page, total = await asyncio.to_thread(letters.newest, query.limit)
    return view(
        principal,
        {
            "items": [blob.as_dict() for blob in page],
            "total": total,
            "container": services().settings.lake.eventgrid_deadletter_container,
        },
    )


@bp.route(route="support/deadletters/replay", methods=["POST"], auth_level=ANON)
@translated
async def support_deadletters_replay(req: func.HttpRequest) -> func.HttpResponse:
    """Publish the chosen blobs' events again to their topic; each blob is removed once Event
    Grid took its events, so a replay is safe to repeat. 200 with each blob's outcome."""
    principal = await authorize_action(req, {Role.APPROVE}, "replay_dead_letters", TARGET)
    body = body_model(DeadLetterReplayBody, req)  # 400 naming the field; nothing replayed
    svc = services()
    try:
        results = await asyncio.to_thread(
            replay, svc.eventgrid_deadletters, body.blobs, svc.event_grid_topic
        )
    except CrosswalkError as exc:  # the container itself could not be read: nothing replayed
        await audit(
            principal,
            "replay_dead_letters",
            TARGET,
            reason=body.reason,
            outcome=f"failed: {type(exc).__name__}",
            blobs=body.blobs,
        )
        raise HttpError(503, "unavailable", f"the dead-letter container: {exc}") from None
    result = summary(results)
    log.info("dead letters replayed by %s: %s", principal.name, result["counts"])
    await audit(
        principal,
        "replay_dead_letters",
        TARGET,
        reason=body.reason,
        outcome="done",
        result=result,
    )
    return view(principal, result)
