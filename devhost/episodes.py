"""Orchestration episodes (the extension's `OutOfProcMiddleware` and
`OutOfProcOrchestrationShim`): an instance's visible inbox messages, the orchestrator
replayed in a worker with the full history, and the reply applied in ONE transaction.

The transaction holds the history append, the consumed messages, outgoing messages
(activities, timers, sub-orchestrations, parent notifications, entity messages) and the
status; episodes that finish in the same turn of the event loop share it (`group_commit`),
and what an episode starts, it starts after the COMMIT. A crash before the commit loses
nothing (the messages are still in the inbox); a crash after it cannot run the episode twice.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import Any

from devhost import outcomes, replay
from devhost.actions import Outbox, schedule_work
from devhost.history import Event, EventType, event
from devhost.limits import PayloadTooLarge, check_custom_status, check_message
from devhost.orchestrator_actions import CONTINUE_AS_NEW, top_level
from devhost.parts import HostComponent, HostParts
from devhost.rows import TERMINAL, Instance

log = logging.getLogger("devhost")


class Episodes(HostComponent):
    """`run(iid)` is one episode; `commit` starts what it queued, `again` asks for one more
    episode of the same instance after this one, `changed` tells status watchers."""

    def __init__(
        self,
        parts: HostParts,
        *,
        changed: Callable[[str], None],
        commit: Callable[[Outbox], None],
        again: Callable[[str], None],
    ) -> None:
        super().__init__(parts)
        self._changed = changed
        self._commit = commit
        self._again = again

    async def run(self, iid: str) -> None:
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
            self._terminate(inst, reason)
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
            self._again(iid)  # resumed in this batch: deliver what was held next
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
        started = time.perf_counter()
        new_json = _compact(new_events)[1:-1]  # encoded once: for the worker and the store
        reply = await self._replay(inst, new_json)
        self.stats.episodes += 1
        replayed = time.perf_counter()
        self.stats.replay_seconds += replayed - started
        ms = (replayed - started) * 1000
        out = Outbox()

        def write() -> str | None:
            # re-read: a purge may have happened while the worker ran
            current = store.instance(iid)
            if current is None or current.execution_id != inst.execution_id:
                return None
            store.delete_messages(consumed)
            outcome = self._apply_reply(inst, reply, history + new_events, now, status, out)
            if not out.new_execution:
                more = _compact(out.history)[1:-1]
                text = f"[{new_json},{more}]" if more else f"[{new_json}]"
                store.append_history(iid, new_events + out.history, text)
            return outcome

        outcome = await self.commits.submit(write)  # shares the turn's transaction
        if outcome is None:
            return
        log.info("%s (%s) %s %.1fms", inst.name, iid, outcome, ms)
        self._changed(iid)
        self._commit(out)

    async def _replay(self, inst: Instance, new_json: str) -> dict[str, Any]:
        """The orchestrator function's reply to its history and the episode's new events
        (the context as `OrchestrationContextToString` builds it)."""
        fn = self.index.orchestrators.get(inst.name.lower())
        if fn is None:
            return {
                "ok": False,
                "error": f"The function '{inst.name}' doesn't exist, is disabled, "
                "or is not an orchestrator function.",
                "state": None,
            }
        rest = {
            # GetInputAsJson: the stored input as a JSON value (a list stays a list)
            "input": None if inst.input_status is None else json.loads(inst.input_status),
            "instanceId": inst.id,
            "isReplaying": False,
            "parentInstanceId": inst.parent_id,
            "upperSchemaVersion": 1,
            "upperSchemaVersionNew": 2,
        }
        # the stored history's JSON is kept, so only this episode's events are encoded here
        items = [self.store.history_json(inst.id), new_json]
        history = ",".join(item for item in items if item)
        context = '{"history":[' + history + "]," + _compact(rest)[1:]
        return await self.pool.call("orchestrate", name=fn.name, context=context)

    def _apply_reply(
        self,
        inst: Instance,
        reply: dict[str, Any],
        history: list[Event],
        now: float,
        status: str,
        out: Outbox,
    ) -> str:
        store = self.store
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
            return outcomes.fail(store, inst, message, now, out, error)
        error = (state or {}).get("error") or (None if reply["ok"] else reply.get("error"))
        actions = (state or {}).get("actions") or [[]]
        flat = top_level(actions)
        can = next((a for a in flat if a.get("actionType") == CONTINUE_AS_NEW), None)
        sdk_done = bool(error) or bool((state or {}).get("isDone"))
        sim = replay.simulate(actions, history, self._replay_context(inst), sdk_done=sdk_done)
        if sim.nondeterminism is not None:  # DTFx fails at once and schedules nothing
            message = f"Non-Deterministic workflow detected: {sim.nondeterminism}"
            outcomes.fail(store, inst, message, now, out, message)
            return "Failed (non-deterministic)"
        try:
            for work in sim.new_work:
                check_message(work.action.get("input"), self.options.max_message_bytes)
        except PayloadTooLarge as exc:
            message = f"Orchestrator function '{inst.name}' failed: {exc}"
            return outcomes.fail(store, inst, message, now, out, str(exc))
        # The reply's actions are carried out first, even when it carries an error (§2.5).
        for work in sim.new_work:
            schedule_work(store, inst, work, now, out)
        if sim.failure is not None and not error:
            error = sim.failure  # the host threw while carrying out an action
        if (error or state is None or state.get("isDone")) and sim.finished:
            self._set_waiting(inst, None)
            if error or state is None:
                message = f"Orchestrator function '{inst.name}' failed: {error}"
                return outcomes.fail(store, inst, message, now, out, error)
            if can is not None:
                outcomes.continue_as_new(store, inst, can.get("input"), sim.carry_over, now, out)
                return "ContinuedAsNew"
            outcomes.complete(store, inst, "Completed", json.dumps(state.get("output")), now, out)
            return "Completed"
        inst.status = status if status != "Pending" else "Running"
        store.put_instance(inst)
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

    def _terminate(self, inst: Instance, reason: Any) -> None:
        now = max(self.clock.now(), inst.updated)
        out = Outbox()
        with self.store.tx():
            outcomes.terminate(self.store, inst, reason, now, out)
        log.info("%s (%s) %s", inst.name, inst.id, "Terminated")
        self._changed(inst.id)
        self._commit(out)


def _compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))
