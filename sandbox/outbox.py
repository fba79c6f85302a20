"""At-least-once delivery of CloudEvents to one webhook, from a background thread.

Events are queued when their transaction commits and POSTed one at a time in commit order
(structured mode, ``application/cloudevents+json``), the way an Event Grid subscription
pushes to the Functions webhook. A failed POST (connection error or non-2xx) is retried with
exponential back-off and holds the events behind it, so order survives retries; like Event
Grid, 400, 401, 403 and 413 answers are not retried (the event is counted as rejected). For tests,
``duplicate`` (a probability) sends an event twice and ``reorder`` swaps each pair of
neighbours.

With ``set_topic`` the outbox publishes to an Event Grid topic instead, as the service's
publisher would: each event in a CloudEvents batch (``application/cloudevents-batch+json``)
with the topic's ``aeg-sas-key``, over TLS trusting the given CA; the topic then delivers.
"""

from __future__ import annotations

import http.client
import json
import random
import ssl
import threading
from collections import deque
from typing import Any
from urllib.parse import urlsplit

from .drain import Drainable

# Wait this long for a second event before sending a lone one when reordering.
REORDER_LINGER = 0.05
# Answers Event Grid treats as final: the event is dropped (dead-lettered), not retried.
NO_RETRY = frozenset({400, 401, 403, 413})


