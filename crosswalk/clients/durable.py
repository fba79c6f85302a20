"""The Durable client as an outside system: starting an orchestration at most once per id."""

from __future__ import annotations

from typing import Any

import azure.durable_functions as df


async def start_once(
    client: df.DurableOrchestrationClient, orchestrator: str, instance_id: str, client_input: Any
) -> str | None:
    """Start `orchestrator` as `instance_id` unless that instance exists in any state.

    Returns None when it started, else the existing instance's runtime status. The Durable host
    would replace a finished instance of the same id (losing its history), so a repeated start
    must not reach it.
    """
    existing = await client.get_status(instance_id)
    if existing is not None and existing.runtime_status is not None:
        return existing.runtime_status.value
    await client.start_new(orchestrator, instance_id=instance_id, client_input=client_input)
    return None
