"""`support_digest`: what the last hourly digest to the support chat said.

One entity (`@support_digest@chat`). Operations: `get`; `sent {fingerprint, at}`. The digest
is posted only when its fingerprint differs from the last one, so an unchanged backlog does
not ring every hour, and a new problem (or one solved and back) does.
"""

from __future__ import annotations

from typing import Any

import azure.durable_functions as df

from entities import bp


@bp.entity_trigger(context_name="context")
def support_digest(context: df.DurableEntityContext) -> None:
    state: dict[str, Any] = context.get_state(lambda: {}) or {}
    operation = context.operation_name
    if operation == "sent":
        payload = context.get_input() or {}
        state = {"fingerprint": payload.get("fingerprint"), "at": payload.get("at")}
    elif operation != "get":
        raise ValueError(f"support_digest has no operation {operation!r}")
    context.set_state(state)
    context.set_result(state)
