"""`support_cancel`: after support terminates an onboarding, undo what it had done; or, with
`finishing`, finish the undo an onboarding left half done (it ended `needs_attention`).

The trigger works out the plan from the terminated instance's history (newest step first)
and starts this orchestration as `support-cancel-<instance id>`, so the undo runs durably,
with the same retries as the saga's own compensations, and is visible on the record.
"""

from __future__ import annotations

from typing import Any

import azure.durable_functions as df

from crosswalk.sync_state import SyncStatus
from orchestrators import bp
from orchestrators.steps import RetryPolicy, Saga, Step, StepFailed, call_with_retry, custom_status


@bp.orchestration_trigger(context_name="context")
def support_cancel(context: df.DurableOrchestrationContext) -> Step:
    request: dict[str, Any] = context.get_input()
    finishing = bool(request.get("finishing"))
    step = "finish_undo" if finishing else "cancel"
    retry = RetryPolicy.from_input(request.get("retry"))
    saga = Saga()
    for undo in reversed(request["plan"]):  # the saga pops newest first
        saga.register(undo["activity"], undo["payload"])
    context.set_custom_status(custom_status("compensating", step=step))
    yield from saga.compensate(context, retry)
    ledger = {**saga.ledger(), "in_flight": request.get("in_flight", [])}
    if saga.failed or request.get("in_flight"):
        final = SyncStatus.NEEDS_ATTENTION
    elif saga.done:
        final = SyncStatus.COMPENSATED
    else:
        final = SyncStatus.FAILED
    verb = "undo finished" if finishing else "cancelled"
    note = f"{verb} by {request['actor']}: {request['reason']}"[:200]
    error = {
        "step": step,
        "kind": "cancelled",
        "system": "support",
        "status": None,
        "code": "undo_finished" if finishing else "cancelled",
        "detail": note,
        "instance_id": request["instance_id"],
    }
    if finishing and saga.failed:
        error = {**saga.failed[-1], "instance_id": request["instance_id"]}
    entity = df.EntityId("record_sync", request["account_id"])
    at = context.current_utc_datetime.isoformat()
    entity_updated = True
    try:
        yield context.call_entity(
            entity,
            "finish_undo" if finishing else "advance",
            {
                "instance_id": request["instance_id"],
                "status": str(final),
                "at": at,
                "note": note,
                "error": error,
            },
        )
    except Exception:  # the record had moved on (e.g. the claim was never granted)
        entity_updated = False
    if not finishing:  # a finished undo leaves the failure that started it on record
        try:
            yield from call_with_retry(
                context,
                "profile_record_failure",
                {"sf_account_id": request["account_id"], "name": None, "failure": error, "at": at},
                retry,
            )
        except StepFailed as exc:
            ledger["failure_record"] = exc.as_dict()
    context.set_custom_status(custom_status(str(final), step=step, ledger=ledger))
    return {"outcome": str(final), "ledger": ledger, "entity_updated": entity_updated}
