"""What the sandbox's two delivery queues (the webhook outbox and Event Grid's deliveries)
share: a count of what is still owed and a wait until it is all delivered."""

from __future__ import annotations

import threading
import time
from collections.abc import Sized


class Drainable:
    """A queue guarded by `_cond`; `_in_flight` counts what a sender holds out of `_queue`."""

    _queue: Sized

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._in_flight = 0

    def pending(self) -> int:
        with self._cond:
            return len(self._queue) + self._in_flight

    def wait_drained(self, timeout: float) -> bool:
        """Block until nothing is queued or in flight; False on timeout. Polls as well as
        waits: a retry due later is queued without anyone to notify when it goes."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._queue or self._in_flight:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(min(left, 0.05))
        return True
