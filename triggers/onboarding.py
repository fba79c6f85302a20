"""`POST /api/accounts/{sfAccountId}/onboard`: start (or find) the onboarding of one account."""

from __future__ import annotations

import asyncio

import azure.durable_functions as df
import azure.functions as func
from pydantic import BaseModel, ConfigDict, ValidationError

from crosswalk.clients.durable import start_once
from crosswalk.models import SalesforceAccountId
from crosswalk.onboarding import onboarding_input, onboarding_instance_id
from crosswalk.services import services
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
    """202 with the status URLs; a repeated start for the same modstamp answers 200, not twice.

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
    svc = services()
    modstamp = await asyncio.to_thread(svc.salesforce.account_modstamp, account_id)
    if modstamp is None:
        raise HttpError(404, "not_found", f"Account {account_id} does not exist in Salesforce")
    instance_id = onboarding_instance_id(account_id, modstamp)
    existing = await start_once(
        client,
        "account_onboarding",
        instance_id,
        onboarding_input(
            svc.settings, account_id, modstamp, "http", traceparent=current_traceparent()
        ),
    )
    if existing is not None:
        body = client.get_client_response_links(req, instance_id)
        return json_response({**body, "started": False, "runtimeStatus": existing}, 200)
    return client.create_check_status_response(req, instance_id)
