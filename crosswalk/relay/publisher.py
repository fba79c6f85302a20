"""CloudEvents to an Event Grid topic with azure-eventgrid's own client: the relay's to the
Salesforce topic, and a support replay of dead-lettered events to the topic they came from.

Batches stay within Event Grid's limits (an event and a request at most 1 MB). Entra ID
(`DefaultAzureCredential`, the role EventGrid Data Sender on the topic) unless a key is set;
keys are off on the topics Crosswalk's template creates, the local stand-in takes either.
Transient answers (408, 429, 5xx, no connection) are retried with back-off until the caller's
deadline; the rest are permanent and stop the session: nothing is checkpointed, so the next
session publishes the same events again under the same ids.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from azure.core.credentials import AzureKeyCredential
from azure.core.exceptions import AzureError, HttpResponseError
from azure.core.messaging import CloudEvent
from azure.eventgrid import EventGridPublisherClient

from crosswalk.pubsub.changes import CometdEvent

# The basic-topic client serializes each send's keyword options as if they were CloudEvent
# attributes and logs a warning for each one it ignores; they still reach the transport.
logging.getLogger("azure.eventgrid._legacy._generated._serialization").setLevel(logging.ERROR)

MAX_REQUEST_BYTES = 1_000_000
ENVELOPE_BYTES = 512  # the CloudEvent attributes around `data`, generously
PERMANENT = frozenset({400, 401, 403, 404, 413})
T = TypeVar("T")


class PublishError(Exception):
    """Event Grid did not take a batch; ``permanent`` when retrying cannot help."""

    def __init__(self, message: str, *, status: int | None, permanent: bool) -> None:
        super().__init__(message)
        self.status, self.permanent = status, permanent


def cloud_event(event: CometdEvent) -> CloudEvent:
    """The CloudEvent `salesforce_change_events` reads; its id is the same on every publish."""
    return CloudEvent(
        source=f"/data/{event.entity}ChangeEvent",
        type=f"com.salesforce.cdc.{event.entity}ChangeEvent",
        data=event.body,
        subject=event.record_ids[0] if event.record_ids else None,
        id=event.event_id,
        time=datetime.fromtimestamp(event.commit_ms / 1000, tz=UTC),
        datacontenttype="application/json",
    )


def batches(items: list[T], body: Callable[[T], Any]) -> list[list[T]]:
    """Split into requests of at most 1 MB, weighing each item by its event's JSON `body`
    (an event over 1 MB alone is refused: 413)."""
    out: list[list[T]] = []
    size = 0
    for item in items:
        weight = len(json.dumps(body(item), separators=(",", ":"))) + ENVELOPE_BYTES
        if out and size + weight <= MAX_REQUEST_BYTES:
            out[-1].append(item)
            size += weight
        else:
            out.append([item])
            size = weight
    return out


class EventGridPublisher:
    """One publisher client per process; counts the requests it sends."""

    def __init__(
        self,
        endpoint: str,
        *,
        key: str | None = None,
        credential: Any = None,
        ca_bundle: Path | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if key:
            credential = AzureKeyCredential(key)
        elif credential is None:
            from azure.identity import DefaultAzureCredential

            credential = DefaultAzureCredential()
        self._client = EventGridPublisherClient(endpoint, credential)
        # For a basic (custom) topic the client drops constructor options (transport,
        # retries): they go with each send. Retries happen here, within the caller's deadline.
        self._options: dict[str, Any] = {"retry_total": 0}
        if ca_bundle is not None:  # the local stand-in's CA
            self._options["connection_verify"] = str(ca_bundle)
        self._sleep = sleep
        self.requests = 0

    def publish(self, events: list[CometdEvent], *, deadline: float) -> None:
        """Send every event (raises PublishError); ``deadline`` is a time.monotonic()."""
        for batch in batches(events, lambda event: event.body):
            self._send([cloud_event(e) for e in batch], deadline)

    def republish(self, events: list[dict[str, Any]], *, deadline: float) -> None:
        """Send CloudEvents given as their JSON objects (as Event Grid dead-lettered them,
        without its dead-letter properties) unchanged: same id, source, type, time, data and
        extensions, in requests of at most 1 MB. Raises PublishError."""
        clouds = [(CloudEvent.from_dict(dict(event)), event) for event in events]
        for batch in batches(clouds, lambda pair: pair[1]):  # a malformed one: none is sent
            self._send([cloud for cloud, _ in batch], deadline)

    def _send(self, batch: list[CloudEvent], deadline: float) -> None:
        delay = 0.2
        while True:
            self.requests += 1
            try:
                self._client.send(batch, **self._options)
                return
            except HttpResponseError as exc:
                status = exc.status_code
                if status in PERMANENT:
                    raise PublishError(
                        f"Event Grid refused a batch: {status} {exc.reason}",
                        status=status,
                        permanent=True,
                    ) from None
                failure = f"Event Grid answered {status} {exc.reason}"
            except AzureError as exc:
                status, failure = None, f"Event Grid unreachable: {type(exc).__name__}"
            if time.monotonic() + delay > deadline:
                raise PublishError(failure, status=status, permanent=False)
            self._sleep(delay)
            delay = min(delay * 2, 10.0)

    def close(self) -> None:
        self._client.close()
