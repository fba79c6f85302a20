"""Starting workflows that must not be children of the caller.

An orchestrator can only start children, and a parent waits for its children. Reconciliation
must not wait days for an onboarding that needs a person's approval, so it hands such starts
to this activity, which talks to the task hub through the Durable client like any trigger.
"""

from __future__ import annotations

import azure.durable_functions as df

from activities import bp
from crosswalk.clients.durable import start_once
from crosswalk.errors import TransientError
from crosswalk.support.history import compensation_plan


@bp.activity_trigger(input_name="payload")
@bp.durable_client_input(client_name="client")
async def start_detached(payload: dict, client: df.DurableOrchestrationClient) -> dict:
    """Start `payload.orchestrator` as `payload.instance_id` unless that instance exists."""
    existing = await start_once(
        client, payload["orchestrator"], payload["instance_id"], payload["input"]
    )
    return {"detached": True, "instance_id": payload["instance_id"], "existing": existing}


@bp.activity_trigger(input_name="payload")
@bp.durable_client_input(client_name="client")
async def durable_cancelled_instance(payload: dict, client: df.DurableOrchestrationClient) -> dict:
    """Where a cancelled onboarding stands; once its termination has landed, what to undo.

    A terminate is a message to the instance and may land late (seconds to minutes on Azure
    Storage), so the plan is read from the history only once it is final.
    """
    try:
        status = await client.get_status(
            payload["instance_id"], show_history=True, show_history_output=True
        )
    except Exception as exc:  # the SDK raises a bare Exception for unexpected answers
        raise TransientError(
            f"task hub status read failed: {exc}"[:300], system="durable"
        ) from None
    runtime = status.runtime_status.value if status and status.runtime_status else None
    if runtime != "Terminated":
        return {"runtime_status": runtime, "plan": [], "in_flight": []}
    events = getattr(status, "historyEvents", None) or []
    plan, in_flight = compensation_plan(events, payload["account_id"], payload["note"])
    return {"runtime_status": runtime, "plan": plan, "in_flight": in_flight}