class Outbox(Drainable):
    """Queue + delivery thread for one service's events."""

    def __init__(
        self,
        name: str,
        *,
        seed: int = 0,
        target: str | None = None,
        duplicate: float = 0.0,
        reorder: bool = False,
        backoff: float = 0.05,
        max_backoff: float = 2.0,
        timeout: float = 10.0,
    ) -> None:
        self.name = name
        self._seed = seed
        self._target = target
        self._duplicate = duplicate
        self._reorder = reorder
        self._backoff = backoff
        self._max_backoff = max_backoff
        self._timeout = timeout
        self._queue: deque[dict[str, Any]] = deque()
        super().__init__()  # _cond, _in_flight
        self._closed = False
        self._epoch = 0  # bumped by clear(): in-flight retries of older events give up
        self._delivered: list[dict[str, Any]] = []
        self._published = 0
        self._dropped = 0
        self._attempts = 0
        self._failures = 0
        self._rejected: list[dict[str, Any]] = []
        self._rng = random.Random(f"{seed}:{name}:outbox")
        self._topic_key: str | None = None
        self._ssl: ssl.SSLContext | None = None
        self._conn: http.client.HTTPConnection | None = None
        self._conn_key: tuple[str, str, int | None] | None = None
        self._thread = threading.Thread(target=self._run, name=f"outbox-{name}", daemon=True)
        self._thread.start()

    # -- configuration -----------------------------------------------------------------
    @property
    def target(self) -> str | None:
        return self._target

    def set_target(self, url: str | None) -> None:
        with self._cond:
            self._target = url or None
            self._topic_key = None
            self._cond.notify_all()

    def set_topic(self, endpoint: str, key: str, ca_bundle: str) -> None:
        """Publish to an Event Grid topic (its endpoint and key) from now on."""
        with self._cond:
            self._target = f"{endpoint}?api-version=2018-01-01"
            self._topic_key = key
            self._ssl = ssl.create_default_context(cafile=ca_bundle)
            self._cond.notify_all()

    def configure(self, *, duplicate: float | None = None, reorder: bool | None = None) -> None:
        with self._cond:
            if duplicate is not None:
                if not 0.0 <= duplicate <= 1.0:
                    raise ValueError("duplicate must be a probability between 0 and 1")
                self._duplicate = duplicate
            if reorder is not None:
                self._reorder = reorder
            self._cond.notify_all()

    # -- producer side -----------------------------------------------------------------
    def publish(self, events: list[dict[str, Any]]) -> None:
        """Queue committed events; without a target they are dropped (no subscription yet)."""
        if not events:
            return
        with self._cond:
            self._published += len(events)
            if self._target is None:
                self._dropped += len(events)
                return
            self._queue.extend(events)
            self._cond.notify_all()

    def clear(self) -> None:
        """Forget queued and delivered events (reset)."""
        with self._cond:
            self._queue.clear()
            self._delivered.clear()
            self._published = self._dropped = self._attempts = self._failures = 0
            self._rejected.clear()
            self._epoch += 1
            self._rng = random.Random(f"{self._seed}:{self.name}:outbox")
            self._cond.notify_all()

    def delivered(self) -> list[dict[str, Any]]:
        with self._cond:
            return list(self._delivered)

    def snapshot(self) -> dict[str, Any]:
        with self._cond:
            return {
                "target": self._target,
                "published": self._published,
                "delivered": len(self._delivered),
                "pending": len(self._queue) + self._in_flight,
                "dropped_no_target": self._dropped,
                "attempts": self._attempts,
                "failed_attempts": self._failures,
                "rejected": len(self._rejected),
                "duplicate": self._duplicate,
                "reorder": self._reorder,
            }

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        self._thread.join(timeout=5)
        self._close_conn()

    # -- delivery thread ---------------------------------------------------------------
    def _take_batch(self) -> tuple[list[dict[str, Any]], int] | None:
        with self._cond:
            while not self._closed and not (self._queue and self._target):
                self._cond.wait()
            if self._closed:
                return None
            if self._reorder and len(self._queue) < 2:
                self._cond.wait(REORDER_LINGER)
                if self._closed or not self._queue or not self._target:
                    return [], self._epoch
            size = 2 if self._reorder else 1
            batch = [self._queue.popleft() for _ in range(min(size, len(self._queue)))]
            self._in_flight = len(batch)
            if self._reorder:
                batch.reverse()
            return batch, self._epoch

    def _run(self) -> None:
        while True:
            taken = self._take_batch()
            if taken is None:
                return
            batch, epoch = taken
            for event in batch:
                copies = 2 if self._duplicate and self._rng.random() < self._duplicate else 1
                for _ in range(copies):
                    self._deliver(event, epoch)
                with self._cond:
                    self._in_flight = max(0, self._in_flight - 1)
                    self._cond.notify_all()

    def _deliver(self, event: dict[str, Any], epoch: int) -> None:
        payload = [event] if self._topic_key else event
        body = json.dumps(payload, separators=(",", ":")).encode()
        delay = self._backoff
        while True:
            with self._cond:
                if self._closed or epoch != self._epoch:
                    return
                target = self._target
            if target is not None:
                status = self._post(target, body)
                with self._cond:
                    self._attempts += 1
                    if status is not None and 200 <= status < 300:
                        if epoch == self._epoch:
                            self._delivered.append(event)
                        return
                    self._failures += 1
                    if status in NO_RETRY:
                        if epoch == self._epoch:
                            self._rejected.append(event)
                        return
            with self._cond:
                self._cond.wait(delay)
            delay = min(delay * 2, self._max_backoff)

    def rejected(self) -> list[dict[str, Any]]:
        with self._cond:
            return list(self._rejected)

    def _post(self, target: str, body: bytes) -> int | None:
        """POST one event; the status, or None when the connection failed."""
        url = urlsplit(target)
        key = (url.scheme, url.hostname or "127.0.0.1", url.port)
        path = (url.path or "/") + (f"?{url.query}" if url.query else "")
        headers = {
            "Content-Type": "application/cloudevents+json; charset=utf-8",
            # Event Grid's webhook contract: Functions hosts check this header.
            "aeg-event-type": "Notification",
        }
        if self._topic_key:  # publishing to a topic: a batch of one, with the topic's key
            headers = {
                "Content-Type": "application/cloudevents-batch+json; charset=utf-8",
                "aeg-sas-key": self._topic_key,
            }
        for attempt in range(2):  # a kept-alive socket the peer closed: reconnect once
            try:
                conn = self._connection(key)
                conn.request("POST", path, body=body, headers=headers)
                resp = conn.getresponse()
                resp.read()
                if resp.will_close:
                    self._close_conn()
                return resp.status
            except (OSError, http.client.HTTPException):
                self._close_conn()
                if attempt == 1:
                    return None
        return None

    def _connection(self, key: tuple[str, str, int | None]) -> http.client.HTTPConnection:
        if self._conn is None or self._conn_key != key:
            self._close_conn()
            scheme, host, port = key
            if scheme == "https":
                self._conn = http.client.HTTPSConnection(
                    host, port, timeout=self._timeout, context=self._ssl
                )
            else:
                self._conn = http.client.HTTPConnection(host, port, timeout=self._timeout)
            self._conn_key = key
        return self._conn

    def _close_conn(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
