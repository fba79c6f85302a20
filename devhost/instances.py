"""Instance operations from clients (the extension's `DurableClient` over the task hub):
start, raise, terminate, suspend, resume, rewind, purge, with the real host's refusals.

Also how an instance comes to be (`new_instance`, `create`), which sub-orchestration starts
and continue-as-new share.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable

from devhost.history import Event, EventType, event
from devhost.parts import HostComponent, HostParts
from devhost.rewind import NotRewindable, rewind_instance
from devhost.rows import ACTIVE, TERMINAL, Instance
from devhost.store import Store


class NotFound(LookupError):
    """No such instance."""


class Gone(RuntimeError):
    """The instance is in a state that does not accept the operation (HTTP 410)."""


class Conflict(RuntimeError):
    """An instance with that id is still running (HTTP 500 as in the real host)."""


class BadRequest(ValueError):
    """Unknown function, bad instance id (HTTP 400)."""


def validate_instance_id(instance_id: str) -> None:
    if (
        not instance_id
        or len(instance_id) > 256
        or instance_id.startswith("@")
        or any(c in instance_id for c in "/\\#?")
        or any(ord(c) < 32 for c in instance_id)
    ):
        raise BadRequest(f"Instance ID '{instance_id}' is invalid.")


def new_instance(iid: str, name: str, input_text: str | None, now: float) -> Instance:
    return Instance(
        id=iid,
        name=name,
        execution_id=uuid.uuid4().hex,
        status="Pending",
        input=input_text,
        input_status=json.dumps(input_text),
        output=None,
        custom_status=None,
        created=now,
        updated=now,
        parent_id=None,
        parent_execution=None,
        parent_task_id=None,
    )


def started_event(inst: Instance, now: float) -> Event:
    return event(
        EventType.ExecutionStarted,
        now,
        Name=inst.name,
        Version="",
        Input=inst.input,
        OrchestrationInstance={"InstanceId": inst.id, "ExecutionId": inst.execution_id},
        ParentInstance=(
            {"OrchestrationInstance": {"InstanceId": inst.parent_id}} if inst.parent_id else None
        ),
    )


def create(store: Store, inst: Instance, now: float) -> None:
    """Inside a transaction: replace any old instance with this id and queue its start."""
    if store.instance(inst.id) is not None:
        store.delete_instance(inst.id)
    store.put_instance(inst)
    store.add_message(inst.id, started_event(inst, now), inst.execution_id)


class Instances(HostComponent):
    """What the HTTP API and the SDK client ask of instances; `changed` tells status
    watchers, `schedule` runs an episode, `add_timer` wakes an instance later."""

    def __init__(
        self,
        parts: HostParts,
        *,
        changed: Callable[[str], None],
        schedule: Callable[[str], None],
        add_timer: Callable[[float, str], None],
    ) -> None:
        super().__init__(parts)
        self._changed = changed
        self._schedule = schedule
        self._add_timer = add_timer

    def start_new(
        self,
        name: str,
        instance_id: str | None,
        input_text: str | None,
        input_status: str | None,
    ) -> str:
        fn = self.index.orchestrators.get(name.lower())
        if fn is None:
            raise BadRequest(
                f"The function '{name}' doesn't exist, is disabled, or is not an "
                "orchestrator function. Additional info: No orchestrator functions "
                "are currently registered!"
            )
        iid = instance_id or uuid.uuid4().hex
        validate_instance_id(iid)
        existing = self.store.instance(iid)
        if existing is not None and existing.status in ACTIVE:
            raise Conflict(
                f"An Orchestration instance with the status {existing.status} already exists."
            )
        now = self.clock.now()
        inst = new_instance(iid, fn.name, input_text, now)
        inst.input_status = input_status
        with self.store.tx():
            create(self.store, inst, now)
        self._changed(iid)
        self._schedule(iid)
        return iid

    def _require(self, iid: str) -> Instance:
        inst = self.store.instance(iid)
        if inst is None:
            raise NotFound(iid)
        return inst

    def _post(self, iid: str, ev: Event) -> None:
        with self.store.tx():
            self.store.add_message(iid, ev)
        self._schedule(iid)

    def raise_event(self, iid: str, name: str, body_text: str | None) -> None:
        inst = self._require(iid)
        if inst.status in TERMINAL:
            raise Gone(f"instance '{iid}' is {inst.status}")
        self._post(iid, event(EventType.EventRaised, self.clock.now(), Name=name, Input=body_text))

    def terminate(self, iid: str, reason: str | None) -> None:
        """Accepted now, delivered after `DEVHOST_TERMINATE_DELAY_SECONDS` (default at once)."""
        inst = self._require(iid)
        if inst.status in TERMINAL:
            raise Gone(f"instance '{iid}' is {inst.status}")
        now = self.clock.now()
        terminated = event(EventType.ExecutionTerminated, now, Input=reason)
        delay = self.options.terminate_delay
        if delay <= 0:
            self._post(iid, terminated)
            return
        with self.store.tx():
            self.store.add_message(iid, terminated, visible_at=now + delay)
        self._add_timer(now + delay, iid)

    def suspend(self, iid: str, reason: str | None) -> None:
        inst = self._require(iid)
        if inst.status in TERMINAL:
            raise Gone(f"instance '{iid}' is {inst.status}")
        self._post(iid, event(EventType.ExecutionSuspended, self.clock.now(), Reason=reason))

    def resume(self, iid: str, reason: str | None) -> None:
        inst = self._require(iid)
        if inst.status in TERMINAL:
            raise Gone(f"instance '{iid}' is {inst.status}")
        self._post(iid, event(EventType.ExecutionResumed, self.clock.now(), Reason=reason))

    def rewind(self, iid: str, reason: str | None) -> None:
        """As HttpApiHandler + DurableClient: 410 when finished otherwise, 500 when running."""
        inst = self._require(iid)
        if inst.status in ("Completed", "Terminated", "Canceled"):
            raise Gone(f"instance '{iid}' is {inst.status}; only failed instances rewind")
        if inst.status != "Failed":
            raise NotRewindable(
                "The rewind operation is only supported on failed orchestration instances.",
                "System.InvalidOperationException",
            )
        if not self.options.rewind_supported:
            raise NotRewindable(
                "The method RewindAsync is not supported by the devhost storage provider.",
                "System.NotImplementedException",
            )
        now = self.clock.now()
        with self.store.tx():
            touched, leaves = rewind_instance(self.store, inst, now)
            for leaf in leaves:  # the deepest failed instance of each branch is revived
                self.store.add_message(leaf, event(EventType.GenericEvent, now, Data=reason))
        for touched_id in touched:
            self._changed(touched_id)
        for leaf in leaves:
            self._schedule(leaf)

    def purge(self, iids: list[str]) -> int:
        with self.store.tx():
            for iid in iids:
                self.store.delete_instance(iid)
        for iid in iids:
            self._changed(iid)
        return len(iids)
