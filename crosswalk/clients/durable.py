"""The Durable client as an outside system: starting an orchestration at most once per id."""

from __future__ import annotations

import json
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
    try:
        await client.start_new(orchestrator, instance_id=instance_id, client_input=client_input)
    except Exception:
        # Another starter won the race for this id (the host refuses a running one): that
        # instance is the answer. Anything else is a real failure.
        raced = await client.get_status(instance_id)
        if raced is not None and raced.runtime_status is not None:
            return raced.runtime_status.value
        raise
    return None


async def entity_state(client: df.DurableOrchestrationClient, entity: df.EntityId) -> Any:
    """An entity's state as JSON values, or None when it does not exist (the SDK hands the
    state over still encoded when it is a JSON string)."""
    found = await client.read_entity_state(entity)
    if not found.entity_exists:
        return None
    state = found.entity_state
    return json.loads(state) if isinstance(state, str) else state
