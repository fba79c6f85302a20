"""`POST /api/accounts/{sfAccountId}/onboard`: start (or find) the onboarding of one account."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import azure.durable_functions as df
import azure.functions as func
from pydantic import BaseModel, ConfigDict, ValidationError

from crosswalk.clients.durable import entity_state, start_once
from crosswalk.ids import SalesforceAccountId
from crosswalk.onboarding import onboarding_input, onboarding_instance_id
from crosswalk.services import services
from crosswalk.sync_status import SyncStatus
from crosswalk.telemetry import current_traceparent, trigger_span
from triggers import bp
from triggers.responses import (
    BadRequest,
    HttpError,
    fields_of,
    json_response,
    read_json,
    translated,
)


class _AccountPath(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sfAccountId: SalesforceAccountId


def _account_id(req: func.HttpRequest) -> str:
    try:
        return _AccountPath(sfAccountId=req.route_params.get("sfAccountId", "")).sfAccountId
    except ValidationError as exc:
        raise BadRequest(fields_of(exc)) from None


@bp.route(route="accounts/{sfAccountId}/onboard", methods=["POST"])
@bp.durable_client_input(client_name="client")
@translated
async def start_onboarding(
    req: func.HttpRequest, client: df.DurableOrchestrationClient, context: func.Context
) -> func.HttpResponse:
    """202 with the status URLs. 200 `started: false` when there is nothing to start: the
    instance for this modstamp exists, or the record is synced already (its last change may
    be Crosswalk's own write-back, which moved the modstamp the instance id is made from).

    Its span continues the caller's `traceparent`, and the onboarding's steps join that trace.
    """
    account_id = _account_id(req)
    with trigger_span("start account_onboarding", context, sf_account_id=account_id):
        return await _start(req, client, account_id)


async def _start(
    req: func.HttpRequest, client: df.DurableOrchestrationClient, account_id: str
) -> func.HttpResponse:
    if read_json(req, required=False) not in (None, {}):
        raise BadRequest([{"field": "body", "message": "this endpoint takes no body"}])
    record = await entity_state(client, df.EntityId("record_sync", account_id))
    if isinstance(record, dict) and record.get("status") == SyncStatus.SYNCED:
        return await _already_synced(req, client, record)
    svc = services()
    # One read serves the starter (the modstamp names the instance) and the saga (the data).
    read_at = datetime.now(UTC)
    account = await asyncio.to_thread(svc.salesforce.get_account_with_contacts, account_id)
    if account is None:
        raise HttpError(404, "not_found", f"Account {account_id} does not exist in Salesforce")
    instance_id = onboarding_instance_id(account_id, account.SystemModstamp)
    existing = await start_once(
        client,
        "account_onboarding",
        instance_id,
        onboarding_input(
            svc.settings,
            account_id,
            account.SystemModstamp,
            "http",
            account=account.model_dump(mode="json"),
            read_at=read_at,
            traceparent=current_traceparent(),
        ),
    )
    if existing is not None:
        body = client.get_client_response_links(req, instance_id)
        return json_response({**body, "started": False, "runtimeStatus": existing}, 200)
    return client.create_check_status_response(req, instance_id)


async def _already_synced(
    req: func.HttpRequest, client: df.DurableOrchestrationClient, record: dict[str, Any]
) -> func.HttpResponse:
    """The record's synced state and the instance that synced it; nothing is started."""
    synced_by = [
        t.get("instance_id")
        for t in record.get("transitions") or []
        if isinstance(t, dict) and t.get("to") == SyncStatus.SYNCED
    ]
    instance_id = (synced_by or [None])[-1] or record.get("last_instance_id")
    body: dict[str, Any] = {}
    runtime = None
    if isinstance(instance_id, str) and instance_id:
        body = client.get_client_response_links(req, instance_id)
        status = await client.get_status(instance_id)
        if status is not None and status.runtime_status is not None:
            runtime = status.runtime_status.value
    return json_response(
        {
            **body,
            "started": False,
            "runtimeStatus": runtime,
            "state": record.get("status"),
            "d2cCustomerId": record.get("d2c_customer_id"),
            "lastModstamp": record.get("last_modstamp"),
        },
        200,
    )
