"""Raising a person's decision on a waiting onboarding.

There is one place a decision is taken: `POST /api/support/approvals/{instanceId}`, as the
signed-in principal with `Support.Approve` (a person, or a service principal given that app
role). The approver is always that authenticated identity, never a name in a body: there is
no function-key route that decides, since a key says nothing about who holds it.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import azure.durable_functions as df

from crosswalk.models import ApprovalDecisionInput
from crosswalk.onboarding import APPROVAL_EVENT
from triggers.responses import HttpError

_INSTANCE_ID = re.compile(r"[A-Za-z0-9@_.:-]{1,200}")


def addressable(instance_id: str) -> bool:
    """Can this id travel in a Durable API URL? The SDK puts ids into URLs unescaped, so `.`
    and `..` (path segments a URL resolves away) and anything outside the id alphabet are no
    instance of ours."""
    return bool(_INSTANCE_ID.fullmatch(instance_id)) and instance_id.strip(".") != ""


async def submit_decision(
    client: df.DurableOrchestrationClient, instance_id: str, decision: ApprovalDecisionInput
) -> dict[str, Any]:
    """Raise the decision on a waiting onboarding: 404 unknown, 409 not waiting."""
    if not addressable(instance_id):
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
