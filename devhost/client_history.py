"""The history a status query shows (`showHistory=true`), converted as the extension does.

Mirrors `GetDurableOrchestrationStatusAsync` in the extension's `DurableClient.cs` (checked
against Azure/azure-functions-durable-extension v2/v3 `main`): the stored DTFx events are
rewritten for people, and an app that reads them must read this shape, not the stored one.

* `EventType` becomes its name; `EventId` and `IsPlayed` go everywhere.
* A finished task's `TaskScheduled` is folded into its `TaskCompleted` / `TaskFailed`
  (`FunctionName`, `ScheduledTime`, and with `showInput` its `Input`) and removed; so is a
  finished sub-orchestration's `SubOrchestrationInstanceCreated`. `TaskScheduledId` goes.
  A task still in flight keeps its `TaskScheduled` (with `Name`, not `FunctionName`).
* `OrchestratorStarted` / `OrchestratorCompleted` are dropped; `TimerFired` loses `TimerId`.
* `ExecutionStarted`: `Name` becomes `FunctionName`; `OrchestrationInstance`,
  `ParentInstance`, `Version` and `Tags` go.
* `Result` (task, sub-orchestration and execution completions) only with
  `showHistoryOutput`, then parsed as JSON where it is JSON; `Input` on every event only with
  `showInput` (left as the stored text).
"""

from __future__ import annotations

import json
from typing import Any

from devhost.history import Event, EventType

_FOLDED_INTO = {
    EventType.TaskCompleted: EventType.TaskScheduled,
    EventType.TaskFailed: EventType.TaskScheduled,
    EventType.SubOrchestrationInstanceCompleted: EventType.SubOrchestrationInstanceCreated,
    EventType.SubOrchestrationInstanceFailed: EventType.SubOrchestrationInstanceCreated,
}
_RESULT_SHOWN = {
    EventType.TaskCompleted,
    EventType.SubOrchestrationInstanceCompleted,
    EventType.ExecutionCompleted,
}
_DROPPED = {EventType.OrchestratorStarted, EventType.OrchestratorCompleted}
_STARTED_HIDDEN = ("OrchestrationInstance", "ParentInstance", "Version", "Tags")


def parse_token(text: Any) -> Any:
    """`ParseToJToken`: JSON text becomes its value; anything else stays as it is."""
    if not isinstance(text, str):
        return text
    if not text.strip():
        return ""
    try:
        return json.loads(text)
    except ValueError:
        return text  # e.g. a terminate reason


def convert(events: list[Event], *, show_input: bool, show_output: bool) -> list[Event]:
    """The stored history of one execution as `historyEvents` shows it."""
    scheduled: dict[tuple[int, int], tuple[int, Event]] = {}
    folded: set[int] = set()
    out: list[Event | None] = []
    for ev in events:
        raw = ev.get("EventType")
        try:
            kind = EventType(raw)
        except ValueError:  # not a DTFx event (devhost never stores one; keep it visible)
            out.append(dict(ev))
            continue
        if kind in _DROPPED:
            out.append(None)
            continue
        item: Event = {k: v for k, v in ev.items() if k not in ("EventId", "IsPlayed")}
        item["EventType"] = kind.name
        if kind in (EventType.TaskScheduled, EventType.SubOrchestrationInstanceCreated):
            scheduled[(kind, ev.get("EventId", -1))] = (len(out), ev)
            item.pop("Version", None)
        elif kind in _FOLDED_INTO:
            source = scheduled.get((_FOLDED_INTO[kind], ev.get("TaskScheduledId", -1)))
            if source is not None:
                index, origin = source
                item["ScheduledTime"] = origin.get("Timestamp")
                item["FunctionName"] = origin.get("Name")
                if show_input:
                    item["Input"] = origin.get("Input")
                folded.add(index)
            item.pop("TaskScheduledId", None)
        elif kind == EventType.ExecutionStarted:
            item["FunctionName"] = item.pop("Name", None)
            for key in _STARTED_HIDDEN:
                item.pop(key, None)
        elif kind == EventType.TimerFired:
            item.pop("TimerId", None)
        if kind in _RESULT_SHOWN:
            if show_output:
                item["Result"] = parse_token(item.get("Result"))
            else:
                item.pop("Result", None)
        if not show_input:
            item.pop("Input", None)
        out.append(item)
    return [item for i, item in enumerate(out) if item is not None and i not in folded]
