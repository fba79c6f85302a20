"""Starting workflows that must not be children of the caller.

An orchestrator can only start children, and a parent waits for its children. Reconciliation
must not wait days for an onboarding that needs a person's approval, so it hands such starts
to this activity, which talks to the task hub through the Durable client like any trigger.
"""

from __future__ import annotations

import azure.durable_functions as df

from activities import bp
from crosswalk.clients.durable import start_once


@bp.activity_trigger(input_name="payload")
@bp.durable_client_input(client_name="client")
async def start_detached(payload: dict, client: df.DurableOrchestrationClient) -> dict:
    """Start `payload.orchestrator` as `payload.instance_id` unless that instance exists."""
    existing = await start_once(
        client, payload["orchestrator"], payload["instance_id"], payload["input"]
    )
    return {"detached": True, "instance_id": payload["instance_id"], "existing": existing}
