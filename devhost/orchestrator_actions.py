"""The SDK's orchestrator actions as the host reads them: action types, the tree of compound
actions (WhenAll / WhenAny), and how each maps to the DTFx scheduling event it produces.

Shared by `replay`, which walks these actions over the history.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from devhost.history import EventType

CALL_ACTIVITY, CALL_ACTIVITY_RETRY, CALL_SUB, CALL_SUB_RETRY = 0, 1, 2, 3
CONTINUE_AS_NEW, CREATE_TIMER, WAIT_EVENT, CALL_ENTITY = 4, 5, 6, 7
CALL_HTTP, SIGNAL_ENTITY, SCHEDULED_SIGNAL, WHEN_ANY, WHEN_ALL = 8, 9, 10, 11, 12
ATOMIC = {CALL_ACTIVITY, CALL_SUB, CREATE_TIMER, CALL_ENTITY, CALL_HTTP, SIGNAL_ENTITY}
RETRY = {CALL_ACTIVITY_RETRY, CALL_SUB_RETRY}
# DTFx "open tasks": what must finish before the orchestration may complete. Entity calls and
# external events are the extension's own completion sources, not DTFx tasks.
OPEN = {CALL_ACTIVITY, CALL_SUB, CREATE_TIMER, CALL_HTTP, CALL_ACTIVITY_RETRY, CALL_SUB_RETRY}


@dataclass
class Node:
    action: dict[str, Any]
    parent: Node | None = None
    children: list[Node] = field(default_factory=list)
    done: bool = False
    failed: bool = False
    attempts: int = 0
    request_id: str | None = None
    lost: str | None = None  # why the host threw before allocating an id

    @property
    def type(self) -> int:
        return int(self.action.get("actionType", -1))


def tree(action: dict[str, Any], parent: Node | None = None) -> Node:
    node = Node(action, parent)
    node.children = [tree(a, node) for a in action.get("compoundActions") or []]
    return node


def missing(kind: str, name: str) -> str:
    return f"The function '{name}' doesn't exist, is disabled, or is not an {kind} function."


def flatten(nodes: list[Node]) -> list[Node]:
    out: list[Node] = []
    for n in nodes:
        out.append(n)
        out.extend(flatten(n.children))
    return out


def describe(node: Node) -> str:
    a, t = node.action, node.type
    if t in (CALL_ACTIVITY, CALL_ACTIVITY_RETRY):
        return f"activity '{a.get('functionName')}'"
    if t in (CALL_SUB, CALL_SUB_RETRY):
        iid = a.get("instanceId")
        return f"sub-orchestration '{a.get('functionName')}'" + (f" ('{iid}')" if iid else "")
    if t == CREATE_TIMER:
        return f"timer at {a.get('fireAt')}"
    if t == WAIT_EVENT:
        return f"external event '{a.get('externalEventName')}'"
    if t == CALL_ENTITY:
        return f"entity {a.get('instanceId')} operation '{a.get('operation')}'"
    if t == CALL_HTTP:
        return "call_http"
    return f"action type {t}"


ACTION_NAMES = {
    EventType.TaskScheduled: "a ScheduleTaskOrchestratorAction",
    EventType.TimerCreated: "a CreateTimerOrchestratorAction",
    EventType.SubOrchestrationInstanceCreated: "a CreateSubOrchestrationAction",
    EventType.EventSent: "a SendEventOrchestratorAction",
}


def scheduled_as(node: Node, role: str) -> tuple[EventType, str | None]:
    """The scheduling event (and its name) DTFx writes for an allocated id."""
    t = node.type
    if role == "retry_timer" or t == CREATE_TIMER:
        return EventType.TimerCreated, None
    if t in (CALL_SUB, CALL_SUB_RETRY):
        return EventType.SubOrchestrationInstanceCreated, str(node.action.get("functionName"))
    if t in (CALL_ENTITY, SIGNAL_ENTITY):
        return EventType.EventSent, "op"
    if t == CALL_HTTP:
        return EventType.TaskScheduled, None
    return EventType.TaskScheduled, str(node.action.get("functionName"))


def max_attempts(node: Node) -> int:
    return int((node.action.get("retryOptions") or {}).get("maxNumberOfAttempts", 1))


def loads(text: Any) -> Any:
    try:
        return json.loads(text) if isinstance(text, str) else text
    except ValueError:
        return text


def work_kind(node: Node, role: str) -> str:
    if role == "retry_timer":
        return "retry_timer"
    return {
        CALL_ACTIVITY: "activity",
        CALL_ACTIVITY_RETRY: "activity",
        CALL_SUB: "suborchestration",
        CALL_SUB_RETRY: "suborchestration",
        CREATE_TIMER: "timer",
        CALL_ENTITY: "entity",
        SIGNAL_ENTITY: "entity",
        CALL_HTTP: "http",
    }[node.type]


def top_level(actions: list[Any]) -> list[dict[str, Any]]:
    """Schema V2/V3: one inner list; V1: one WhenAny per inner list (how the host awaits)."""
    if len(actions) == 1:
        return list(actions[0])
    return [{"actionType": WHEN_ANY, "compoundActions": group} for group in actions]
