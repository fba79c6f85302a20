"""The erasure saga's task hub step: purge the history of the finished instances that held
the person (crosswalk/erasure/task_hub.py), through the Durable client's purge, and name the
ones still running so `erasure_purge_timer` purges them once they finish. Returns instance
ids and counts, never the person's data."""

from __future__ import annotations

import asyncio
from typing import Any

import azure.durable_functions as df

from activities import bp
from crosswalk.clients.durable_gateway import DurableGateway
from crosswalk.erasure.requests import load_request
from crosswalk.erasure.task_hub import TERMINAL, candidate_prefixes, holds_person
from crosswalk.errors import PermanentError
from crosswalk.services import services


@bp.activity_trigger(input_name="payload")
@bp.durable_client_input(client_name="client")
async def erasure_task_hub(payload: dict, client: df.DurableOrchestrationClient) -> dict[str, Any]:
    request = await asyncio.to_thread(load_request, services().lake, payload["request_id"])
    if request is None:
        raise PermanentError(
            f"erasure request {payload['request_id']} is gone", system="erasure", code="NO_REQUEST"
        )
    wanted = request.person().values()
    checked, purged, waiting = 0, [], []
    prefixes = candidate_prefixes(payload["accounts"], payload.get("signup_customers", []))
    async with DurableGateway(client) as gateway:
        for prefix in prefixes:
            for listed in await gateway.instances(prefix):
                checked += 1
                status = await gateway.instance(listed["instanceId"], history=True)
                if status is None or not holds_person(status, wanted):
                    continue
                if status.get("runtimeStatus") in TERMINAL:
                    await client.purge_instance_history(status["instanceId"])
                    purged.append(status["instanceId"])
                else:
                    waiting.append(status["instanceId"])
    return {
        "instances_checked": checked,
        "instances_purged": len(purged),
        "purged": sorted(purged),
        "waiting": sorted(waiting),
    }
