"""`record_sync`: one entity per Salesforce Account Id, holding its SyncState.

Operations run one at a time per record, so a claim (and an update lease) is atomic without
locks. A refused
transition raises, which the calling orchestrator receives as an exception, and the stored
state stays as it was (it is only written after an operation succeeds).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import azure.durable_functions as df

from crosswalk.sync_changes import ChangeNote, ChangeRequest
from crosswalk.sync_state import SyncState
from crosswalk.sync_status import SyncStatus
from entities import bp


def _at(payload: dict[str, Any]) -> datetime:
    raw = payload.get("at")
    return datetime.fromisoformat(raw) if raw else datetime.now(UTC)


def _apply(state: SyncState, operation: str, payload: dict[str, Any]) -> Any:
    at = _at(payload)
    if operation == "get":
        return state.dump()
    if operation == "claim":
        modstamp = datetime.fromisoformat(payload["modstamp"])
        return state.claim(payload["instance_id"], modstamp, at).model_dump(mode="json")
    if operation == "advance":
        state.advance(
            payload["instance_id"],
            SyncStatus(payload["status"]),
            at,
            note=payload.get("note"),
            error=payload.get("error"),
            approval=payload.get("approval"),
        )
        return state.dump()
    if operation == "finish_undo":
        state.finish_undo(
            payload["instance_id"],
            SyncStatus(payload["status"]),
            at,
            note=payload.get("note") or "undo finished",
            error=payload.get("error"),
        )
        return state.dump()
    if operation == "synced":
        state.mark_synced(
            payload["instance_id"],
            at,
            modstamp=datetime.fromisoformat(payload["modstamp"]),
            d2c_customer_id=payload["d2c_customer_id"],
            d2c_primary_user_id=payload.get("d2c_primary_user_id"),
            fields=payload.get("fields"),
            d2c_version=payload.get("d2c_version"),
        )
        return state.dump()
    if operation == "release":
        state.release(payload["instance_id"], at, note=payload.get("note") or "released")
        return state.dump()
    if operation == "update_begin":
        request = ChangeRequest.model_validate(payload["request"])
        return state.update_begin(payload["instance_id"], request, at).model_dump(mode="json")
    if operation == "update_end":
        request = payload.get("request")
        pending = state.update_end(
            payload["instance_id"],
            at,
            outcome=payload["outcome"],
            note=payload.get("note"),
            agreed=payload.get("agreed"),
            modstamp=_optional_time(payload.get("modstamp")),
            d2c_version=payload.get("d2c_version"),
            deleted=bool(payload.get("deleted")),
            error=payload.get("error"),
            request=ChangeRequest.model_validate(request) if request else None,
        )
        return {"pending": pending.model_dump(mode="json") if pending else None}
    if operation == "note_change":
        state.note_change(ChangeNote.model_validate({**payload, "at": at}))
        return None
    raise ValueError(f"record_sync has no operation {operation!r}")


def _optional_time(raw: str | None) -> datetime | None:
    return datetime.fromisoformat(raw) if raw else None


@bp.entity_trigger(context_name="context")
def record_sync(context: df.DurableEntityContext) -> None:
    state = SyncState.load(context.get_state(lambda: None))
    result = _apply(state, context.operation_name, context.get_input() or {})
    context.set_state(state.dump())
    context.set_result(result)
