"""Rewind as the Azure Storage backend does it (DurableTask.AzureStorage 52170329,
`AzureTableTrackingStore.RewindHistoryAsync` and `RewindTaskOrchestrationAsync`)."""

from __future__ import annotations

from devhost.history import Event, EventType
from devhost.rows import Instance
from devhost.store import Store


class NotRewindable(RuntimeError):
    """Rewind of a running instance, or on a backend without rewind (HTTP 500 on Azure)."""

    def __init__(self, message: str, exception_type: str) -> None:
        super().__init__(message)
        self.exception_type = exception_type


def rewind_instance(store: Store, inst: Instance, now: float) -> tuple[list[str], list[str]]:
    """Inside a transaction: clear the failures, rewind each failed sub-orchestration the
    same way, status Pending. Returns the instances touched and the leaves (failed instances
    without failed children), which alone get the message that revives them."""
    history, children = rewound(store.history(inst.id))
    store.replace_history(inst.id, history)
    inst.status, inst.output, inst.updated = "Pending", None, now
    store.put_instance(inst)
    touched, leaves = [inst.id], []
    for child_id in children:
        child = store.instance(child_id)
        if child is None:  # purged: Azure's query finds no history and throws
            raise NotRewindable(
                f"The failed sub-orchestration '{child_id}' has no history to rewind.",
                "System.InvalidOperationException",
            )
        more, deeper = rewind_instance(store, child, now)
        touched += more
        leaves += deeper
    if not children:
        leaves.append(inst.id)
    return touched, leaves


def rewound(history: list[Event]) -> tuple[list[Event], list[str]]:
    """The history with its failures cleared, and the failed sub-orchestrations to rewind.

    Every TaskFailed (handled ones too) and its TaskScheduled, every
    SubOrchestrationInstanceFailed and the Failed ExecutionCompleted become GenericEvents,
    which replay skips, so the SDK schedules those tasks again. A failed sub-orchestration's
    SubOrchestrationInstanceCreated stays: the child is rewound in place and its completion
    answers the same task.
    """
    failed_tasks = {
        e.get("TaskScheduledId") for e in history if e.get("EventType") == EventType.TaskFailed
    }
    failed_children = {
        e.get("TaskScheduledId")
        for e in history
        if e.get("EventType") == EventType.SubOrchestrationInstanceFailed
    }
    cleared = {EventType.TaskFailed, EventType.SubOrchestrationInstanceFailed}
    result: list[Event] = []
    children: list[str] = []
    for e in history:
        kind = e.get("EventType")
        created = kind == EventType.SubOrchestrationInstanceCreated
        if created and e.get("EventId") in failed_children:
            children.append(str(e.get("InstanceId")))
        if (
            kind in cleared
            or (kind == EventType.TaskScheduled and e.get("EventId") in failed_tasks)
            or (kind == EventType.ExecutionCompleted and e.get("OrchestrationStatus") == "Failed")
        ):
            name = EventType(kind).name
            e = {**e, "EventType": int(EventType.GenericEvent), "Reason": f"Rewound: {name}"}
        result.append(e)
    return result, children
