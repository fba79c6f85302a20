"""Durable timers: messages that become visible later wake their instance when due.

With time skipping, an idle host (nothing running or queued) moves the virtual clock
straight to the next due timer, stopping on the way at each timer trigger's next firing.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
from collections.abc import Callable

from devhost.clock import Clock


class DurableTimers:
    def __init__(
        self,
        clock: Clock,
        *,
        schedule: Callable[[str], None],
        idle: Callable[[], bool],
        time_skipping: bool,
    ) -> None:
        self.clock = clock
        self._schedule = schedule
        self._idle = idle
        self._time_skipping = time_skipping
        self._due: list[tuple[float, str]] = []
        self._wake = asyncio.Event()
        self._stopped = False
        self.trigger_due: Callable[[], float | None] = lambda: None  # next timer trigger
        loop = asyncio.get_running_loop()
        clock.on_advance(lambda: loop.call_soon_threadsafe(self._wake.set))

    def add(self, when: float, iid: str) -> None:
        heapq.heappush(self._due, (when, iid))
        self._wake.set()

    def resume(self, due: list[tuple[float, str]]) -> None:
        """At start: the messages that were waiting when the host stopped."""
        for when, iid in due:
            heapq.heappush(self._due, (when, iid))

    def stop(self) -> None:
        """End `loop` even where a cancellation was swallowed on the way (see `loop`)."""
        self._stopped = True
        self._wake.set()

    async def loop(self) -> None:
        # asyncio.timeout, not wait_for: on Python 3.11 wait_for returns normally when it is
        # cancelled in the same tick as the event is set, and this loop would then never end.
        while not self._stopped:
            now = self.clock.now()
            while self._due and self._due[0][0] <= now:
                _, iid = heapq.heappop(self._due)
                self._schedule(iid)
            timeout = self._due[0][0] - now if self._due else None
            if timeout is not None and self._time_skipping:
                timeout = min(timeout, 0.02)
                target = self._due[0][0]
                due = self.trigger_due()  # timer triggers fire on the way, in order
                if due is not None and due < target:
                    target = due if due > now else now
                if self._idle() and target > now:
                    self.clock.advance(target - now)
                    continue
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    await self._wake.wait()
