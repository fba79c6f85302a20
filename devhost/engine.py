"""The task hub's dispatch: the parts that run orchestrations, activities, entities and
timers over one store, and what joins them.

Each part has its own module, after the Durable extension's seams: `episodes` (an
orchestration episode, `OutOfProcMiddleware`), `actions` (the reply's new work,
`OutOfProcOrchestrationShim`), `outcomes` (completion, termination, continue-as-new),
`activities` (`TaskActivityShim`), `entities` (`TaskEntityShim`), `instances` (client
operations, `DurableClient`), `rewind` (the Azure Storage backend's rewind) and
`durable_timers`. Every store write happens on the host's event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from typing import Any

from devhost.actions import Outbox
from devhost.activities import Activities
from devhost.clock import Clock
from devhost.durable_timers import DurableTimers
from devhost.entities import EntityDispatcher
from devhost.episodes import Episodes
from devhost.group_commit import GroupCommit
from devhost.index import FunctionIndex
from devhost.instances import Instances
from devhost.keyed_runs import KeyedRuns
from devhost.options import HostOptions
from devhost.parts import HostParts
from devhost.rows import Instance
from devhost.stats import Stats
from devhost.store import Store
from devhost.workers import WorkerPool


class Engine:
    """Owns the dispatch loops and the status watchers."""

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
        self.clock = clock
        self.stats = Stats()
        self.commits = GroupCommit(store, self.stats)
        self.parts = HostParts(store, self.commits, pool, index, clock, self.options, self.stats)
        self._tasks: set[asyncio.Task[Any]] = set()
        self._watchers: dict[str, list[asyncio.Future[None]]] = {}
        self._loop = asyncio.get_running_loop()
        self._busy_triggers = 0  # timer / Event Grid invocations running (time skipping)
        self.episodes = Episodes(
            self.parts,
            changed=self._changed,
            commit=self._commit,
            again=lambda iid: self._episodes.again(iid),
        )
        self._episodes = KeyedRuns(
            self.episodes.run, spawn=self._spawn, limit=max_episodes, what="episode"
        )
        self.activities = Activities(
            self.parts,
            limit=max_activities,
            spawn=self._spawn,
            schedule=self.schedule,
        )
        self.timers = DurableTimers(
            clock, schedule=self.schedule, idle=self._idle, time_skipping=time_skipping
        )
        self.entities = EntityDispatcher(self.parts, spawn=self._spawn, deliver=self._deliver)
        self.instances = Instances(
            self.parts,
            changed=self._changed,
            schedule=self.schedule,
            add_timer=self.timers.add,
        )

    # -- what the server sets -------------------------------------------------------------
    @property
    def client_json(self) -> str | None:
        """The durable client binding JSON, for activities with a `durable_client_input`."""
        return self.activities.client_json

    @client_json.setter
    def client_json(self, value: str | None) -> None:
        self.activities.client_json = value

    @property
    def trigger_due(self) -> Callable[[], float | None]:
        """When the next timer trigger fires (time skipping stops there on the way)."""
        return self.timers.trigger_due

    @trigger_due.setter
    def trigger_due(self, value: Callable[[], float | None]) -> None:
        self.timers.trigger_due = value

    # -- lifecycle --------------------------------------------------------------------
    def start(self) -> None:
        """Resume everything in flight: due messages, future timers, queued activities."""
        now = self.clock.now()
        self.timers.resume(self.store.future_messages(now))
        for iid in self.store.ready_instances(now):
            self.schedule(iid)
        for row in self.store.activities():
            self.activities.queue(row)
        self.entities.start()
        self._spawn(self.timers.loop())

    async def stop(self) -> None:
        self._episodes.stopping = True
        self.entities.stop()
        self.timers.stop()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self.commits.closed = True  # a group still pending would write after the store closes
        await self.activities.close()

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
            watchers = self._watchers.setdefault(iid, [])
            watchers.append(future)
            try:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(remaining):  # not wait_for: see DurableTimers
                        await future
            finally:  # a watcher that gave up is not kept until the instance next changes
                if future in watchers:
                    watchers.remove(future)
                    if not watchers and self._watchers.get(iid) is watchers:
                        del self._watchers[iid]

    def _changed(self, iid: str) -> None:
        for future in self._watchers.pop(iid, []):
            if not future.done():
                future.set_result(None)

    # -- scheduling ---------------------------------------------------------------------
    def schedule(self, iid: str) -> None:
        """Run an episode for `iid` soon (once more if one is in progress)."""
        self._episodes.request(iid)

    def busy(self, delta: int) -> None:
        """Timer / Event Grid invocations in progress (+1 / -1): the host is not idle."""
        self._busy_triggers += delta

    def _idle(self) -> bool:
        """Nothing running or queued: only timers can move things on (time skipping)."""
        return (
            not self._episodes.running
            and self.activities.in_flight == 0
            and not self.entities.running
            and not self._busy_triggers
        )

    def _commit(self, out: Outbox) -> None:
        """After a transaction: start what it queued."""
        for row in out.activities:
            self.activities.queue(row)
        for when, iid in out.timers:
            self.timers.add(when, iid)
        for iid in out.wake:
            self.schedule(iid)
        for target in out.entities:
            self.entities.schedule(target)

    def _deliver(self, wake: set[str]) -> None:
        """Entity responses were committed to these instances' inboxes."""
        for iid in wake:
            self.schedule(iid)
