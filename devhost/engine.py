"""Orchestration and activity dispatch over the task hub.

An episode takes an instance's visible inbox messages, replays the orchestrator in a worker
with the full history, and commits in ONE transaction: the history append, the consumed
messages, outgoing messages (activities, timers, sub-orchestrations, parent notifications,
entity messages) and the status. A crash before the commit loses nothing (the messages are
still in the inbox); a crash after it cannot run the episode twice. Activities run at least
once: their queue row is deleted in the same transaction that delivers the result.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import json
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from devhost import failures, http_activity, replay
from devhost.clock import Clock
from devhost.entities import EntityDispatcher
from devhost.history import Event, EventType, event, iso, parse_iso
from devhost.index import FunctionIndex
from devhost.keyed_runs import KeyedRuns
from devhost.limits import PayloadTooLarge, check_custom_status, check_message
from devhost.options import HostOptions
from devhost.store import ACTIVE, TERMINAL, ActivityRow, Instance, Store
from devhost.workers import WorkerError, WorkerPool

log = logging.getLogger("devhost")

_NAMESPACE = uuid.UUID("9e952958-5e33-4daf-827f-2fa12937b875")


class NotFound(LookupError):
    """No such instance."""


class Gone(RuntimeError):
    """The instance is in a state that does not accept the operation (HTTP 410)."""


class Conflict(RuntimeError):
    """An instance with that id is still running (HTTP 500 as in the real host)."""


class BadRequest(ValueError):
    """Unknown function, bad instance id (HTTP 400)."""


class NotRewindable(RuntimeError):
    """Rewind of a running instance, or on a backend without rewind (HTTP 500 on Azure)."""

    def __init__(self, message: str, exception_type: str) -> None:
        super().__init__(message)
        self.exception_type = exception_type


@dataclass
class _Outbox:
    """What an episode decided, applied to the store inside its transaction."""

    history: list[Event] = field(default_factory=list)
    activities: list[ActivityRow] = field(default_factory=list)
    wake: set[str] = field(default_factory=set)
    timers: list[tuple[float, str]] = field(default_factory=list)
    entities: set[str] = field(default_factory=set)
    new_execution: bool = False
    dropped: list[str] = field(default_factory=list)  # sub-orchestration starts Azure drops


@dataclass
class Stats:
    """Counters for the benchmark: activity dispatch latency is queue -> worker start."""

    episodes: int = 0
    activities: int = 0
    replay_seconds: float = 0.0  # waiting on workers for orchestrator replays
    activity_seconds: float = 0.0  # waiting on workers for activities
    commit_seconds: float = 0.0  # host-side: simulation + SQLite transactions
    dispatch_latency: list[float] = field(default_factory=list)


def validate_instance_id(instance_id: str) -> None:
    if (
        not instance_id
        or len(instance_id) > 256
        or instance_id.startswith("@")
        or any(c in instance_id for c in "/\\#?")
        or any(ord(c) < 32 for c in instance_id)
    ):
        raise BadRequest(f"Instance ID '{instance_id}' is invalid.")


class Engine:
    """Owns the dispatch loops; every store write happens on the host's event loop."""

    def __init__(
        self,
        store: Store,
        pool: WorkerPool,
        index: FunctionIndex,
        clock: Clock,
        *,
        max_episodes: int = 64,
        max_activities: int = 64,
        time_skipping: bool = False,
        options: HostOptions | None = None,
    ) -> None:
        self.options = options or HostOptions()
        self.store = store
        self.pool = pool
        self.index = index
        self.clock = clock
        self.stats = Stats()
        self._activity_slots = asyncio.Semaphore(max_activities)
        self._tasks: set[asyncio.Task[Any]] = set()
        self._episodes = KeyedRuns(
            self._run_episode, spawn=self._spawn, limit=max_episodes, what="episode"
        )
        self._timers: list[tuple[float, str]] = []
        self._timer_wake = asyncio.Event()
        self._watchers: dict[str, list[asyncio.Future[None]]] = {}
        self._loop = asyncio.get_running_loop()
        self._stopping = False
        self._time_skipping = time_skipping
        self._activities_in_flight = 0
        self._http = http_activity.HttpActivity()  # call_http runs in the host, not a worker
        # The durable client binding JSON, for activities that take a `durable_client_input`
        # (e.g. to start an orchestration that must not be a child); set by the server.
        self.client_json: str | None = None
        self._busy_triggers = 0  # timer / Event Grid invocations running (time skipping)
        self.trigger_due: Callable[[], float | None] = lambda: None  # next timer trigger
        clock.on_advance(lambda: self._loop.call_soon_threadsafe(self._timer_wake.set))
        self.entities = EntityDispatcher(
            store,
            pool,
            index,
            clock,
            spawn=self._spawn,
            deliver=self._deliver,
            reorder_client_signals=self.options.reorder_client_signals,
        )

    # -- lifecycle --------------------------------------------------------------------
    def start(self) -> None:
        """Resume everything in flight: due messages, future timers, queued activities."""
        now = self.clock.now()
        for when, iid in self.store.future_messages(now):
            heapq.heappush(self._timers, (when, iid))
        for iid in self.store.ready_instances(now):
            self.schedule(iid)
        for row in self.store.activities():
            self._queue_activity(row)
        self.entities.start()
        self._spawn(self._timer_loop())

    async def stop(self) -> None:
        self._stopping = True
        self._episodes.stopping = True
        self.entities.stop()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._http.close()

    def spawn(self, coro: Any) -> None:
        """Run a coroutine as one of the engine's tasks (cancelled on stop)."""
        self._spawn(coro)

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- status watching ----------------------------------------------------------------
    async def wait_status(self, iid: str, statuses: set[str], timeout: float) -> Instance | None:
        """Wait until the instance is in one of `statuses` (or the timeout passes)."""
        deadline = time.monotonic() + timeout
        while True:
            inst = self.store.instance(iid)
            if inst is not None and inst.status in statuses:
                return inst
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return inst
            future: asyncio.Future[None] = self._loop.create_future()
            self._watchers.setdefault(iid, []).append(future)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(future, remaining)

    def _changed(self, iid: str) -> None:
        for future in self._watchers.pop(iid, []):
            if not future.done():
                future.set_result(None)

    # -- scheduling ---------------------------------------------------------------------
    def schedule(self, iid: str) -> None:
        """Run an episode for `iid` soon (once more if one is in progress)."""
        self._episodes.request(iid)

    async def _timer_loop(self) -> None:
        while True:
            now = self.clock.now()
            while self._timers and self._timers[0][0] <= now:
                _, iid = heapq.heappop(self._timers)
                self.schedule(iid)
            timeout = self._timers[0][0] - now if self._timers else None
            if timeout is not None and self._time_skipping:
                timeout = min(timeout, 0.02)
                target = self._timers[0][0]
                due = self.trigger_due()  # timer triggers fire on the way, in order
                if due is not None and due < target:
                    target = due if due > now else now
                if self._idle() and target > now:
                    self.clock.advance(target - now)
                    continue
            self._timer_wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._timer_wake.wait(), timeout)

    def busy(self, delta: int) -> None:
        """Timer / Event Grid invocations in progress (+1 / -1): the host is not idle."""
        self._busy_triggers += delta

    def _idle(self) -> bool:
        """Nothing running or queued: only timers can move things on (time skipping)."""
        return (
            not self._episodes.running
            and self._activities_in_flight == 0
            and not self.entities.running
            and not self._busy_triggers
        )

    def _add_timer(self, when: float, iid: str) -> None:
        heapq.heappush(self._timers, (when, iid))
        self._timer_wake.set()

    def _commit(self, out: _Outbox) -> None:
        """After a transaction: start what it queued."""
        for row in out.activities:
            self._queue_activity(row)
        for when, iid in out.timers:
            self._add_timer(when, iid)
        for iid in out.wake:
            self.schedule(iid)
        for target in out.entities:
            self.entities.schedule(target)

    def _deliver(self, wake: set[str]) -> None:
        """Entity responses were committed to these instances' inboxes."""
        for iid in wake:
            self.schedule(iid)

    # -- the episode ----------------------------------------------------------------------
    async def _run_episode(self, iid: str) -> None:
        store = self.store
        inst = store.instance(iid)
        rows = store.messages(iid, self.clock.now())
        if not rows:
            return
        if inst is None:
            with store.tx():
                store.delete_messages([r.id for r in rows])
            return
        kinds = [r.event.get("EventType") for r in rows]
        if EventType.ExecutionTerminated in kinds and inst.status not in TERMINAL:
            reason = next(
                r.event.get("Input")
                for r in rows
                if r.event["EventType"] == EventType.ExecutionTerminated
            )
            self._finish_without_replay(inst, "Terminated", reason)
            return
        if inst.status in TERMINAL:
            with store.tx():
                store.delete_messages([r.id for r in rows])
            return

        now = max(self.clock.now(), inst.updated)
        consumed: list[int] = []
        control: list[Event] = []
        new: list[Event] = []
        suspended = inst.status == "Suspended"
        held = False
        for row in rows:
            ev, kind = row.event, row.event.get("EventType")
            if kind == EventType.ExecutionSuspended:
                consumed.append(row.id)
                if not suspended:
                    suspended = True
                    control.append(ev)
            elif kind == EventType.ExecutionResumed:
                consumed.append(row.id)
                if suspended:
                    suspended = False
                    control.append(ev)
            elif suspended:
                held = True  # stays in the inbox until resume
                continue
            elif row.execution_id is not None and row.execution_id != inst.execution_id:
                consumed.append(row.id)  # late result for an earlier execution
            else:
                consumed.append(row.id)
                new.append(ev)
        if suspended:
            status = "Suspended"
        elif inst.status == "Suspended":
            status = "Running"
        else:
            status = inst.status
        if held and not suspended:
            self._episodes.again(iid)  # resumed in this batch: deliver what was held next
        if not new:
            with store.tx():
                store.delete_messages(consumed)
                if control:
                    store.append_history(
                        iid,
                        [event(EventType.OrchestratorStarted, now), *control]
                        + [event(EventType.OrchestratorCompleted, now)],
                    )
                if status != inst.status:
                    inst.status, inst.updated = status, now
                    store.put_instance(inst)
            self._changed(iid)
            return

        history = store.history(iid)
        if inst.status == "Pending" and not any(
            e.get("EventType") == EventType.ExecutionStarted for e in history + new
        ):
            return
        new_events = [event(EventType.OrchestratorStarted, now), *control, *new]
        fn = self.index.orchestrators.get(inst.name.lower())
        started = time.perf_counter()
        if fn is None:
            reply = {
                "ok": False,
                "error": f"The function '{inst.name}' doesn't exist, is disabled, "
                "or is not an orchestrator function.",
                "state": None,
            }
        else:
            context = {
                "history": history + new_events,
                # GetInputAsJson: the stored input as a JSON value (a list stays a list)
                "input": None if inst.input_status is None else json.loads(inst.input_status),
                "instanceId": iid,
                "isReplaying": False,
                "parentInstanceId": inst.parent_id,
                "upperSchemaVersion": 1,
                "upperSchemaVersionNew": 2,
            }
            reply = await self.pool.call(
                "orchestrate", name=fn.name, context=json.dumps(context, separators=(",", ":"))
            )
        self.stats.episodes += 1
        replayed = time.perf_counter()
        self.stats.replay_seconds += replayed - started
        ms = (replayed - started) * 1000
        # re-read: a purge may have happened while the worker ran
        current = store.instance(iid)
        if current is None or current.execution_id != inst.execution_id:
            return
        out = _Outbox()
        with store.tx():
            store.delete_messages(consumed)
            outcome = self._apply_reply(inst, reply, history, new_events, now, status, out)
            if not out.new_execution:
                store.append_history(iid, new_events + out.history)
        self.stats.commit_seconds += time.perf_counter() - replayed
        log.info("%s (%s) %s %.1fms", inst.name, iid, outcome, ms)
        self._changed(iid)
        self._commit(out)

    def _apply_reply(
        self,
        inst: Instance,
        reply: dict[str, Any],
        history: list[Event],
        new_events: list[Event],
        now: float,
        status: str,
        out: _Outbox,
    ) -> str:
        state: dict[str, Any] | None
        if reply["ok"]:
            state = json.loads(reply["state"])
        else:
            state = reply.get("state") if isinstance(reply.get("state"), dict) else None
        error = None
        if state and state.get("customStatus") is not None:
            try:  # the shim sets it first; too large fails the episode before any action
                inst.custom_status = check_custom_status(state["customStatus"])
            except PayloadTooLarge as exc:
                error = str(exc)
        inst.updated = now
        if error:  # custom status refused: the shim throws before carrying out any action
            message = f"Orchestrator function '{inst.name}' failed: {error}"
            self._complete(
                inst, "Failed", json.dumps(message), now, out, failure=message, error=error
            )
            return "Failed"
        error = (state or {}).get("error") or (None if reply["ok"] else reply.get("error"))
        actions = (state or {}).get("actions") or [[]]
        flat = replay.top_level(actions)
        can = next((a for a in flat if a.get("actionType") == replay.CONTINUE_AS_NEW), None)
        sdk_done = bool(error) or bool((state or {}).get("isDone"))
        sim = replay.simulate(
            actions, history + new_events, self._replay_context(inst), sdk_done=sdk_done
        )
        if sim.nondeterminism is not None:  # DTFx fails at once and schedules nothing
            message = f"Non-Deterministic workflow detected: {sim.nondeterminism}"
            self._complete(
                inst, "Failed", json.dumps(message), now, out, failure=message, error=message
            )
            return "Failed (non-deterministic)"
        try:
            for work in sim.new_work:
                check_message(work.action.get("input"), self.options.max_message_bytes)
        except PayloadTooLarge as exc:
            message = f"Orchestrator function '{inst.name}' failed: {exc}"
            self._complete(
                inst, "Failed", json.dumps(message), now, out, failure=message, error=str(exc)
            )
            return "Failed"
        # The reply's actions are carried out first, even when it carries an error (§2.5).
        for work in sim.new_work:
            self._schedule_work(inst, work, now, out)
        if sim.failure is not None and not error:
            error = sim.failure  # the host threw while carrying out an action
        if (error or state is None or state.get("isDone")) and sim.finished:
            self._set_waiting(inst, None)
            if error or state is None:
                message = f"Orchestrator function '{inst.name}' failed: {error}"
                self._complete(
                    inst, "Failed", json.dumps(message), now, out, failure=message, error=error
                )
                return "Failed"
            if can is not None:
                self._continue_as_new(inst, can.get("input"), sim.carry_over, now, out)
                return "ContinuedAsNew"
            self._complete(inst, "Completed", json.dumps(state.get("output")), now, out)
            return "Completed"
        inst.status = status if status != "Pending" else "Running"
        self.store.put_instance(inst)
        note = sim.waiting
        if out.dropped:  # started (and dropped) in this very episode: not in the walk yet
            note = f"waiting for ever {replay.AS_AZURE}; never started: " + "; ".join(out.dropped)
        self._set_waiting(inst, note)
        return "Running" if note is None else "Running, waiting as Azure would"

    def _replay_context(self, inst: Instance) -> replay.Context:
        kinds = {
            "activity": self.index.activities,
            "orchestrator": self.index.orchestrators,
            "entity": self.index.entities,
        }
        return replay.Context(
            instance_id=inst.id,
            parent_id=inst.parent_id,
            exists=lambda kind, name: name.lower() in kinds[kind],
        )

    def _set_waiting(self, inst: Instance, note: str | None) -> None:
        """Say (status `devhostWaiting`, log) why the instance waits where Azure would."""
        if note != self.store.waiting_note(inst.id):
            self.store.set_waiting_note(inst.id, note)
            if note:
                log.warning("%s (%s) %s", inst.name, inst.id, note)

    # -- outcomes -------------------------------------------------------------------------
    def _complete(
        self,
        inst: Instance,
        status: str,
        output: str,
        now: float,
        out: _Outbox,
        failure: str | None = None,
        error: str | None = None,
    ) -> None:
        inst.status, inst.output, inst.updated = status, output, now
        self.store.set_waiting_note(inst.id, None)
        self.store.put_instance(inst)
        completed: Event = event(
            EventType.ExecutionCompleted, now, OrchestrationStatus=status, Result=output
        )
        if failure is not None:
            completed["FailureDetails"] = {"ErrorMessage": failure}
        out.history.append(completed)
        out.history.append(event(EventType.OrchestratorCompleted, now))
        self._notify_parent(inst, status, output, failure, now, out, error)

    def _notify_parent(
        self,
        inst: Instance,
        status: str,
        output: str,
        failure: str | None,
        now: float,
        out: _Outbox,
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
        self.store.add_message(inst.parent_id, msg, inst.parent_execution)
        out.wake.add(inst.parent_id)

    def _finish_without_replay(self, inst: Instance, status: str, reason: Any) -> None:
        now = max(self.clock.now(), inst.updated)
        out = _Outbox()
        output = json.dumps(reason)
        with self.store.tx():
            self.store.delete_all_messages(inst.id)
            self.store.delete_activities_of(inst.id)
            inst.status, inst.output, inst.updated = status, output, now
            self.store.put_instance(inst)
            self.store.set_waiting_note(inst.id, None)
            self.store.append_history(
                inst.id,
                [
                    event(EventType.OrchestratorStarted, now),
                    event(EventType.ExecutionTerminated, now, Input=reason),
                    event(EventType.OrchestratorCompleted, now),
                ],
            )
            self._notify_parent(inst, status, output, None, now, out)
        log.info("%s (%s) %s", inst.name, inst.id, status)
        self._changed(inst.id)
        self._commit(out)

    def _continue_as_new(
        self,
        inst: Instance,
        input_text: str | None,
        carry: list[Event],
        now: float,
        out: _Outbox,
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
        self.store.put_instance(inst)
        self.store.replace_history(inst.id, [])
        out.new_execution = True  # the new execution starts with an empty history
        self.store.add_message(inst.id, self._started_event(inst, now), inst.execution_id)
        for ev in carry:
            self.store.add_message(inst.id, ev)
        out.wake.add(inst.id)

    def _started_event(self, inst: Instance, now: float) -> Event:
        return event(
            EventType.ExecutionStarted,
            now,
            Name=inst.name,
            Version="",
            Input=inst.input,
            OrchestrationInstance={"InstanceId": inst.id, "ExecutionId": inst.execution_id},
            ParentInstance=(
                {"OrchestrationInstance": {"InstanceId": inst.parent_id}}
                if inst.parent_id
                else None
            ),
        )

    # -- new work ---------------------------------------------------------------------
    def _schedule_work(self, inst: Instance, work: replay.Work, now: float, out: _Outbox) -> None:
        action, store = work.action, self.store
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
                fire_at = now + _retry_delay(action.get("retryOptions") or {}, work.attempt)
            out.history.append(event(EventType.TimerCreated, now, work.id, FireAt=iso(fire_at)))
            if not action.get("isCanceled"):
                fired = event(EventType.TimerFired, fire_at, TimerId=work.id, FireAt=iso(fire_at))
                store.add_message(inst.id, fired, inst.execution_id, fire_at)
                out.timers.append((fire_at, inst.id))
        elif work.kind == "suborchestration":
            self._start_child(inst, work, now, out)
        elif work.kind == "entity":
            self._send_entity(inst, work, now, out)
        else:  # call_http: the host's own activity, queued and durable like any other
            request = json.dumps(action.get("httpRequest"))
            name = http_activity.NAME
            out.history.append(
                event(EventType.TaskScheduled, now, work.id, Name=name, Input=request)
            )
            out.activities.append(
                store.add_activity(inst.id, inst.execution_id, work.id, name, request)
            )

    def _start_child(self, inst: Instance, work: replay.Work, now: float, out: _Outbox) -> None:
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
        existing = self.store.instance(child_id)
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
        child = self._new_instance(child_id, name, action.get("input"), now)
        child.parent_id, child.parent_execution = inst.id, inst.execution_id
        child.parent_task_id = work.id
        self._create(child, now)
        out.wake.add(child_id)

    def _send_entity(self, inst: Instance, work: replay.Work, now: float, out: _Outbox) -> None:
        action = work.action
        is_signal = action.get("actionType") == replay.SIGNAL_ENTITY
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
        self.store.add_entity_message(target, message)
        out.entities.add(target)

    # -- activities -----------------------------------------------------------------------
    def _queue_activity(self, row: ActivityRow) -> None:
        self._activities_in_flight += 1  # counted now, so time skipping never sees a gap
        self._spawn(self._run_activity(row, time.perf_counter()))

    async def _run_activity(self, row: ActivityRow, queued: float) -> None:
        try:
            await self._run_activity_once(row, queued)
        finally:
            self._activities_in_flight -= 1

    def _client_for(self, activity: str) -> str | None:
        fn = self.index.activities.get(activity.lower())
        return self.client_json if fn is not None and fn.binding("durableClient") else None

    async def _run_activity_once(self, row: ActivityRow, queued: float) -> None:
        async with self._activity_slots:
            self.stats.dispatch_latency.append(time.perf_counter() - queued)
            started = time.perf_counter()
            try:
                if row.name == http_activity.NAME:
                    reply = await self._call_http(row.input)
                else:
                    reply = await self.pool.call(
                        "activity",
                        name=row.name,
                        input=row.input,
                        client=self._client_for(row.name),
                    )
            except WorkerError:
                await asyncio.sleep(0.2)
                self._queue_activity(row)
                return
        ms = (time.perf_counter() - started) * 1000
        self.stats.activities += 1
        self.stats.activity_seconds += ms / 1000
        now = self.clock.now()
        if reply["ok"]:
            try:  # the result travels back as a message too
                check_message(reply["result"], self.options.max_message_bytes)
            except PayloadTooLarge as exc:
                reply = {"ok": False, "error": f"PayloadTooLarge: {exc}"}
        if reply["ok"]:
            result = event(
                EventType.TaskCompleted, now, TaskScheduledId=row.task_id, Result=reply["result"]
            )
        else:
            result = event(
                EventType.TaskFailed,
                now,
                TaskScheduledId=row.task_id,
                Reason=f"Activity function '{row.name}' failed: {reply['error']}",
                Details=failures.activity_details(reply["error"], reply.get("details")),
            )
        with self.store.tx():
            delivered = self.store.delete_activity(row.id)
            if delivered:
                self.store.add_message(row.instance_id, result, row.execution_id)
        log.info(
            "%s (%s) %s %.1fms", row.name, row.instance_id, "ok" if reply["ok"] else "failed", ms
        )
        if delivered:
            self.schedule(row.instance_id)

    async def _call_http(self, request: str | None) -> dict[str, Any]:
        try:
            return {"ok": True, "result": await self._http.run(request)}
        except http_activity.HttpActivityError as exc:
            return {"ok": False, "error": str(exc)}

    # -- client operations (called by the HTTP layer) -----------------------------------
    def _new_instance(self, iid: str, name: str, input_text: str | None, now: float) -> Instance:
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

    def _create(self, inst: Instance, now: float) -> None:
        """Inside a transaction: replace any old instance with this id and queue its start."""
        self.store.delete_instance(inst.id)
        self.store.put_instance(inst)
        self.store.add_message(inst.id, self._started_event(inst, now), inst.execution_id)

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
        inst = self._new_instance(iid, fn.name, input_text, now)
        inst.input_status = input_status
        with self.store.tx():
            self._create(inst, now)
        self._changed(iid)
        self.schedule(iid)
        return iid

    def _require(self, iid: str) -> Instance:
        inst = self.store.instance(iid)
        if inst is None:
            raise NotFound(iid)
        return inst

    def _post(self, iid: str, ev: Event) -> None:
        with self.store.tx():
            self.store.add_message(iid, ev)
        self.schedule(iid)

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
            touched, leaves = self._rewind_instance(inst, now)
            for leaf in leaves:  # the deepest failed instance of each branch is revived
                self.store.add_message(leaf, event(EventType.GenericEvent, now, Data=reason))
        for touched_id in touched:
            self._changed(touched_id)
        for leaf in leaves:
            self.schedule(leaf)

    def _rewind_instance(self, inst: Instance, now: float) -> tuple[list[str], list[str]]:
        """Inside a transaction, as DurableTask.AzureStorage's RewindHistoryAsync: clear the
        failures, rewind each failed sub-orchestration the same way, status Pending. Returns
        the instances touched and the leaves (failed instances without failed children)."""
        history, children = _rewound(self.store.history(inst.id))
        self.store.replace_history(inst.id, history)
        inst.status, inst.output, inst.updated = "Pending", None, now
        self.store.put_instance(inst)
        touched, leaves = [inst.id], []
        for child_id in children:
            child = self.store.instance(child_id)
            if child is None:  # purged: Azure's query finds no history and throws
                raise NotRewindable(
                    f"The failed sub-orchestration '{child_id}' has no history to rewind.",
                    "System.InvalidOperationException",
                )
            more, deeper = self._rewind_instance(child, now)
            touched += more
            leaves += deeper
        if not children:
            leaves.append(inst.id)
        return touched, leaves

    def purge(self, iids: list[str]) -> int:
        with self.store.tx():
            for iid in iids:
                self.store.delete_instance(iid)
        for iid in iids:
            self._changed(iid)
        return len(iids)


def _retry_delay(options: dict[str, Any], attempt: int) -> float:
    """DTFx RetryInterceptor: first * coefficient^(attempt-1), capped by the max interval."""
    first = float(options.get("firstRetryIntervalInMilliseconds", 1000)) / 1000
    coefficient = float(options.get("backoffCoefficient", 1))
    delay = first * coefficient ** max(0, attempt - 1)
    cap = options.get("maxRetryIntervalInMilliseconds")
    if cap:
        delay = min(delay, float(cap) / 1000)
    return delay


def _rewound(history: list[Event]) -> tuple[list[Event], list[str]]:
    """The history with its failures cleared, and the failed sub-orchestrations to rewind.

    As AzureTableTrackingStore.RewindHistoryAsync: every TaskFailed (handled ones too) and
    its TaskScheduled, every SubOrchestrationInstanceFailed and the Failed ExecutionCompleted
    become GenericEvents, which replay skips, so the SDK schedules those tasks again. A failed
    sub-orchestration's SubOrchestrationInstanceCreated stays: the child is rewound in place
    and its completion answers the same task.
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
        if (
            kind == EventType.SubOrchestrationInstanceCreated
            and e.get("EventId") in failed_children
        ):
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
