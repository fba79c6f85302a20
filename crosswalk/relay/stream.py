"""The Pub/Sub API client: one TLS channel, call metadata from the Salesforce session,
schemas fetched once per id, and Subscribe streams whose capacity the caller tops up.

gRPC failures become `PubSubError` with a kind the session acts on (Salesforce's Pub/Sub API
guide, "Handle Errors": the status plus the ``error-code`` trailer).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc

from crosswalk.clients.salesforce_auth import SalesforceAccess
from crosswalk.pubsub.changes import ChangeSchema
from pubsub_api import eventbus_pb2 as pb
from pubsub_api import eventbus_pb2_grpc as pb_grpc

MAX_MESSAGE = 64 * 1024 * 1024  # 100 events of up to 1 MB each would not fit gRPC's 4 MB
REPLAY_CORRUPTED = "replayid.corrupted"
LIMIT_EXCEEDED = "limit.exceeded"


class PubSubError(Exception):
    """A failed call or stream: ``kind`` says what the relay does about it.

    expired_replay: resubscribe at LATEST and catch up; auth: refresh the token and resume;
    unavailable: resume from the checkpoint after a pause; not_found, permission, limit,
    invalid: stop and say so.
    """

    def __init__(self, kind: str, message: str, *, status: str = "", error_code: str = "") -> None:
        super().__init__(message)
        self.kind, self.status, self.error_code = kind, status, error_code


def classify(err: grpc.RpcError) -> PubSubError:
    code = err.code() if hasattr(err, "code") else grpc.StatusCode.UNKNOWN
    trailer = ""
    if hasattr(err, "trailing_metadata"):
        trailer = str(dict(err.trailing_metadata() or ()).get("error-code", ""))
    details = err.details() if hasattr(err, "details") else str(err)
    message = f"{code.name}: {details}" + (f" ({trailer})" if trailer else "")
    if trailer.endswith(REPLAY_CORRUPTED):
        kind = "expired_replay"
    elif code is grpc.StatusCode.UNAUTHENTICATED or trailer.endswith("auth.error"):
        kind = "auth"
    elif code is grpc.StatusCode.NOT_FOUND:
        kind = "not_found"
    elif code is grpc.StatusCode.PERMISSION_DENIED:
        kind = "permission"
    elif trailer.endswith(LIMIT_EXCEEDED) or code is grpc.StatusCode.RESOURCE_EXHAUSTED:
        kind = "limit"
    elif code is grpc.StatusCode.INVALID_ARGUMENT:
        kind = "invalid"
    elif code is grpc.StatusCode.DEADLINE_EXCEEDED:
        kind = "deadline"
    else:
        kind = "unavailable"  # UNAVAILABLE, INTERNAL, UNKNOWN, a dropped connection
    return PubSubError(kind, message, status=code.name, error_code=trailer)


_END = object()


@dataclass
class Subscription:
    """An open Subscribe stream: ``groups()`` yields what arrived; ``request(n)`` adds
    capacity. A reader thread takes responses off the stream as they come, so while the
    relay publishes one group the next accumulates: a backlog is published in few requests,
    a trickle at once."""

    responses: Iterator[pb.FetchResponse]
    _requests: queue.Queue[pb.FetchRequest | None]
    _call: grpc.Call

    def request(self, n: int) -> None:
        self._requests.put(pb.FetchRequest(num_requested=n))

    def groups(self, max_events: int = 500) -> Iterator[list[pb.FetchResponse]]:
        """Every response, grouped: the first that arrives plus whatever else has arrived
        (up to ``max_events`` events); raises the stream's PubSubError at its end."""
        arrived: queue.Queue[Any] = queue.Queue()

        def pump() -> None:
            try:
                for response in self.responses:
                    arrived.put(response)
                arrived.put(_END)
            except PubSubError as exc:
                arrived.put(exc)

        threading.Thread(target=pump, name="pubsub-responses", daemon=True).start()
        while True:
            item = arrived.get()
            group: list[pb.FetchResponse] = []
            count = 0
            while True:
                if item is _END:
                    if group:
                        yield group
                    return
                if isinstance(item, PubSubError):
                    if group:
                        yield group
                    raise item
                group.append(item)
                count += len(item.events)
                if count >= max_events:
                    break
                try:
                    item = arrived.get_nowait()
                except queue.Empty:
                    break
            yield group

    def close(self) -> None:
        self._requests.put(None)
        self._call.cancel()


class PubSubClient:
    """One channel to the Pub/Sub API for the relay's process."""

    def __init__(
        self,
        endpoint: str,
        access: Callable[[bool], SalesforceAccess],
        *,
        ca_bundle: Path | None = None,
    ) -> None:
        roots = ca_bundle.read_bytes() if ca_bundle else None
        self._channel = grpc.secure_channel(
            endpoint,
            grpc.ssl_channel_credentials(root_certificates=roots),
            options=[("grpc.max_receive_message_length", MAX_MESSAGE)],
        )
        self._stub = pb_grpc.PubSubStub(self._channel)
        self._access = access
        self._schemas: dict[str, ChangeSchema] = {}
        self._lock = threading.Lock()
        self.calls = {"GetTopic": 0, "GetSchema": 0, "Subscribe": 0}

    def refresh(self) -> None:
        """A new Salesforce session for the next calls (after UNAUTHENTICATED)."""
        self._access(True)

    def _metadata(self) -> list[tuple[str, str]]:
        access = self._access(False)
        return [
            ("accesstoken", access.access_token),
            ("instanceurl", access.instance_url),
            ("tenantid", access.org_id),
        ]

    def topic(self, name: str) -> pb.TopicInfo:
        self.calls["GetTopic"] += 1
        try:
            return self._stub.GetTopic(
                pb.TopicRequest(topic_name=name), metadata=self._metadata(), timeout=30
            )
        except grpc.RpcError as err:
            raise classify(err) from None

    def schema(self, schema_id: str) -> ChangeSchema:
        """The writer schema of an event, fetched once per id (ConversionError if unusable)."""
        with self._lock:
            cached = self._schemas.get(schema_id)
        if cached is not None:
            return cached
        self.calls["GetSchema"] += 1
        try:
            info = self._stub.GetSchema(
                pb.SchemaRequest(schema_id=schema_id), metadata=self._metadata(), timeout=30
            )
        except grpc.RpcError as err:
            raise classify(err) from None
        parsed = ChangeSchema.from_json(schema_id, info.schema_json)
        with self._lock:
            self._schemas[schema_id] = parsed
        return parsed

    def subscribe(
        self, topic: str, replay_id: bytes | None, *, batch_size: int, timeout: float
    ) -> Subscription:
        """Open a stream: after ``replay_id`` (CUSTOM), or at LATEST without one."""
        self.calls["Subscribe"] += 1
        first = pb.FetchRequest(
            topic_name=topic,
            replay_preset=pb.CUSTOM if replay_id else pb.LATEST,
            replay_id=replay_id or b"",
            num_requested=batch_size,
        )
        requests: queue.Queue[pb.FetchRequest | None] = queue.Queue()
        requests.put(first)
        call = self._stub.Subscribe(
            iter(requests.get, None), metadata=self._metadata(), timeout=timeout
        )
        return Subscription(_classified(call), requests, call)

    def close(self) -> None:
        self._channel.close()


def _classified(call: Iterator[pb.FetchResponse]) -> Iterator[pb.FetchResponse]:
    try:
        yield from call
    except grpc.RpcError as err:
        raise classify(err) from None
