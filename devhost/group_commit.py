"""Group commit: the episodes and activity results that finish in one turn of the event loop
are written in ONE SQLite transaction, one savepoint each.

A writer hands `submit` a function that does its writes and returns what it decided; the
function runs at the end of the turn, inside the group's transaction, and the future
`submit` returned resolves only after the COMMIT. Whatever the writer does next (start
activities, wake instances, answer status watchers) therefore follows a durable commit, as
it did with one transaction each. The whole group is opened, written and committed inside one
callback, so no other code on the loop ever reads a row the group has not committed yet.

A writer that raises is rolled back to its savepoint alone; the others commit. If the COMMIT
fails, nothing of the group is durable and every writer sees the error. A kill -9 before the
COMMIT loses the whole group, which is the same as losing each transaction: every message the
group would have consumed is still in its inbox and every activity still in its queue.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any, TypeVar

from devhost.stats import Stats
from devhost.store import Store

T = TypeVar("T")


class GroupCommit:
    def __init__(self, store: Store, stats: Stats) -> None:
        self.store = store
        self.stats = stats
        self._jobs: list[tuple[Callable[[], Any], asyncio.Future[Any]]] = []
        self.closed = False

    def submit(self, write: Callable[[], T]) -> asyncio.Future[T]:
        """`write()` in this turn's transaction; the future resolves once it is committed."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._jobs.append((write, future))
        if len(self._jobs) == 1:
            loop.call_soon(self._flush)
        return future

    def _flush(self) -> None:
        jobs, self._jobs = self._jobs, []
        # a writer that stopped waiting (cancelled on stop) has nobody to act on its commit:
        # its messages stay in the inbox and run again on the next start
        live = [(write, future) for write, future in jobs if not future.cancelled()]
        if not live or self.closed:
            for _, future in live:
                future.set_exception(RuntimeError("the task hub is closed"))
            return
        started = time.perf_counter()
        done: list[tuple[asyncio.Future[Any], BaseException | None, Any]] = []
        try:
            with self.store.tx():
                for write, future in live:
                    try:
                        with self.store.savepoint():
                            done.append((future, None, write()))
                    except Exception as exc:  # this writer's own failure: only it rolls back
                        done.append((future, exc, None))
        except BaseException as exc:  # the COMMIT failed: nothing of the group is durable
            for _, future in live:
                if not future.done():
                    future.set_exception(exc)
            if not isinstance(exc, Exception):
                raise
            return
        finally:
            self.stats.commit_seconds += time.perf_counter() - started
        self.stats.groups += 1
        for future, error, value in done:
            if future.done():
                continue
            if error is not None:
                future.set_exception(error)
            else:
                future.set_result(value)
