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

A subscription with a ``dead_letter`` destination gets each dead-lettered event as a blob
(deadletter.py) five minutes (scaled) after its last attempt, as Event Grid batches its Blob
writes; a destination that cannot take it is tried again every minute and the event dropped
after four hours. Without a destination Event Grid drops the event; ``dead_letters`` keeps a
copy in memory either way, for tests.
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
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from ..drain import Drainable
from .deadletter import DeadLetterDestination, Unavailable, blob_name, dead_letter_body

SUCCESS = frozenset({200, 201, 202, 203, 204})
NO_RETRY_FUNCTION = frozenset({400, 403, 413})
NO_RETRY_WEBHOOK = frozenset({400, 401, 403, 413})
SCHEDULE = [10, 30, 60, 300, 600, 1800, 3600, 10800, 21600]
LATER = 43200  # every 12 hours after the schedule
TIMEOUT = 30.0
DEAD_LETTER_DELAY = 300  # "a five-minute delay between the last attempt and the dead-letter"
DEAD_LETTER_RETRY = 60  # how often an unavailable location is tried again: not documented
DEAD_LETTER_GIVE_UP = 4 * 3600  # "unavailable for four hours, the event is dropped"
OUTCOMES = {  # lastdeliveryoutcome (delivery-and-retry.md's table) by status
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    408: "TimedOut",
    413: "PayloadTooLarge",
}


@dataclass
class Subscription:
    name: str
    endpoint: str
    endpoint_type: str = "AzureFunction"  # or "WebHook"
    max_attempts: int = 30
    ttl_minutes: int = 1440
    duplicate: float = 0.0  # test option: the probability a delivered event comes again
    dead_letter: DeadLetterDestination | None = None  # the dead-letter container

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
    published_at: datetime = field(compare=False, default_factory=lambda: datetime.now(UTC))
    attempts: int = field(compare=False, default=0)
    last_status: int | None = field(compare=False, default=None)
    last_outcome: str = field(compare=False, default="Probation")
    last_attempt_at: datetime | None = field(compare=False, default=None)
    dead_letter: dict[str, Any] | None = field(compare=False, default=None)  # to be written
    dead_letter_since: float = field(compare=False, default=0.0)


class Deliveries(Drainable):
    """Every subscription of one topic; ``workers`` threads deliver concurrently."""

    def __init__(self, topic: str, *, time_scale: float = 1.0, workers: int = 8, seed: int = 0):
        self.topic = topic
        self.time_scale = time_scale
        self.subscriptions: list[Subscription] = []
        self.delivered: list[dict[str, Any]] = []
        self.delivered_at: list[float] = []  # time.time() of each success (benchmarks)
        self.dead_letters: list[dict[str, Any]] = []
        self.dead_letter_blobs: list[str] = []  # where each written dead letter went
        self.dropped = 0  # dead letters without a destination, or given up on
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
        now, at = time.monotonic(), datetime.now(UTC)
        with self._cond:
            for event in events:
                for sub in self.subscriptions:
                    heapq.heappush(
                        self._queue,
                        _Attempt(now, next(self._seq), sub, event, published=now, published_at=at),
                    )
            self._cond.notify_all()

    def clear(self) -> None:
        with self._cond:
            self._queue.clear()
            self.delivered.clear()
            self.delivered_at.clear()
            self.dead_letters.clear()
            self.dead_letter_blobs.clear()
            self.dropped = 0
            self.attempts = 0

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        # One deadline for all of them: a thread still waiting on a subscriber that stopped
        # answering (up to TIMEOUT) is a daemon and is left behind, so eight of them on each
        # of two topics no longer add up to 80 s of a `make run` shutdown.
        deadline = time.monotonic() + 5
        for t in self._threads:
            t.join(timeout=max(0.0, deadline - time.monotonic()))

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
                if attempt.dead_letter is not None:
                    self._write_dead_letter(attempt)
                else:
                    self._attempt(attempt)
            finally:
                with self._cond:
                    self._in_flight -= 1
                    self._cond.notify_all()

    def _attempt(self, attempt: _Attempt) -> None:
        status, failure = _post(attempt.subscription.endpoint, attempt.event, attempt.attempts)
        attempt.attempts += 1
        attempt.last_status = status
        attempt.last_attempt_at = datetime.now(UTC)
        attempt.last_outcome = failure or _outcome(status)
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
                            published_at=attempt.published_at,
                        ),
                    )
                    self._cond.notify_all()
                return
        final = NO_RETRY_FUNCTION if sub.endpoint_type == "AzureFunction" else NO_RETRY_WEBHOOK
        if status in final:
            self._dead_letter(attempt, f"UndeliverableDueToHttp{attempt.last_outcome}")
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
        """The event as Event Grid writes it to a dead-letter blob: as published, plus why
        and how its delivery ended; written after the delay, or dropped without a location."""
        last = attempt.last_attempt_at or datetime.now(UTC)
        record = {
            **attempt.event,
            "deadletterreason": reason,
            "deliveryattempts": attempt.attempts,
            "lastdeliveryoutcome": attempt.last_outcome,
            "lasthttpstatuscode": attempt.last_status,
            "publishtime": attempt.published_at.isoformat(),
            "lastdeliveryattempttime": last.isoformat(),
        }
        with self._cond:
            self.dead_letters.append(record)
            if attempt.subscription.dead_letter is None:
                self.dropped += 1
                return
            now = time.monotonic()
            attempt.dead_letter, attempt.dead_letter_since = record, now
            attempt.due = now + DEAD_LETTER_DELAY * self.time_scale
            attempt.seq = next(self._seq)
            heapq.heappush(self._queue, attempt)
            self._cond.notify_all()

    def _write_dead_letter(self, attempt: _Attempt) -> None:
        destination = attempt.subscription.dead_letter
        assert destination is not None and attempt.dead_letter is not None
        name = blob_name(attempt.subscription.name, datetime.now(UTC))
        try:
            where = destination.write(name, dead_letter_body([attempt.dead_letter]))
        except Unavailable:
            now = time.monotonic()
            with self._cond:
                if now - attempt.dead_letter_since >= DEAD_LETTER_GIVE_UP * self.time_scale:
                    self.dropped += 1
                    return
                attempt.due, attempt.seq = (
                    now + DEAD_LETTER_RETRY * self.time_scale,
                    next(self._seq),
                )
                heapq.heappush(self._queue, attempt)
                self._cond.notify_all()
            return
        with self._cond:
            self.dead_letter_blobs.append(where)


def _outcome(status: int | None) -> str:
    """lastdeliveryoutcome for an answered attempt; for 5xx and 429 "Busy" ("destination
    server is busy") is a guess: Event Grid does not document its mapping of other codes."""
    if status is None:
        return "SocketError"
    return OUTCOMES.get(status, "Busy")


def _post(endpoint: str, event: dict[str, Any], delivery_count: int) -> tuple[int | None, str]:
    """One delivery: the status, or None and why there was no answer (in time)."""
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
        return response.status, ""
    except TimeoutError:
        return None, "TimedOut"
    except (OSError, http.client.HTTPException):
        return None, "SocketError"
    finally:
        conn.close()
