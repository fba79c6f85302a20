"""Activity dispatch (the extension's `TaskActivityShim`): run each queued activity in a
worker and deliver its result to the orchestration's inbox.

Activities run at least once: the queue row is deleted in the same transaction that
delivers the result, so a crash before that runs the activity again on the next start.
Results that finish in the same turn of the event loop share one transaction with that
turn's episodes (`group_commit`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

from devhost import failures, http_activity
from devhost.history import Event, EventType, event
from devhost.limits import PayloadTooLarge, check_message
from devhost.parts import HostComponent, HostParts
from devhost.rows import ActivityRow
from devhost.workers import WorkerError

log = logging.getLogger("devhost")


class Activities(HostComponent):
    def __init__(
        self,
        parts: HostParts,
        *,
        limit: int,
        spawn: Callable[[Any], None],
        schedule: Callable[[str], None],
    ) -> None:
        super().__init__(parts)
        self._slots = asyncio.Semaphore(limit)
        self._spawn = spawn
        self._schedule = schedule  # the orchestration an activity answered runs next
        self.in_flight = 0
        self._http = http_activity.HttpActivity()  # call_http runs in the host, not a worker
        # The durable client binding JSON, for activities that take a `durable_client_input`
        # (e.g. to start an orchestration that must not be a child); set by the server.
        self.client_json: str | None = None

    def queue(self, row: ActivityRow) -> None:
        self.in_flight += 1  # counted now, so time skipping never sees a gap
        self._spawn(self._run(row, time.perf_counter()))

    async def close(self) -> None:
        await self._http.close()

    async def _run(self, row: ActivityRow, queued: float) -> None:
        try:  # counted in flight until its result is committed, or it is queued again
            result = await self._run_once(row, queued)
            if result is not None and await self.commits.submit(lambda: self._deliver(row, result)):
                self._schedule(row.instance_id)  # after the COMMIT: the result is durable
        finally:
            self.in_flight -= 1

    def _deliver(self, row: ActivityRow, result: Event) -> bool:
        """The result, in the transaction that deletes its queue row (at least once)."""
        if not self.store.delete_activity(row.id):
            return False  # the instance was terminated or purged meanwhile
        self.store.add_message(row.instance_id, result, row.execution_id)
        return True

    def _client_for(self, activity: str) -> str | None:
        fn = self.index.activities.get(activity.lower())
        return self.client_json if fn is not None and fn.binding("durableClient") else None

    async def _run_once(self, row: ActivityRow, queued: float) -> Event | None:
        """The result message, or None when the worker died and the row was queued again."""
        async with self._slots:
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
                self.queue(row)
                return None
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
        log.info(
            "%s (%s) %s %.1fms", row.name, row.instance_id, "ok" if reply["ok"] else "failed", ms
        )
        return result

    async def _call_http(self, request: str | None) -> dict[str, Any]:
        try:
            return {"ok": True, "result": await self._http.run(request)}
        except http_activity.HttpActivityError as exc:
            return {"ok": False, "error": str(exc)}
