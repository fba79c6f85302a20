"""The task hub's rows as the host handles them, and the statuses that end an instance."""

from __future__ import annotations

from dataclasses import dataclass

from devhost.history import Event

TERMINAL = frozenset({"Completed", "Failed", "Terminated", "Canceled"})
ACTIVE = frozenset({"Pending", "Running", "Suspended", "ContinuedAsNew"})


@dataclass
class Instance:
    id: str
    name: str
    execution_id: str
    status: str
    input: str | None
    input_status: str | None
    output: str | None
    custom_status: str | None
    created: float
    updated: float
    parent_id: str | None
    parent_execution: str | None
    parent_task_id: int | None

    def copy(self) -> Instance:
        """A shallow copy (every field is immutable), without `copy.copy`'s generic path."""
        twin = object.__new__(Instance)
        twin.__dict__.update(self.__dict__)
        return twin


@dataclass
class InboxRow:
    id: int
    instance_id: str
    execution_id: str | None
    visible_at: float
    event: Event


@dataclass
class EntityRow:
    id: str  # scheduler id, @name@key
    name: str
    key: str
    state: str | None  # JSON text as the SDK returned it
    last_op: float


@dataclass
class ActivityRow:
    id: int
    instance_id: str
    execution_id: str
    task_id: int
    name: str
    input: str | None
