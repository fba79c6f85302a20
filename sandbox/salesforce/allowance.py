"""Allocations Salesforce counts over a rolling 24 hours, on the sandbox clock.

"Limits are enforced against the aggregate of all API calls made to the org in a 24-hour
period ... Calls are blocked until usage for the preceding 24 hours drops below the limit"
(Help, "System Overview: API Usage"). The same rolling window holds the Bulk API batch
allocation (15,000 batches) and the Bulk API 2.0 query jobs (10,000 jobs). Usage is kept in
one-minute buckets, so a call spent at 10:00:30 is back at 10:01 the next day: at most a
minute later than Salesforce, which does not document its own granularity.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable

WINDOW_MS = 24 * 3600 * 1000
BUCKET_MS = 60_000


class RollingAllowance:
    """Spends of one allocation in the last 24 hours, and whether one more fits."""

    def __init__(self, limit: int, now_ms: Callable[[], int]) -> None:
        self.limit = int(limit)
        self._now_ms = now_ms
        self._buckets: deque[list[int]] = deque()  # [minute, count], oldest first
        self._used = 0
        self._lock = threading.Lock()

    def _expire(self, now: int) -> int:
        minute = now // BUCKET_MS
        oldest_kept = minute - WINDOW_MS // BUCKET_MS + 1
        while self._buckets and self._buckets[0][0] < oldest_kept:
            self._used -= self._buckets.popleft()[1]
        return minute

    def _add(self, minute: int, count: int) -> None:
        if self._buckets and self._buckets[-1][0] == minute:
            self._buckets[-1][1] += count
        else:
            self._buckets.append([minute, count])
        self._used += count

    def try_spend(self, count: int = 1) -> tuple[bool, int]:
        """Spend `count` when usage is below the limit; (spent, usage after)."""
        with self._lock:
            minute = self._expire(self._now_ms())
            if self._used >= self.limit:
                return False, self._used
            self._add(minute, count)
            return True, self._used

    def usage(self) -> int:
        with self._lock:
            self._expire(self._now_ms())
            return self._used

    def set_usage(self, used: int) -> None:
        """Everything spent in the current minute (tests: run an org dry, or nearly)."""
        with self._lock:
            self._buckets.clear()
            self._used = 0
            used = max(0, int(used))
            if used:
                self._add(self._now_ms() // BUCKET_MS, used)

    def recovers_at_ms(self) -> int | None:
        """When the oldest spend leaves the window (None when nothing is spent)."""
        with self._lock:
            self._expire(self._now_ms())
            if not self._buckets:
                return None
            return (self._buckets[0][0] * BUCKET_MS) + WINDOW_MS

    def state(self) -> list[list[int]]:
        with self._lock:
            return [list(b) for b in self._buckets]

    def restore(self, state: list[list[int]] | int) -> None:
        """A saved window; a bare number (older saves) counts as spent now."""
        if isinstance(state, int):
            self.set_usage(state)
            return
        with self._lock:
            self._buckets = deque([int(m), int(c)] for m, c in state)
            self._used = sum(c for _, c in self._buckets)
            self._expire(self._now_ms())
