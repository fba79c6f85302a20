"""`signup_link`: one entity per D2C customer id that signed up on the storefront.

Duplicate `customer.registered` deliveries meet here and only the first links; storefront
edits are applied one at a time, newest version wins (crosswalk/signup_state.py).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import azure.durable_functions as df

from crosswalk.signup_state import SignupState
from crosswalk.sync_changes import ChangeNote
from entities import bp


def _apply(state: SignupState, operation: str, payload: dict[str, Any]) -> Any:
    raw = payload.get("at")
    at = datetime.fromisoformat(raw) if raw else datetime.now(UTC)
    if operation == "get":
        return state.dump()
    if operation == "claim":
        return state.claim(
            payload["instance_id"],
            payload["kind"],
            payload["customer"],
            payload.get("changed_fields") or [],
            at,
        ).model_dump(mode="json")
    if operation == "finish":
        return state.finish(
            payload["instance_id"],
            at,
            outcome=payload["outcome"],
            note=payload.get("note"),
            version=payload.get("version"),
            link=payload.get("link"),
            error=payload.get("error"),
        )
    if operation == "forget":
        state.forget()
        return None
    if operation == "note_change":
        state.note(ChangeNote.model_validate({**payload, "at": at}))
        return None
    raise ValueError(f"signup_link has no operation {operation!r}")


@bp.entity_trigger(context_name="context")
def signup_link(context: df.DurableEntityContext) -> None:
    state = SignupState.load(context.get_state(lambda: None))
    result = _apply(state, context.operation_name, context.get_input() or {})
    context.set_state(state.dump())
    context.set_result(result)
