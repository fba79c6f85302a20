"""Carry out an orchestrator reply's actions in order, as the real host does.

The extension's `OutOfProcOrchestrationShim` replays the SDK's cumulative action list through
DTFx: for each top-level action it calls the matching context API and awaits the task before
it looks at the next one; DTFx allocates an id each time something is scheduled and inserts
the retry timers and re-attempts itself. This module walks the actions over the history the
same way (durable-protocol.md §2.5), so every TaskScheduledId / TimerId devhost writes matches
the SDK's own numbering, and devhost waits exactly where the real host waits:

* `Task.WhenAll` waits for every child, even after one failed (Python's fails fast);
* one buffered external event is consumed per wait (the SDK re-delivers an early event to
  every later wait, the host does not);
* after continue-as-new, only events processed after that point carry over;
* a call to a function that does not exist, or a sub-orchestration with the parent's own id,
  throws inside the host before an id is allocated: the SDK's task never completes and the
  ids after it shift; a signal to an entity that does not exist fails the orchestration;
* each past scheduling event must match the replayed action with that id (type and name),
  or DTFx fails the instance with `NonDeterministicOrchestrationException`;
* the orchestration completes, fails or continues as new only when every action has been
  carried out and no scheduled task (activity, timer, sub-orchestration) is still open.

Checked against azure-functions-durable-extension 2.13.x and DurableTask.Core 2.17.1.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from devhost.history import SCHEDULING, Event, EventType
from devhost.orchestrator_actions import (
    ACTION_NAMES,
    ATOMIC,
    CALL_ACTIVITY,
    CALL_ACTIVITY_RETRY,
    CALL_ENTITY,
    CALL_SUB,
    CALL_SUB_RETRY,
    CONTINUE_AS_NEW,
    CREATE_TIMER,
    OPEN,
    RETRY,
    SIGNAL_ENTITY,
    WAIT_EVENT,
    WHEN_ALL,
    WHEN_ANY,
    Node,
    describe,
    flatten,
    loads,
    max_attempts,
    missing,
    scheduled_as,
    top_level,
    tree,
    work_kind,
)

AS_AZURE = "(as Azure would)"
_SCHEDULING = frozenset(int(s) for s in SCHEDULING)

# (kind, name) -> does a function of that kind exist? kinds: activity, orchestrator, entity
Exists = Callable[[str, str], bool]


@dataclass
class Work:
    """Something the host must schedule now: an id and what to do with it."""

    id: int
    kind: str  # activity | suborchestration | timer | retry_timer | entity | http
    action: dict[str, Any]
    attempt: int = 1
    final: bool = False  # the retry timer after the last attempt (fires at once in DTFx)


@dataclass
class Simulation:
    """Result of walking actions over history."""

    new_work: list[Work] = field(default_factory=list)
    carry_over: list[Event] = field(default_factory=list)  # EventRaised after continue-as-new
    finished: bool = False  # every action carried out and nothing open: the outcome may apply
    failure: str | None = None  # the host itself threw while carrying out an action
    nondeterminism: str | None = None  # NonDeterministicOrchestrationException's message
    waiting: str | None = None  # why the instance waits where the SDK thinks it moved on


@dataclass
class Context:
    """What the walk needs to know about the instance and the app."""

    instance_id: str = ""
    parent_id: str | None = None
    exists: Exists = lambda kind, name: True


class _Walker:
    def __init__(self, top: list[Node], ctx: Context) -> None:
        self.top = top
        self.ctx = ctx
        self.cursor = -1
        self.next_id = 0
        self.by_id: dict[int, tuple[Node, str]] = {}
        self.unmatched: dict[int, tuple[Node, str]] = {}  # ids no scheduling event claimed yet
        self.open: set[int] = set()
        self.by_request: dict[str, Node] = {}
        self.waiters: dict[str, list[Node]] = {}  # a stack per name, as the extension keeps
        self.buffered: dict[str, deque[dict[str, Any]]] = {}
        self.allocated: list[tuple[int, Node, str, int]] = []
        self.continued = False
        self.carry: list[Event] = []
        self.failure: str | None = None
        self.nondeterminism: str | None = None

    def _alloc(self, node: Node, role: str) -> int:
        i = self.next_id
        self.next_id += 1
        self.by_id[i] = self.unmatched[i] = (node, role)
        self.allocated.append((i, node, role, node.attempts))
        if node.type in OPEN:
            self.open.add(i)
        return i

    def _lost_reason(self, node: Node) -> str | None:
        """The ArgumentException the extension throws before DTFx allocates an id."""
        t, action = node.type, node.action
        name = str(action.get("functionName") or "")
        if t in (CALL_ACTIVITY, CALL_ACTIVITY_RETRY) and not self.ctx.exists("activity", name):
            return missing("activity", name)
        if t in (CALL_SUB, CALL_SUB_RETRY):
            if not self.ctx.exists("orchestrator", name):
                return missing("orchestrator", name)
            child = action.get("instanceId")
            if child and child.lower() in {
                i.lower() for i in (self.ctx.instance_id, self.ctx.parent_id) if i
            }:
                return (
                    "The instance ID of a sub-orchestration must be different than the "
                    "instance ID of a parent orchestration."
                )
            if child and child.startswith("@"):
                return "Orchestration instance ids must not start with @"
        if t == CALL_ENTITY:
            entity = str(action.get("instanceId") or "@@")[1:].partition("@")[0]
            if not self.ctx.exists("entity", entity):
                return missing("entity", entity)
        return None

    def start(self, node: Node) -> None:
        t = node.type
        if self.failure is not None:
            return
        lost = self._lost_reason(node)
        if lost is not None:  # the task faults inside the host; the SDK's never completes
            node.lost = lost
            self.finish(node, failed=True)
            return
        if t == SIGNAL_ENTITY:
            entity = str(node.action.get("instanceId") or "@@")[1:].partition("@")[0]
            if not self.ctx.exists("entity", entity):
                self.failure = missing("entity", entity)  # thrown synchronously: fails
                return
        if t in ATOMIC:
            i = self._alloc(node, "task")
            if t == SIGNAL_ENTITY or (t == CREATE_TIMER and node.action.get("isCanceled")):
                self.open.discard(i)  # a cancelled timer is removed from DTFx's open tasks
                self.finish(node)
        elif t in RETRY:
            node.attempts = 1
            self._alloc(node, "attempt")
        elif t == WAIT_EVENT:
            name = str(node.action.get("externalEventName", "")).lower()
            early = self.buffered.get(name)
            if early:  # one buffered event per wait (Queue.Dequeue in the extension)
                early.popleft()["consumed"] = True
                self.finish(node)
            else:
                self.waiters.setdefault(name, []).append(node)
        elif t in (WHEN_ALL, WHEN_ANY):
            for child in node.children:
                self.start(child)
            if not node.children:
                self.finish(node)
        elif t == CONTINUE_AS_NEW:
            self.continued = True
            self.finish(node)
        else:  # ScheduledSignal (the SDK never emits it), unknown: nothing to wait for
            self.finish(node)

    def finish(self, node: Node, failed: bool = False) -> None:
        if node.done:
            return
        node.done, node.failed = True, failed
        parent = node.parent
        if parent is None or parent.done:
            return
        if parent.type == WHEN_ANY:  # Task.WhenAny completes with the first, even a fault
            self.finish(parent)
        elif all(c.done for c in parent.children):  # Task.WhenAll waits for every child
            self.finish(parent, any(c.failed for c in parent.children))

    def advance(self) -> None:
        while (
            self.failure is None
            and self.cursor < len(self.top) - 1
            and (self.cursor < 0 or self.top[self.cursor].done)
        ):
            self.cursor += 1
            self.start(self.top[self.cursor])

    @property
    def all_done(self) -> bool:
        return self.cursor == len(self.top) - 1 and (not self.top or self.top[-1].done)

    def apply(self, ev: Event, holder: dict[str, Any]) -> None:
        kind = ev.get("EventType")
        if kind in _SCHEDULING:
            self._check_deterministic(ev)
        if kind in (EventType.TaskCompleted, EventType.SubOrchestrationInstanceCompleted):
            self._complete(ev.get("TaskScheduledId"), ok=True)
        elif kind in (EventType.TaskFailed, EventType.SubOrchestrationInstanceFailed):
            self._complete(ev.get("TaskScheduledId"), ok=False)
        elif kind == EventType.TimerFired:
            self._timer(ev.get("TimerId"))
        elif kind == EventType.SubOrchestrationInstanceCreated and ev.get("DevhostDropped"):
            entry = self.by_id.get(ev.get("EventId", -1))
            if entry:  # the start was dropped: the task stays open for ever
                entry[0].lost = str(ev["DevhostDropped"])
        elif kind == EventType.EventSent:
            entry = self.by_id.get(ev.get("EventId", -1))
            if entry and entry[0].type == CALL_ENTITY:
                request_id = (loads(ev.get("Input")) or {}).get("id")
                if request_id:
                    self.by_request[str(request_id)] = entry[0]
        elif kind == EventType.EventRaised:
            holder["consumed"] = True
            if self.continued:  # DTFx keeps it for the next execution
                self.carry.append(ev)
                return
            name = str(ev.get("Name", ""))
            node = self.by_request.pop(name, None)
            if node is not None:
                payload = loads(ev.get("Input"))
                self.finish(node, isinstance(payload, dict) and "exceptionType" in payload)
                return
            waiting = self.waiters.get(name.lower())
            if waiting:
                self.finish(waiting.pop())
            else:
                holder["consumed"] = False
                self.buffered.setdefault(name.lower(), deque()).append(holder)

    def _check_deterministic(self, ev: Event) -> None:
        """TaskOrchestrationContext.Handle*Event: the replay must have scheduled the same."""
        if self.nondeterminism is not None:
            return
        event_id, kind = ev.get("EventId"), ev.get("EventType")
        what = {
            EventType.TaskScheduled: "an activity task",
            EventType.TimerCreated: "a timer task",
            EventType.SubOrchestrationInstanceCreated: "a sub-orchestration task",
            EventType.EventSent: "a send event task",
        }[EventType(kind)]
        name = ev.get("Name")
        label = f"{what} with sequence ID {event_id}" + (f" named '{name}'" if name else "")
        entry = self.unmatched.pop(event_id, None) if isinstance(event_id, int) else None
        if entry is None:
            self.nondeterminism = (
                f"A previous execution of this orchestration scheduled {label}, but the current "
                "replay execution hasn't (yet?) scheduled this task. Was a change made to the "
                "orchestrator code after this instance had already started running?"
            )
            return
        node, role = entry
        produced, produced_name = scheduled_as(node, role)
        if produced != kind:
            self.nondeterminism = (
                f"A previous execution of this orchestration scheduled {label}, but the current "
                f"orchestration replay instead produced {ACTION_NAMES[produced]} with this "
                "sequence number. Was a change made to the orchestrator code after this "
                "instance had already started running?"
            )
        elif (
            produced_name is not None
            and name is not None
            and str(name).lower() != produced_name.lower()
        ):
            self.nondeterminism = (
                f"A previous execution of this orchestration scheduled {label}, but the current "
                f"orchestration replay instead scheduled one named '{produced_name}' with this "
                "sequence number. Was a change made to the orchestrator code after this "
                "instance had already started running?"
            )

    def _complete(self, task_id: Any, ok: bool) -> None:
        entry = self.by_id.get(task_id) if isinstance(task_id, int) else None
        if entry is None or task_id not in self.open:
            return  # DTFx logs a duplicate event and ignores it
        self.open.discard(task_id)
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
        if entry is None or timer_id not in self.open:
            return
        self.open.discard(timer_id)
        node, role = entry
        if role == "task":
            self.finish(node)
        elif role == "retry_timer":
            if node.attempts < max_attempts(node):
                node.attempts += 1
                self._alloc(node, "attempt")
            else:
                self.finish(node, failed=True)

    # -- why the instance waits ---------------------------------------------------------------
    def pending(self, node: Node) -> list[str]:
        """What an unfinished action still waits for, in words."""
        if node.done:
            return []
        if node.children:
            return [p for c in node.children for p in self.pending(c)]
        return [describe(node)]

    def why_waiting(self, sdk_done: bool) -> str | None:
        """Say why, when Azure's replay is behind what the SDK already decided."""
        if self.failure is not None or not self.top:
            return None
        current = flatten([self.top[self.cursor]])
        lost = [describe(n) + f": {n.lost}" for n in current if n.lost]
        if not self.all_done:
            stuck = self.top[self.cursor]
            ahead = len(self.top) - 1 - self.cursor
            failed_fan_out = [
                n for n in current if n.type == WHEN_ALL and any(c.failed for c in n.children)
            ]
            if not (ahead or sdk_done or failed_fan_out or lost):
                return None  # the SDK waits for the same thing: an ordinary wait
            parts = [f"waiting for {', '.join(self.pending(stuck)) or 'its turn'} {AS_AZURE}"]
            if failed_fan_out:
                parts.append("a task_all child failed; Task.WhenAll waits for the others")
            if ahead:
                parts.append(f"{ahead} later action(s) of the orchestrator wait behind it")
            elif sdk_done:
                parts.append("the orchestrator has finished, but its result waits")
        elif self.open and sdk_done:
            names = [describe(self.by_id[i][0]) for i in sorted(self.open)]
            parts = [
                f"waiting for {', '.join(names)} {AS_AZURE}",
                "an orchestration completes only when no scheduled task is still open",
            ]
        elif lost:
            parts = [f"waiting for ever {AS_AZURE}"]
        else:
            return None
        if lost:
            parts.append("never scheduled: " + "; ".join(lost))
        return "; ".join(parts)


def simulate(
    actions: list[Any],
    history: list[Event],
    ctx: Context | None = None,
    *,
    sdk_done: bool = False,
) -> Simulation:
    """Walk `actions` over `history`; return the work with no scheduling event yet.

    `sdk_done`: the reply finished (output, error or continue-as-new), so any action the host
    has not yet carried out, or task still open, holds that outcome back.
    """
    walker = _Walker([tree(a) for a in top_level(actions)], ctx or Context())
    walker.advance()
    for ev in history:
        holder: dict[str, Any] = {"event": ev, "consumed": False}
        walker.apply(ev, holder)
        walker.advance()
    scheduled = {ev.get("EventId") for ev in history if ev.get("EventType") in _SCHEDULING}
    result = Simulation(
        carry_over=walker.carry,
        failure=walker.failure,
        nondeterminism=walker.nondeterminism,
    )
    for task_id, node, role, attempt in walker.allocated:
        if task_id not in scheduled:
            final = role == "retry_timer" and attempt >= max_attempts(node)
            result.new_work.append(
                Work(task_id, work_kind(node, role), node.action, attempt, final)
            )
    result.finished = (walker.all_done or walker.failure is not None) and not walker.open
    result.waiting = walker.why_waiting(sdk_done)
    return result
