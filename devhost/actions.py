"""The reply's new work carried out, in order (the extension's `OutOfProcOrchestrationShim`):
activities queued, timers set, sub-orchestrations started, entity messages sent.

Everything here runs inside the episode's transaction and notes in the `Outbox` what to
start once it commits.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any

from devhost import http_activity, replay
from devhost.history import Event, EventType, event, iso, parse_iso
from devhost.instances import create, new_instance
from devhost.orchestrator_actions import SIGNAL_ENTITY
from devhost.rows import ACTIVE, ActivityRow, Instance
from devhost.store import Store

_NAMESPACE = uuid.UUID("9e952958-5e33-4daf-827f-2fa12937b875")


@dataclass
class Outbox:
    """What an episode decided, applied to the store inside its transaction."""

    history: list[Event] = field(default_factory=list)
    activities: list[ActivityRow] = field(default_factory=list)
    wake: set[str] = field(default_factory=set)
    timers: list[tuple[float, str]] = field(default_factory=list)
    entities: set[str] = field(default_factory=set)
    new_execution: bool = False
    dropped: list[str] = field(default_factory=list)  # sub-orchestration starts Azure drops


def schedule_work(store: Store, inst: Instance, work: replay.Work, now: float, out: Outbox) -> None:
    action = work.action
    if work.kind == "activity":
        name = str(action.get("functionName"))
        out.history.append(
            event(EventType.TaskScheduled, now, work.id, Name=name, Input=action.get("input"))
        )
        out.activities.append(
            store.add_activity(inst.id, inst.execution_id, work.id, name, action.get("input"))
        )
    elif work.kind in ("timer", "retry_timer"):
        if work.kind == "timer":
            fire_at = parse_iso(str(action["fireAt"]))
        elif work.final:  # DTFx 2.17.1: "Dummy timer for back-compat", due at once
            fire_at = now
        else:
            fire_at = now + retry_delay(action.get("retryOptions") or {}, work.attempt)
        out.history.append(event(EventType.TimerCreated, now, work.id, FireAt=iso(fire_at)))
        if not action.get("isCanceled"):
            fired = event(EventType.TimerFired, fire_at, TimerId=work.id, FireAt=iso(fire_at))
            store.add_message(inst.id, fired, inst.execution_id, fire_at)
            out.timers.append((fire_at, inst.id))
    elif work.kind == "suborchestration":
        _start_child(store, inst, work, now, out)
    elif work.kind == "entity":
        _send_entity(store, inst, work, now, out)
    else:  # call_http: the host's own activity, queued and durable like any other
        request = json.dumps(action.get("httpRequest"))
        name = http_activity.NAME
        out.history.append(event(EventType.TaskScheduled, now, work.id, Name=name, Input=request))
        out.activities.append(
            store.add_activity(inst.id, inst.execution_id, work.id, name, request)
        )


def _start_child(store: Store, inst: Instance, work: replay.Work, now: float, out: Outbox) -> None:
    action = work.action
    name = str(action.get("functionName"))
    child_id = action.get("instanceId") or str(
        uuid.uuid5(_NAMESPACE, f"{inst.id}:{inst.execution_id}:{work.id}")
    )
    out.history.append(
        event(
            EventType.SubOrchestrationInstanceCreated,
            now,
            work.id,
            Name=name,
            InstanceId=child_id,
            Input=action.get("input"),
        )
    )
    existing = store.instance(child_id)
    if existing is not None and existing.status in ACTIVE:
        # Azure drops an ExecutionStarted for a running instance: nothing ever answers
        # the parent's task. Say so, since nothing else will.
        # The reason rides on the history event (the SDK ignores unknown keys), so every
        # later walk can say why this task never completes.
        dropped = (
            f"an instance with id '{child_id}' was already {existing.status} when it was "
            "started, and Azure drops such a start"
        )
        out.history[-1]["DevhostDropped"] = dropped
        out.dropped.append(f"sub-orchestration '{name}': {dropped}")
        return
    child = new_instance(child_id, name, action.get("input"), now)
    child.parent_id, child.parent_execution = inst.id, inst.execution_id
    child.parent_task_id = work.id
    create(store, child, now)
    out.wake.add(child_id)


def _send_entity(store: Store, inst: Instance, work: replay.Work, now: float, out: Outbox) -> None:
    action = work.action
    is_signal = action.get("actionType") == SIGNAL_ENTITY
    request_id = str(uuid.uuid5(_NAMESPACE, f"{inst.id}:{inst.execution_id}:{work.id}"))
    message: dict[str, Any] = {
        "op": action.get("operation"),
        # RequestMessage.Input = the action's input text serialised again (§3.1)
        "input": None if action.get("input") is None else json.dumps(action["input"]),
        "id": request_id,
        "parent": inst.id,
        "parentExecution": inst.execution_id,
        "Timestamp": iso(now),
    }
    if is_signal:
        message["signal"] = True
    target = str(action.get("instanceId"))
    out.history.append(
        event(
            EventType.EventSent,
            now,
            work.id,
            InstanceId=target,
            Name="op",
            Input=json.dumps(message),
        )
    )
    store.add_entity_message(target, message)
    out.entities.add(target)


def retry_delay(options: dict[str, Any], attempt: int) -> float:
    """DTFx RetryInterceptor: first * coefficient^(attempt-1), capped by the max interval."""
    first = float(options.get("firstRetryIntervalInMilliseconds", 1000)) / 1000
    coefficient = float(options.get("backoffCoefficient", 1))
    delay = first * coefficient ** max(0, attempt - 1)
    cap = options.get("maxRetryIntervalInMilliseconds")
    if cap:
        delay = min(delay, float(cap) / 1000)
    return delay
