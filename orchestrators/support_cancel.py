"""`support_cancel`: after support terminates an onboarding, undo what it had done; or, with
`finishing`, finish the undo an onboarding left half done (it ended `needs_attention`).

A cancel is started as `support-cancel-<instance id>` right after the terminate is sent.
A terminate is a message and can land late (Azure Storage polls an idle control queue every
30 s, longer after scale to zero), so this orchestration waits for it on durable timers and
reads the plan (newest step first) from the history once it is final: however late the
termination lands, the undo runs once. An onboarding that ended on its own before the
termination landed is left as it ended. A finishing undo gets its plan from the trigger.
The undo runs durably, with the same retries as the saga's own compensations.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import azure.durable_functions as df

from crosswalk.sync_status import SyncStatus
from orchestrators import bp
from orchestrators.steps import RetryPolicy, Saga, Step, StepFailed, call_with_retry, custom_status

TERMINATION_POLL_FIRST_SECONDS = 1
TERMINATION_POLL_MAX_SECONDS = 30
TERMINATION_GIVE_UP_SECONDS = 24 * 3600
FINISHED_ON_ITS_OWN = frozenset({"Completed", "Failed", "Canceled"})


def _await_termination(
    context: df.DurableOrchestrationContext, request: dict[str, Any], retry: RetryPolicy
) -> Step:
    """The cancelled instance's state once it has stopped (or the wait gave up)."""
    note = f"cancelled by {request['actor']}: {request['reason']}"[:500]
    query = {"instance_id": request["instance_id"], "account_id": request["account_id"]}
    delay, waited = TERMINATION_POLL_FIRST_SECONDS, 0
    while True:
        found = yield from call_with_retry(
            context, "durable_cancelled_instance", {**query, "note": note}, retry
        )
        stopped = found["runtime_status"] in (*FINISHED_ON_ITS_OWN, "Terminated", None)
        if stopped or waited >= TERMINATION_GIVE_UP_SECONDS:
            return found
        context.set_custom_status(custom_status("terminating", step="cancel", waited=waited))
        yield context.create_timer(context.current_utc_datetime + timedelta(seconds=delay))
        waited += delay
        delay = min(delay * 2, TERMINATION_POLL_MAX_SECONDS)


@bp.orchestration_trigger(context_name="context")
def support_cancel(context: df.DurableOrchestrationContext) -> Step:
    request: dict[str, Any] = context.get_input()
    finishing = bool(request.get("finishing"))
    step = "finish_undo" if finishing else "cancel"
    retry = RetryPolicy.from_input(request.get("retry"))
    if not finishing:
        found = yield from _await_termination(context, request, retry)
        if found["runtime_status"] != "Terminated":
            ended = found["runtime_status"] or "purged"
            if ended in FINISHED_ON_ITS_OWN or ended == "purged":
                # it finished (and settled its record) before the termination landed
                context.set_custom_status(custom_status("not_cancelled", step=step, ended=ended))
                return {"outcome": "not_cancelled", "ended": ended, "entity_updated": False}
            found = {**found, "in_flight": ["termination never landed"]}
        request = {**request, "plan": found["plan"], "in_flight": found["in_flight"]}
    saga = Saga()
    for undo in reversed(request["plan"]):  # the saga pops newest first
        saga.register(undo["activity"], undo["payload"])
    context.set_custom_status(custom_status("compensating", step=step))
    yield from saga.compensate(context, retry)
    ledger = {**saga.ledger(), "in_flight": request.get("in_flight", [])}
    if saga.failed or request.get("in_flight"):
        final = SyncStatus.NEEDS_ATTENTION
    elif not finishing:
        # everything undone (or nothing to undo): the person's decision, not a failure
        final = SyncStatus.CANCELLED
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
