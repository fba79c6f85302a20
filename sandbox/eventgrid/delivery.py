"""Push delivery of one topic's events to its subscriptions, as Event Grid does it.

Event Grid's "Message delivery and retry" page: one event per request (CloudEvents 1.0
structured mode, ``aeg-event-type: Notification``); 200, 201, 202, 203 and 204 are success;
for an Azure Function endpoint 400, 413 and 403 (a webhook adds 401) are not retried and the
event is dead-lettered at once; anything else (a timeout, no connection, other codes) is
retried on the schedule 10 s, 30 s, 1 min, 5 min, 10 min, 30 min, 1 h, 3 h, 6 h, then 12 h,
with some randomness, until the subscription's maximum attempts (1-30, default 30) or event
time to live (1-1440 minutes, default 1440) runs out; then dead-lettered. Deliveries run
concurrently, so order is not kept and a retried event arrives after later ones; a
subscription's ``duplicate`` probability delivers an event a second time, as Event Grid may.
``time_scale`` shrinks the schedule for tests (0.001: the first retry after 10 ms).
"""

from __future__ import annotations

import dataclasses
import heapq
import http.client
import itertools
import json
import random
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from ..drain import Drainable

SUCCESS = frozenset({200, 201, 202, 203, 204})
NO_RETRY_FUNCTION = frozenset({400, 403, 413})
NO_RETRY_WEBHOOK = frozenset({400, 401, 403, 413})
SCHEDULE = [10, 30, 60, 300, 600, 1800, 3600, 10800, 21600]
LATER = 43200  # every 12 hours after the schedule
TIMEOUT = 30.0


@dataclass
class Subscription:
    name: str
    endpoint: str
    endpoint_type: str = "AzureFunction"  # or "WebHook"
    max_attempts: int = 30
    ttl_minutes: int = 1440
    duplicate: float = 0.0  # test option: the probability a delivered event comes again

    def __post_init__(self) -> None:
        if not 0.0 <= self.duplicate <= 1.0:
            raise ValueError("duplicate: a probability between 0 and 1")
        if not 1 <= self.max_attempts <= 30:
            raise ValueError("max_attempts: 1 to 30")
        if not 1 <= self.ttl_minutes <= 1440:
            raise ValueError("ttl_minutes: 1 to 1440")
        if self.endpoint_type not in ("AzureFunction", "WebHook"):
            raise ValueError("endpoint_type: AzureFunction or WebHook")


@dataclass(order=True)
class _Attempt:
    due: float
    seq: int
    subscription: Subscription = field(compare=False)
    event: dict[str, Any] = field(compare=False)
    published: float = field(compare=False)
    attempts: int = field(compare=False, default=0)
    last_status: int | None = field(compare=False, default=None)


