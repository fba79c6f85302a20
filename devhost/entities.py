"""Entity dispatch (legacy out-of-proc protocol, durable-protocol.md §3).

Messages for an entity (`@name@key`) wait in `entity_inbox` in the order they were sent;
each sender writes its messages in its own order, so taking them by row id keeps per-sender
order. One batch runs per entity at a time: the oldest messages go to the entity function
in one SDK call, and ONE transaction then stores the new state, deletes the consumed
messages and puts each call's response (an `EventRaised` named by the request id) into the
caller's inbox. A crash before the commit re-runs the whole batch; after it, nothing runs
twice.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable
from typing import Any

from devhost.history import EventType, event
from devhost.keyed_runs import KeyedRuns
from devhost.parts import HostComponent, HostParts
from devhost.replay import AS_AZURE
from devhost.rows import EntityRow

log = logging.getLogger("devhost")

MAX_BATCH = 1000  # operations per entity batch (the real host's default order of magnitude)


class EntityNotFound(LookupError):
    """No entity function with that name (HTTP 400 on signal, as the real host)."""


def scheduler_id(name: str, key: str) -> str:
    return f"@{name.lower()}@{key}"


def split_id(entity_id: str) -> tuple[str, str]:
    """`@name@key` -> (name, key); the key may itself contain `@`."""
    if not entity_id.startswith("@") or "@" not in entity_id[1:]:
        raise ValueError(f"'{entity_id}' is not an entity id (@name@key)")
    name, _, key = entity_id[1:].partition("@")
    return name, key


def client_input(body: bytes, content_type: str) -> str | None:
    """RequestMessage.Input for a signal over HTTP, as the host builds it (§3.4).

    JSON bodies are re-serialised as they are (the SDK client's double-encoded string stays a
    JSON string literal); other content types become a JSON string of the raw text.
    """
    if not body:
        return None
    text = body.decode()
    if content_type == "application/json":
        return json.dumps(json.loads(text))  # ValueError: the caller answers 400
    return json.dumps(text)


class EntityDispatcher(HostComponent):
    """Runs entity batches; `deliver` wakes orchestrations that receive call responses."""

    def __init__(
        self,
        parts: HostParts,
        *,
        spawn: Callable[[Any], None],
        deliver: Callable[[set[str]], None],
    ) -> None:
        super().__init__(parts)
        self._deliver = deliver
        self.reorder_client_signals = parts.options.reorder_client_signals
        self._batches = KeyedRuns(self._drain, spawn=spawn, limit=64, what="entity batch")
        self.operations = 0
        self.batches = 0
        self.failed_batches = 0

    def start(self) -> None:
        for target in self.store.entity_targets():
            self.schedule(target)

    @property
    def running(self) -> set[str]:
        return self._batches.running

    def stop(self) -> None:
        self._batches.stopping = True

    def schedule(self, target: str) -> None:
        """Run `target`'s queued operations soon (once more if a batch is in progress)."""
        self._batches.request(target)

    async def _drain(self, target: str) -> None:
        while await self._batch(target):
            pass

    # -- client side (HTTP API / RPC) ------------------------------------------------------
    def signal(self, name: str, key: str, operation: str, input_text: str | None) -> None:
        if name.lower() not in self.index.entities:
            raise EntityNotFound(
                f"The function '{name}' doesn't exist, is disabled, or is not an entity function."
            )
        target = scheduler_id(name, key)
        message = {"op": operation, "signal": True, "id": _request_id(), "input": input_text}
        with self.store.tx():
            self.store.add_entity_message(target, message)
        self.schedule(target)

    # -- one batch ------------------------------------------------------------------------
    async def _batch(self, target: str) -> bool:
        """Run the oldest messages of `target`; False when its inbox is empty."""
        store = self.store
        rows = store.entity_messages(target, MAX_BATCH)
        if not rows:
            return False
        if self.reorder_client_signals:
            rows = client_signals_reversed(rows)
        name, key = split_id(target)
        current = store.entity(target)
        fn = self.index.entities.get(name)
        started = time.perf_counter()
        if fn is None:
            error = f"The function '{name}' doesn't exist, is disabled, or is not an entity."
            results = [{"isError": True, "result": json.dumps(error)} for _ in rows]
            exists, state = current is not None, current.state if current else None
        else:
            context = {
                "self": {"name": name, "key": key},
                "exists": current is not None,
                "state": current.state if current else None,
                "batch": [
                    {
                        "name": m.get("op"),
                        "input": m.get("input"),
                        "isSignal": bool(m.get("signal")),
                    }
                    for _, m in rows
                ],
            }
            reply = await self.pool.call(
                "entity", name=fn.name, context=json.dumps(context, separators=(",", ":"))
            )
            if not reply.get("ok"):
                # TaskEntityShim: a batch whose results or state cannot be serialised throws,
                # and the whole batch is aborted; nothing is answered, so callers wait. The
                # messages stay queued; the next message to this entity tries them again.
                log.warning(
                    "%s (%s) batch of %d operation(s) failed as a whole: %s; its callers wait "
                    "%s until a later batch succeeds",
                    fn.name,
                    target,
                    len(rows),
                    str(reply.get("error"))[:300],
                    AS_AZURE,
                )
                self.failed_batches += 1
                return False
            outcome = json.loads(reply["state"])
            results = outcome["results"]
            exists, state = bool(outcome.get("entityExists")), outcome.get("entityState")
        ms = (time.perf_counter() - started) * 1000
        now = self.clock.now()
        wake: set[str] = set()
        with store.tx():
            store.delete_entity_messages([row_id for row_id, _ in rows])
            if exists:
                store.put_entity(EntityRow(target, name, key, state, now))
            elif current is not None:
                store.delete_entity(target)
            for (_, message), result in zip(rows, results, strict=True):
                parent = message.get("parent")
                if message.get("signal") or not parent:
                    continue
                payload: dict[str, Any] = {"result": result.get("result") or "null"}
                if result.get("isError"):
                    payload["exceptionType"] = "Exception"
                response = event(
                    EventType.EventRaised, now, Name=message["id"], Input=json.dumps(payload)
                )
                store.add_message(parent, response, message.get("parentExecution"))
                wake.add(parent)
        self.operations += len(rows)
        self.batches += 1
        failed = sum(1 for r in results if r.get("isError"))
        log.info(
            "%s (%s) %d op(s)%s %.1fms",
            fn.name if fn else name,
            target,
            len(rows),
            f", {failed} failed" if failed else "",
            ms,
        )
        for (_, message), result in zip(rows, results, strict=True):
            if result.get("isError") and (message.get("signal") or not message.get("parent")):
                # a failed signal has no caller to tell: say it here, or nobody ever learns
                log.warning(
                    "%s (%s) signal %r failed: %s",
                    fn.name if fn else name,
                    target,
                    message.get("op"),
                    str(result.get("result"))[:300],
                )
        self._deliver(wake)
        return True


def client_signals_reversed(
    rows: list[tuple[int, dict[str, Any]]],
) -> list[tuple[int, dict[str, Any]]]:
    """The batch with the signals that came from clients in reverse order, the rest in place.

    On Azure only what one orchestration sends is ordered (its message sorter); signals from
    clients (HTTP API, SDK client) may reach the entity in any order. Reversing them is the
    most out of order they can be.
    """
    slots = [i for i, (_, message) in enumerate(rows) if not message.get("parent")]
    out = list(rows)
    for slot, row in zip(slots, reversed([rows[i] for i in slots]), strict=True):
        out[slot] = row
    return out


def _request_id() -> str:
    return str(uuid.uuid4())
