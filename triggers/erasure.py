"""Erasure requests in: from support staff (`POST /api/support/erasures`, Support.Approve,
audited without the person's data) and from the D2C platform (`person.erasure_requested`,
routed here by triggers/d2c_events.py). Both save the request document and start
`person_erasure` once per request id; `GET /api/support/erasures/{requestId}` reads the
receipt (or the running saga's stage). `erasure_purge_timer` purges the task hub history of
the instances that held an erased person and were still running when the saga purged the
rest (activities/erasure_task_hub.py), and adds them to the receipt's count.

The D2C event is never landed in the raw zone nor dead-lettered with its data: it carries the
e-mail of someone who asked to be forgotten.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import UTC, datetime
from typing import Any

import azure.durable_functions as df
import azure.functions as func
from pydantic import ValidationError

from crosswalk.clients.durable import start_once
from crosswalk.clients.durable_gateway import DurableGateway
from crosswalk.erasure.eventgrid import sweep_eventgrid_dead_letters
from crosswalk.erasure.requests import (
    REQUEST_ID,
    ErasureRequest,
    check_id,
    load_receipt,
    receipts_to_purge,
    save_receipt,
    save_request,
)
from crosswalk.erasure.task_hub import TERMINAL
from crosswalk.services import services
from crosswalk.support.auth import ANY_ROLE, Role
from crosswalk.support.schemas import ErasureBody
from crosswalk.updates import sync_policy
from orchestrators.person_erasure import instance_id
from triggers import bp
from triggers.responses import BadRequest, HttpError, body_model, translated
from triggers.support_http import audit, authorize, authorize_action, view

log = logging.getLogger("crosswalk.erasure")
ANON = func.AuthLevel.ANONYMOUS


async def start_erasure(
    client: df.DurableOrchestrationClient, request_id: str, request: ErasureRequest
) -> str:
    """Save who to erase, then start the saga (once per request id); returns its instance."""
    svc = services()
    if svc.settings.erasure.key is None:
        raise HttpError(503, "not_configured", "erasure is off: set ERASURE_KEY")
    await asyncio.to_thread(save_request, svc.lake, request_id, request)
    started = instance_id(request_id)
    client_input = {
        "request_id": request_id,
        "source": request.source,
        "requested_at": request.requested_at.isoformat(),
        "policy": {
            "retry": sync_policy(svc.settings).get("retry"),
            "raw_flush_seconds": svc.settings.lake.raw_flush_seconds,
        },
    }
    await start_once(client, "person_erasure", started, client_input)
    return started


async def from_d2c_event(client: df.DurableOrchestrationClient, event: func.CloudEvent) -> None:
    """`person.erasure_requested`: a bad request is logged by event id only, never kept."""
    data = event.get_json() if hasattr(event, "get_json") else None
    try:
        if not isinstance(data, dict) or not REQUEST_ID.match(str(data.get("request_id"))):
            raise ValueError("request_id: 8-64 of A-Z a-z 0-9 _ -")
        request = ErasureRequest.model_validate(
            {
                "email": data.get("email"),
                "d2c_user_id": data.get("user_id"),
                "source": "d2c",
                "requested_at": datetime.now(UTC),
            }
        )
        await start_erasure(client, data["request_id"], request)
    except (ValidationError, ValueError, HttpError) as exc:
        fields = (
            sorted({str(e["loc"][0]) for e in exc.errors() if e["loc"]})
            if isinstance(exc, ValidationError)
            else []
        )
        log.error("erasure event %s refused (%s) %s", event.id, type(exc).__name__, fields)


@bp.route(route="support/erasures", methods=["POST"], auth_level=ANON)
@bp.durable_client_input(client_name="client")
@translated
async def support_erase(
    req: func.HttpRequest, client: df.DurableOrchestrationClient
) -> func.HttpResponse:
    """Erase a person everywhere (Support.Approve). The audit entry names the request id."""
    request_id = uuid.uuid4().hex
    target = f"erasure:{request_id}"
    principal = await authorize_action(req, {Role.APPROVE}, "erase", target)
    body = body_model(ErasureBody, req)
    if body.email is None and body.d2c_user_id is None:
        raise BadRequest([{"field": "email", "message": "email or d2c_user_id is required"}])
    request = ErasureRequest(
        email=body.email,
        d2c_user_id=body.d2c_user_id,
        source="support",
        requested_at=datetime.now(UTC),
    )
    try:
        started = await start_erasure(client, request_id, request)
    except HttpError as exc:
        await audit(principal, "erase", target, reason=body.reason, outcome=f"refused: {exc.code}")
        raise
    await audit(principal, "erase", target, reason=body.reason, outcome="done", instance_id=started)
    return view(principal, {"requestId": request_id, "instanceId": started}, 202)


@bp.route(route="support/erasures/{requestId}", methods=["GET"], auth_level=ANON)
@bp.durable_client_input(client_name="client")
@translated
async def support_erasure(
    req: func.HttpRequest, client: df.DurableOrchestrationClient
) -> func.HttpResponse:
    """An erasure's receipt once it finished, else its saga's stage."""
    principal = authorize(req, ANY_ROLE)
    try:
        request_id = check_id(req.route_params.get("requestId", ""))
    except ValueError as exc:
        raise BadRequest([{"field": "requestId", "message": str(exc)}]) from None
    receipt = await asyncio.to_thread(load_receipt, services().lake, request_id)
    async with DurableGateway(client) as gateway:
        status = await gateway.instance(instance_id(request_id))
    body: dict[str, Any] = {
        "requestId": request_id,
        "runtimeStatus": status.get("runtimeStatus") if status else None,
        "customStatus": status.get("customStatus") if status else None,
        "receipt": receipt.model_dump(mode="json") if receipt else None,
    }
    if receipt is None and status is None:
        raise HttpError(404, "not_found", "no erasure with that request id")
    return view(principal, body)


PURGE_SCHEDULE = "0 37 * * * *"  # hourly, clear of the digest's minute 7 and of the hour


@bp.timer_trigger(schedule=PURGE_SCHEDULE, arg_name="timer")
@bp.durable_client_input(client_name="client")
async def erasure_purge_timer(
    timer: func.TimerRequest, client: df.DurableOrchestrationClient
) -> None:
    await purge_erased_histories(client)
    swept = await asyncio.to_thread(sweep_eventgrid_dead_letters, services().eventgrid_deadletters)
    if swept["eventgrid_events_removed"]:
        log.info("erased people's events taken out of Event Grid's dead letters: %s", swept)


async def purge_erased_histories(client: df.DurableOrchestrationClient) -> int:
    """Purge the instances every receipt still lists once they finished; returns how many.

    An entry is an instance id (the saga found it running); an entry ending in `-` is an id
    prefix, as receipts written before the saga's own task hub step list them.
    """
    lake = services().lake
    purged = 0
    for receipt in await asyncio.to_thread(receipts_to_purge, lake):
        done, left = 0, []
        async with DurableGateway(client) as gateway:
            for entry in receipt.purge:
                if entry.endswith("-"):
                    listed = await gateway.instances(entry)
                else:
                    listed = [found] if (found := await gateway.instance(entry)) else []
                running = [i for i in listed if i.get("runtimeStatus") not in TERMINAL]
                for item in listed:
                    if item not in running:
                        await client.purge_instance_history(item["instanceId"])
                        done += 1
                if running:
                    left.append(entry)  # next time, once they finished
        task_hub = receipt.steps.get("task_hub", {})
        total = int(task_hub.get("instances_purged", 0)) + done
        steps = {**receipt.steps, "task_hub": {**task_hub, "instances_purged": total}}
        await asyncio.to_thread(
            save_receipt, lake, receipt.model_copy(update={"purge": left, "steps": steps})
        )
        purged += done
    return purged