class Deliveries(Drainable):
    """Every subscription of one topic; ``workers`` threads deliver concurrently."""

    def __init__(self, topic: str, *, time_scale: float = 1.0, workers: int = 8, seed: int = 0):
        self.topic = topic
        self.time_scale = time_scale
        self.subscriptions: list[Subscription] = []
        self.delivered: list[dict[str, Any]] = []
        self.delivered_at: list[float] = []  # time.time() of each success (benchmarks)
        self.dead_letters: list[dict[str, Any]] = []
        self.attempts = 0
        self._queue: list[_Attempt] = []
        self._seq = itertools.count()
        super().__init__()  # _cond, _in_flight
        self._closed = False
        self._rng = random.Random(f"{seed}:{topic}")
        self._threads = [
            threading.Thread(target=self._run, name=f"eventgrid-{topic}-{i}", daemon=True)
            for i in range(workers)
        ]
        for t in self._threads:
            t.start()

    def subscribe(self, subscription: Subscription) -> None:
        with self._cond:
            self.subscriptions = [s for s in self.subscriptions if s.name != subscription.name] + [
                subscription
            ]

    def unsubscribe(self, name: str) -> None:
        with self._cond:
            self.subscriptions = [s for s in self.subscriptions if s.name != name]

    def enqueue(self, events: list[dict[str, Any]]) -> None:
        """Accepted events: one delivery per subscription (none without subscriptions)."""
        now = time.monotonic()
        with self._cond:
            for event in events:
                for sub in self.subscriptions:
                    heapq.heappush(
                        self._queue, _Attempt(now, next(self._seq), sub, event, published=now)
                    )
            self._cond.notify_all()

    def clear(self) -> None:
        with self._cond:
            self._queue.clear()
            self.delivered.clear()
            self.delivered_at.clear()
            self.dead_letters.clear()
            self.attempts = 0

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        for t in self._threads:
            t.join(timeout=5)

    # -- workers ----------------------------------------------------------------------
    def _take(self) -> _Attempt | None:
        with self._cond:
            while not self._closed:
                if self._queue:
                    wait = self._queue[0].due - time.monotonic()
                    if wait <= 0:
                        self._in_flight += 1
                        return heapq.heappop(self._queue)
                    self._cond.wait(min(wait, 0.5))
                else:
                    self._cond.wait(0.5)
            return None

    def _run(self) -> None:
        while (attempt := self._take()) is not None:
            try:
                self._attempt(attempt)
            finally:
                with self._cond:
                    self._in_flight -= 1
                    self._cond.notify_all()

    def _attempt(self, attempt: _Attempt) -> None:
        status = _post(attempt.subscription.endpoint, attempt.event, attempt.attempts)
        attempt.attempts += 1
        attempt.last_status = status
        sub = attempt.subscription
        with self._cond:
            self.attempts += 1
            if status in SUCCESS:
                self.delivered.append(attempt.event)
                self.delivered_at.append(time.time())
                if sub.duplicate and self._rng.random() < sub.duplicate:
                    # Event Grid delivers at least once: the same event again, later
                    heapq.heappush(
                        self._queue,
                        _Attempt(
                            time.monotonic() + 0.05 * self._rng.random(),
                            next(self._seq),
                            dataclasses.replace(sub, duplicate=0.0),
                            attempt.event,
                            published=attempt.published,
                        ),
                    )
                    self._cond.notify_all()
                return
        final = NO_RETRY_FUNCTION if sub.endpoint_type == "AzureFunction" else NO_RETRY_WEBHOOK
        if status in final:
            self._dead_letter(attempt, f"the endpoint answered {status}: not retried")
            return
        if attempt.attempts >= sub.max_attempts:
            self._dead_letter(attempt, "MaxDeliveryAttemptsExceeded")
            return
        base = SCHEDULE[attempt.attempts - 1] if attempt.attempts <= len(SCHEDULE) else LATER
        delay = base * self._rng.uniform(0.8, 1.2) * self.time_scale
        now = time.monotonic()
        if (now + delay - attempt.published) > sub.ttl_minutes * 60 * self.time_scale:
            self._dead_letter(attempt, "TimeToLiveExceeded")
            return
        attempt.due, attempt.seq = now + delay, next(self._seq)
        with self._cond:
            heapq.heappush(self._queue, attempt)
            self._cond.notify_all()

    def _dead_letter(self, attempt: _Attempt, reason: str) -> None:
        """As Event Grid writes a dead-letter blob: the event plus why and how it ended."""
        record = {
            **attempt.event,
            "deadletterreason": reason,
            "deliveryattempts": attempt.attempts,
            "lastdeliveryoutcome": "Probation" if attempt.last_status is None else "Failed",
            "lasthttpstatuscode": attempt.last_status,
            "lastdeliveryattempttime": datetime.now(UTC).isoformat(),
            "subscription": attempt.subscription.name,
            "deadletterid": str(uuid.uuid4()),
        }
        with self._cond:
            self.dead_letters.append(record)


def _post(endpoint: str, event: dict[str, Any], delivery_count: int) -> int | None:
    """One delivery: the status, or None when there was no answer in time."""
    url = urlsplit(endpoint)
    cls = http.client.HTTPSConnection if url.scheme == "https" else http.client.HTTPConnection
    conn = cls(url.hostname or "127.0.0.1", url.port, timeout=TIMEOUT)
    path = (url.path or "/") + (f"?{url.query}" if url.query else "")
    try:
        conn.request(
            "POST",
            path,
            body=json.dumps(event, separators=(",", ":")).encode(),
            headers={
                "Content-Type": "application/cloudevents+json; charset=utf-8",
                "aeg-event-type": "Notification",
                "aeg-delivery-count": str(delivery_count),
            },
        )
        response = conn.getresponse()
        response.read()
        return response.status
    except (OSError, http.client.HTTPException):
        return None
    finally:
        conn.close()
