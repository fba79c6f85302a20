"""How an execution ends or renews, inside the episode's transaction: completed or failed
(the parent told), terminated without a replay, or continued as new."""

from __future__ import annotations

import json
import uuid
from typing import Any

from devhost import failures
from devhost.actions import Outbox
from devhost.history import Event, EventType, event
from devhost.instances import started_event
from devhost.rows import Instance
from devhost.store import Store


def complete(
    store: Store,
    inst: Instance,
    status: str,
    output: str,
    now: float,
    out: Outbox,
    failure: str | None = None,
    error: str | None = None,
) -> None:
    inst.status, inst.output, inst.updated = status, output, now
    store.set_waiting_note(inst.id, None)
    store.put_instance(inst)
    completed: Event = event(
        EventType.ExecutionCompleted, now, OrchestrationStatus=status, Result=output
    )
    if failure is not None:
        completed["FailureDetails"] = {"ErrorMessage": failure}
    out.history.append(completed)
    out.history.append(event(EventType.OrchestratorCompleted, now))
    notify_parent(store, inst, status, output, failure, now, out, error)


def fail(
    store: Store, inst: Instance, message: str, now: float, out: Outbox, error: str | None
) -> str:
    """Failed with `message` as its output and failure; `error` is what the parent sees."""
    complete(store, inst, "Failed", json.dumps(message), now, out, failure=message, error=error)
    return "Failed"


def notify_parent(
    store: Store,
    inst: Instance,
    status: str,
    output: str,
    failure: str | None,
    now: float,
    out: Outbox,
    error: str | None = None,
) -> None:
    if inst.parent_id is None or inst.parent_task_id is None:
        return
    if status == "Completed":
        msg = event(
            EventType.SubOrchestrationInstanceCompleted,
            now,
            TaskScheduledId=inst.parent_task_id,
            Result=output,
        )
    else:
        reason = failure or f"Orchestration '{inst.id}' was {status.lower()}: {output}"
        msg = event(
            EventType.SubOrchestrationInstanceFailed,
            now,
            TaskScheduledId=inst.parent_task_id,
            Reason=reason,
            Details=failures.orchestrator_details(error) if error is not None else None,
        )
    store.add_message(inst.parent_id, msg, inst.parent_execution)
    out.wake.add(inst.parent_id)


def terminate(store: Store, inst: Instance, reason: Any, now: float, out: Outbox) -> None:
    """Inside a transaction: Terminated at once, without running the orchestrator."""
    output = json.dumps(reason)
    store.delete_all_messages(inst.id)
    store.delete_activities_of(inst.id)
    inst.status, inst.output, inst.updated = "Terminated", output, now
    store.put_instance(inst)
    store.set_waiting_note(inst.id, None)
    store.append_history(
        inst.id,
        [
            event(EventType.OrchestratorStarted, now),
            event(EventType.ExecutionTerminated, now, Input=reason),
            event(EventType.OrchestratorCompleted, now),
        ],
    )
    notify_parent(store, inst, "Terminated", output, None, now, out)


def continue_as_new(
    store: Store,
    inst: Instance,
    input_text: str | None,
    carry: list[Event],
    now: float,
    out: Outbox,
) -> None:
    """Fresh execution, same id. `carry`: the events raised after the continue-as-new
    point of the final episode (DTFx carries those over); events buffered before it are
    dropped, as the extension calls ContinueAsNew without preserving them (§2.7)."""
    out.history.append(event(EventType.OrchestratorCompleted, now))
    inst.execution_id = uuid.uuid4().hex
    inst.input = input_text
    inst.input_status = json.dumps(input_text)
    inst.output = None
    inst.status = "Running"
    store.put_instance(inst)
    store.replace_history(inst.id, [])
    out.new_execution = True  # the new execution starts with an empty history
    store.add_message(inst.id, started_event(inst, now), inst.execution_id)
    for ev in carry:
        store.add_message(inst.id, ev)
    out.wake.add(inst.id)
