"""One run per key at a time: orchestration episodes per instance, entity batches per entity.

A request that arrives while its key is running is remembered, and one more run follows the
current one, so nothing that arrived mid-run waits for the next unrelated wake-up.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from devhost.workers import WorkerError

log = logging.getLogger("devhost")


class KeyedRuns:
    def __init__(
        self,
        work: Callable[[str], Awaitable[Any]],
        *,
        spawn: Callable[[Any], None],
        limit: int,
        what: str,
    ) -> None:
        self._work = work
        self._spawn = spawn
        self._slots = asyncio.Semaphore(limit)
        self._what = what  # for the log: "episode", "entity batch"
        self.running: set[str] = set()
        self._again: set[str] = set()
        self.stopping = False

    def request(self, key: str) -> None:
        """Run `work(key)` soon; once more after the current run if one is in progress."""
        if key in self.running:
            self._again.add(key)
            return
        self.running.add(key)
        self._spawn(self._run(key))

    def again(self, key: str) -> None:
        """From inside a run: run once more when this one ends."""
        self._again.add(key)

    async def _run(self, key: str) -> None:
        try:
            async with self._slots:
                await self._work(key)
        except WorkerError as exc:
            # A worker died under us: nothing was committed, so the run is simply repeated.
            log.warning("%s for %s interrupted (%s); retrying", self._what, key, exc)
            self._again.add(key)
            await asyncio.sleep(0.2)
        except Exception:
            log.exception("%s for %s failed inside devhost", self._what, key)
        finally:
            self.running.discard(key)
            if key in self._again and not self.stopping:
                self._again.discard(key)
                self.request(key)
