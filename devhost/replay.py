"""Turn the SDK's cumulative action list into new work with the ids the SDK expects.

The real host replays the actions through DTFx, allocating an id each time it schedules
something; retry timers and re-attempts are inserted by the host. This module simulates
that walk over the history (durable-protocol.md §2.5) so every TaskScheduledId / TimerId
we write matches the SDK's own numbering. A mismatch would hang an orchestration silently,
so the simulation mirrors the SDK's quirks (fail-fast WhenAll, re-delivered early events,
last-registered-first waiters) rather than "fixing" them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from devhost.history import SCHEDULING, Event, EventType

CALL_ACTIVITY, CALL_ACTIVITY_RETRY, CALL_SUB, CALL_SUB_RETRY = 0, 1, 2, 3
CONTINUE_AS_NEW, CREATE_TIMER, WAIT_EVENT, CALL_ENTITY = 4, 5, 6, 7
CALL_HTTP, SIGNAL_ENTITY, SCHEDULED_SIGNAL, WHEN_ANY, WHEN_ALL = 8, 9, 10, 11, 12
_ATOMIC = {CALL_ACTIVITY, CALL_SUB, CREATE_TIMER, CALL_ENTITY, CALL_HTTP, SIGNAL_ENTITY}


@dataclass
class Work:
    """Something the host must schedule now: an id and what to do with it."""

    id: int
    kind: str  # activity | suborchestration | timer | retry_timer | entity | http
    action: dict[str, Any]
    attempt: int = 1


@dataclass
class _Node:
    action: dict[str, Any]
    parent: _Node | None = None
    children: list[_Node] = field(default_factory=list)
    done: bool = False
    failed: bool = False
    attempts: int = 0
    request_id: str | None = None

    @property
    def type(self) -> int:
        return int(self.action.get("actionType", -1))


@dataclass
class Simulation:
    """Result of walking actions over history."""

    new_work: list[Work] = field(default_factory=list)
    unconsumed_events: list[Event] = field(default_factory=list)


def _tree(action: dict[str, Any], parent: _Node | None = None) -> _Node:
    node = _Node(action, parent)
    node.children = [_tree(a, node) for a in action.get("compoundActions") or []]
    return node


class _Walker:
    def __init__(self, top: list[_Node]) -> None:
        self.top = top
        self.cursor = -1
        self.next_id = 0
        self.by_id: dict[int, tuple[_Node, str]] = {}
        self.by_request: dict[str, _Node] = {}
        self.waiters: dict[str, list[_Node]] = {}
        self.buffered: dict[str, list[dict[str, Any]]] = {}
        self.allocated: list[tuple[int, _Node, str, int]] = []

    def _alloc(self, node: _Node, role: str) -> int:
        i = self.next_id
        self.next_id += 1
        self.by_id[i] = (node, role)
        self.allocated.append((i, node, role, node.attempts))
        return i

    def start(self, node: _Node) -> None:
        t = node.type
        if t in _ATOMIC:
            self._alloc(node, "task")
            if t == SIGNAL_ENTITY or (t == CREATE_TIMER and node.action.get("isCanceled")):
                self.finish(node)
        elif t in (CALL_ACTIVITY_RETRY, CALL_SUB_RETRY):
            node.attempts = 1
            self._alloc(node, "attempt")
        elif t == WAIT_EVENT:
            name = str(node.action.get("externalEventName", "")).lower()
            early = self.buffered.get(name)
            if early:
                for holder in early:
                    holder["consumed"] = True
                self.finish(node)  # the SDK re-delivers buffered events to every wait
            else:
                self.waiters.setdefault(name, []).append(node)
        elif t in (WHEN_ALL, WHEN_ANY):
            for child in node.children:
                self.start(child)
            if not node.children:
                self.finish(node)
        else:  # ContinueAsNew, ScheduledSignal, unknown: nothing to wait for
            self.finish(node)

    def finish(self, node: _Node, failed: bool = False) -> None:
        if node.done:
            return
        node.done, node.failed = True, failed
        parent = node.parent
        if parent is None or parent.done:
            return
        if parent.type == WHEN_ANY or failed:
            self.finish(parent, failed and parent.type == WHEN_ALL)
        elif all(c.done for c in parent.children):
            self.finish(parent)

    def advance(self) -> None:
        while self.cursor < len(self.top) - 1 and (self.cursor < 0 or self.top[self.cursor].done):
            self.cursor += 1
            self.start(self.top[self.cursor])

    def apply(self, ev: Event, holder: dict[str, Any]) -> None:
        kind = ev.get("EventType")
        if kind in (EventType.TaskCompleted, EventType.SubOrchestrationInstanceCompleted):
            self._complete(ev.get("TaskScheduledId"), ok=True)
        elif kind in (EventType.TaskFailed, EventType.SubOrchestrationInstanceFailed):
            self._complete(ev.get("TaskScheduledId"), ok=False)
        elif kind == EventType.TimerFired:
            self._timer(ev.get("TimerId"))
        elif kind == EventType.EventSent:
            entry = self.by_id.get(ev.get("EventId", -1))
            if entry and entry[0].type == CALL_ENTITY:
                try:
                    request_id = json.loads(ev.get("Input") or "{}").get("id")
                except ValueError:
                    request_id = None
                if request_id:
                    self.by_request[str(request_id)] = entry[0]
        elif kind == EventType.EventRaised:
            name = str(ev.get("Name", ""))
            node = self.by_request.pop(name, None)
            if node is not None:
                payload = _loads(ev.get("Input"))
                holder["consumed"] = True
                self.finish(node, isinstance(payload, dict) and "exceptionType" in payload)
                return
            waiting = self.waiters.get(name.lower())
            if waiting:
                holder["consumed"] = True
                self.finish(waiting.pop())
            else:
                self.buffered.setdefault(name.lower(), []).append(holder)

    def _complete(self, task_id: Any, ok: bool) -> None:
        entry = self.by_id.get(task_id) if isinstance(task_id, int) else None
        if entry is None:
            return
        node, role = entry
        if role == "task":
            self.finish(node, failed=not ok)
        elif role == "attempt":
            if ok:
                self.finish(node)
            else:
                self._alloc(node, "retry_timer")

    def _timer(self, timer_id: Any) -> None:
        entry = self.by_id.get(timer_id) if isinstance(timer_id, int) else None
        if entry is None:
            return
        node, role = entry
        if role == "task":
            self.finish(node)
        elif role == "retry_timer":
            max_attempts = int(
                (node.action.get("retryOptions") or {}).get("maxNumberOfAttempts", 1)
            )
            if node.attempts < max_attempts:
                node.attempts += 1
                self._alloc(node, "attempt")
            else:
                self.finish(node, failed=True)


def _loads(text: Any) -> Any:
    try:
        return json.loads(text) if isinstance(text, str) else text
    except ValueError:
        return text


def _kind(node: _Node, role: str) -> str:
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


def simulate(actions: list[Any], history: list[Event]) -> Simulation:
    """Walk `actions` over `history`; return the work with no scheduling event yet."""
    walker = _Walker([_tree(a) for a in top_level(actions)])
    walker.advance()
    holders: list[dict[str, Any]] = []
    for ev in history:
        holder: dict[str, Any] = {"event": ev, "consumed": False}
        if ev.get("EventType") == EventType.EventRaised:
            holders.append(holder)
        walker.apply(ev, holder)
        walker.advance()
    scheduled = {
        ev.get("EventId") for ev in history if ev.get("EventType") in {int(s) for s in SCHEDULING}
    }
    result = Simulation()
    for task_id, node, role, attempt in walker.allocated:
        if task_id not in scheduled:
            result.new_work.append(Work(task_id, _kind(node, role), node.action, attempt))
    result.unconsumed_events = [h["event"] for h in holders if not h["consumed"]]
    return result
