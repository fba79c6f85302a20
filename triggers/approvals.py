"""`POST /api/approvals/{instanceId}`: a person's decision on a waiting onboarding."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import azure.durable_functions as df
import azure.functions as func

from crosswalk.models import ApprovalDecisionInput
from crosswalk.onboarding import APPROVAL_EVENT
from triggers import bp
from triggers.responses import HttpError, json_response, read_json, translated

_INSTANCE_ID = re.compile(r"[A-Za-z0-9@_.:-]{1,200}")


@bp.route(route="approvals/{instanceId}", methods=["POST"])
@bp.durable_client_input(client_name="client")
@translated
async def decide_approval(
    req: func.HttpRequest, client: df.DurableOrchestrationClient
) -> func.HttpResponse:
    """400 on a bad body (field named), 404 unknown instance, 409 when it is not waiting."""
    decision = ApprovalDecisionInput.model_validate(read_json(req))
    instance_id = req.route_params.get("instanceId", "")
    event = await submit_decision(client, instance_id, decision)
    return json_response({"instanceId": instance_id, "accepted": event}, 202)


async def submit_decision(
    client: df.DurableOrchestrationClient, instance_id: str, decision: ApprovalDecisionInput
) -> dict[str, Any]:
    """Raise the decision on a waiting onboarding (also used by the support API)."""
    if not _INSTANCE_ID.fullmatch(instance_id):  # the SDK puts ids into URLs unescaped
        raise HttpError(404, "not_found", "no such instance")
    status = await client.get_status(instance_id)
    if status is None or status.runtime_status is None:
        raise HttpError(404, "not_found", f"no instance {instance_id}")
    custom = status.custom_status if isinstance(status.custom_status, dict) else {}
    waiting = (
        status.runtime_status is df.OrchestrationRuntimeStatus.Running
        and custom.get("waiting_for") == APPROVAL_EVENT
    )
    if not waiting:
        raise HttpError(409, "not_waiting", f"instance {instance_id} is not waiting for approval")
    event = {**decision.model_dump(mode="json"), "decided_at": datetime.now(UTC).isoformat()}
    await client.raise_event(instance_id, APPROVAL_EVENT, event)
    return event
