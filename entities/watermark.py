"""`watermark`: how far reconciliation got through Salesforce, and which run holds the lease.

One entity (`@watermark@accounts`). Operations: `get`; `acquire {run_id, at, take_owed}`
-> `{granted, holder, watermark, owed, owed_staged}`; `advance {run_id, to}` (forward only,
lease holder only); `owe {run_id, writes, staged}` (write-backs, and lake paths of staged
ones, a failed run did not send) -> how many are owed; `release {run_id}` -> whether it held
the lease. State is written only after an operation succeeds, so a refused `advance` changes
nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import azure.durable_functions as df

from crosswalk.reconcile_run import WatermarkState
from entities import bp


def _apply(state: WatermarkState, operation: str, payload: dict[str, Any]) -> Any:
    if operation == "get":
        return state.model_dump(mode="json")
    if operation == "acquire":
        at = datetime.fromisoformat(payload["at"]) if payload.get("at") else datetime.now(UTC)
        return state.acquire(payload["run_id"], at, take_owed=payload.get("take_owed", True))
    if operation == "advance":
        state.advance(payload["run_id"], datetime.fromisoformat(payload["to"]))
        return state.model_dump(mode="json")
    if operation == "owe":
        return {"owed": state.owe(payload["run_id"], payload["writes"], payload.get("staged"))}
    if operation == "release":
        return {"released": state.release(payload["run_id"])}
    raise ValueError(f"watermark has no operation {operation!r}")


@bp.entity_trigger(context_name="context")
def watermark(context: df.DurableEntityContext) -> None:
    state = WatermarkState.model_validate(context.get_state(lambda: None) or {})
    result = _apply(state, context.operation_name, context.get_input() or {})
    context.set_state(state.model_dump(mode="json"))
    context.set_result(result)
