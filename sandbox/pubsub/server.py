"""The Pub/Sub API over gRPC with TLS: GetTopic, GetSchema and Subscribe, as Salesforce's
Pub/Sub API guide describes them (sources in docs/sandbox.md "Pub/Sub API").

Every call carries ``accesstoken``, ``instanceurl`` and ``tenantid`` metadata, checked against
the org's OAuth sessions. Subscribe is pull-based: each FetchRequest adds capacity, at most
100 events outstanding; ``replay_preset`` and ``replay_id`` count in the first request only;
CUSTOM delivers the events after the id. With capacity left and nothing to send, an empty
FetchResponse carrying a fresh ``latest_replay_id`` keeps the stream alive; with nothing
requested for ``idle_close`` seconds the server ends it. Failures end the stream with a gRPC
status and Salesforce's ``error-code`` trailer.
"""

from __future__ import annotations

import threading
import time
import uuid
from concurrent import futures
from dataclasses import dataclass
from typing import Any

import grpc

from pubsub_api import eventbus_pb2 as pb
from pubsub_api import eventbus_pb2_grpc as pb_grpc

from ..salesforce.org import SalesforceOrg
from .avro import SCHEMAS, SCHEMAS_BY_ID
from .bus import CHANNELS, EventBus, position_of

MAX_OUTSTANDING = 100
_PREFIX = "sfdc.platform.eventbus.grpc"
AUTH_ERROR = f"{_PREFIX}.service.auth.error"
CORRUPTED = f"{_PREFIX}.subscription.fetch.replayid.corrupted"
VALIDATION_FAILED = f"{_PREFIX}.subscription.fetch.replayid.validation.failed"
UNAVAILABLE = f"{_PREFIX}.service.unavailable"
LIMIT_EXCEEDED = f"{_PREFIX}.subscription.limit.exceeded"


@dataclass
class PubSubFaults:
    """Test faults: end streams after ``drop_after`` more events (UNAVAILABLE), wait
    ``delay`` seconds before each response, refuse subscriptions as if the daily delivery
    allocation were spent."""

    drop_after: int | None = None
    delay: float = 0.0
    limit_exceeded: bool = False


class _Abort(Exception):
    def __init__(self, code: grpc.StatusCode, message: str, error_code: str | None) -> None:
        super().__init__(message)
        self.code, self.message, self.error_code = code, message, error_code


class PubSubService(pb_grpc.PubSubServicer):
    def __init__(
        self, org: SalesforceOrg, bus: EventBus, *, keepalive: float, idle_close: float
    ) -> None:
        self.org = org
        self.bus = bus
        self.keepalive = keepalive
        self.idle_close = idle_close
        self.faults = PubSubFaults()
        self.calls: dict[str, int] = {"GetTopic": 0, "GetSchema": 0, "Subscribe": 0}
        self._streams: set[Any] = set()
        self._lock = threading.Lock()

    # -- helpers ------------------------------------------------------------------------
    def _abort(self, context: grpc.ServicerContext, exc: _Abort) -> None:
        if exc.error_code:
            context.set_trailing_metadata((("error-code", exc.error_code),))
        context.abort(exc.code, f"{exc.message} rpcId: {uuid.uuid4()}")

    def _auth(self, context: grpc.ServicerContext) -> None:
        meta = {k: v for k, v in context.invocation_metadata() if isinstance(v, str)}
        session = self.org.tokens.check(meta.get("accesstoken"))
        if session is None:
            raise _Abort(grpc.StatusCode.UNAUTHENTICATED, "Invalid or expired token.", AUTH_ERROR)
        if meta.get("instanceurl", "").rstrip("/") != self.org.instance_url:
            raise _Abort(grpc.StatusCode.UNAUTHENTICATED, "Wrong instance URL.", AUTH_ERROR)
        if meta.get("tenantid") != self.org.org_id:
            raise _Abort(grpc.StatusCode.UNAUTHENTICATED, "Wrong tenant id.", AUTH_ERROR)

    def _count(self, method: str) -> None:
        with self._lock:
            self.calls[method] += 1

    def _topic(self, name: str) -> str | None:
        if name not in CHANNELS:
            raise _Abort(
                grpc.StatusCode.NOT_FOUND,
                f"The topic information for org {self.org.org_id} and topic {name} not found.",
                None,
            )
        return CHANNELS[name]

    # -- unary calls -------------------------------------------------------------------
    def GetTopic(self, request: pb.TopicRequest, context: grpc.ServicerContext) -> pb.TopicInfo:
        self._count("GetTopic")
        try:
            self._auth(context)
            entity = self._topic(request.topic_name)
        except _Abort as exc:
            self._abort(context, exc)
            raise  # unreachable: abort raises
        schema = SCHEMAS[entity or "Account"]
        return pb.TopicInfo(
            topic_name=request.topic_name,
            tenant_guid=self.org.org_id,
            can_publish=False,
            can_subscribe=True,
            schema_id=schema.schema_id,
            rpc_id=str(uuid.uuid4()),
        )

    def GetSchema(self, request: pb.SchemaRequest, context: grpc.ServicerContext) -> pb.SchemaInfo:
        self._count("GetSchema")
        try:
            self._auth(context)
            schema = SCHEMAS_BY_ID.get(request.schema_id)
            if schema is None:
                raise _Abort(
                    grpc.StatusCode.NOT_FOUND, f"Schema {request.schema_id} not found.", None
                )
        except _Abort as exc:
            self._abort(context, exc)
            raise
        return pb.SchemaInfo(
            schema_json=schema.schema_json, schema_id=schema.schema_id, rpc_id=str(uuid.uuid4())
        )

    # -- the stream ----------------------------------------------------------------------
    def Subscribe(self, request_iterator: Any, context: grpc.ServicerContext) -> Any:
        self._count("Subscribe")
        try:
            self._auth(context)
            first = next(request_iterator, None)
            if first is None:
                return
            entity = self._topic(first.topic_name)
            if self.faults.limit_exceeded:
                raise _Abort(
                    grpc.StatusCode.RESOURCE_EXHAUSTED,
                    "The daily event delivery allocation is exceeded.",
                    LIMIT_EXCEEDED,
                )
            position = self._start(first)
            yield from self._stream(first, request_iterator, context, entity, position)
        except _Abort as exc:
            self._abort(context, exc)

    def _start(self, first: pb.FetchRequest) -> int:
        if first.replay_preset == pb.CUSTOM:
            if not first.replay_id:
                raise _Abort(
                    grpc.StatusCode.INVALID_ARGUMENT,
                    "The Replay ID validation failed. A CUSTOM replay preset needs a Replay ID.",
                    VALIDATION_FAILED,
                )
            position = position_of(first.replay_id)
            if position is None or not self.bus.valid(position):
                raise _Abort(
                    grpc.StatusCode.INVALID_ARGUMENT,
                    "The Replay ID validation failed. Ensure that the Replay ID is valid.",
                    CORRUPTED,
                )
            return position
        if first.replay_preset == pb.EARLIEST:
            return self.bus.earliest()
        return self.bus.latest()

    def _stream(
        self,
        first: pb.FetchRequest,
        request_iterator: Any,
        context: grpc.ServicerContext,
        entity: str | None,
        position: int,
    ) -> Any:
        state = {"capacity": min(max(first.num_requested, 0), MAX_OUTSTANDING)}
        token = dict(context.invocation_metadata()).get("accesstoken")
        rpc_id = str(uuid.uuid4())

        def read_requests() -> None:
            try:
                for req in request_iterator:
                    with self.bus.changed:
                        state["capacity"] = min(
                            state["capacity"] + max(req.num_requested, 0), MAX_OUTSTANDING
                        )
                        self.bus.changed.notify_all()
            except (grpc.RpcError, ValueError):
                pass  # the stream ended

        threading.Thread(target=read_requests, name="pubsub-requests", daemon=True).start()
        context.add_callback(lambda: _wake(self.bus))
        sent_at = idle_since = time.monotonic()
        while context.is_active():
            self._drop_when_due(0)
            if self.org.tokens.check(token) is None:
                raise _Abort(grpc.StatusCode.UNAUTHENTICATED, "The token expired.", AUTH_ERROR)
            with self.bus.changed:
                capacity = state["capacity"]
                now = time.monotonic()
                if capacity:
                    idle_since = now
                elif now - idle_since >= self.idle_close:
                    return  # nothing requested for a while: the server ends the stream
                events = self._allowed(self.bus.after(position, entity, capacity))
                keepalive_due = capacity > 0 and now - sent_at >= self.keepalive
                if not events and not keepalive_due:
                    wait = sent_at + self.keepalive - now if capacity else 0.25
                    self.bus.changed.wait(min(max(wait, 0.01), 0.25))
                    continue
                state["capacity"] -= len(events)
                self.bus.delivered += len(events)
                pending = state["capacity"]
            if self.faults.delay:
                time.sleep(self.faults.delay)
            sent_at = time.monotonic()
            if not events:
                yield pb.FetchResponse(
                    latest_replay_id=self.bus.keepalive_id(),
                    rpc_id=rpc_id,
                    pending_num_requested=pending,
                )
                continue
            position = events[-1].position
            yield pb.FetchResponse(
                events=[
                    pb.ConsumerEvent(
                        event=pb.ProducerEvent(
                            id=e.event_uuid, schema_id=e.schema_id, payload=e.payload
                        ),
                        replay_id=e.replay_id,
                    )
                    for e in events
                ],
                latest_replay_id=events[-1].replay_id,
                rpc_id=rpc_id,
                pending_num_requested=pending,
            )
            self._drop_when_due(len(events))

    def _allowed(self, events: list[Any]) -> list[Any]:
        """The events a ``drop_after`` fault still lets through."""
        with self._lock:
            left = self.faults.drop_after
            return events if left is None else events[:left]

    def _drop_when_due(self, sent: int) -> None:
        """Count ``sent`` against a ``drop_after`` fault; end the stream when it is used up."""
        with self._lock:
            left = self.faults.drop_after
            if left is None:
                return
            left = max(0, left - sent)
            self.faults.drop_after = left if left else None
        if not left:
            raise _Abort(grpc.StatusCode.UNAVAILABLE, "The service is unavailable.", UNAVAILABLE)


def _wake(bus: EventBus) -> None:
    with bus.changed:
        bus.changed.notify_all()


class PubSubServer:
    """The gRPC server on ``host:port`` (0 = a free port) with the sandbox CA's certificate."""

    def __init__(
        self,
        service: PubSubService,
        *,
        host: str,
        port: int,
        key_pem: bytes,
        cert_chain_pem: bytes,
    ) -> None:
        self.service = service
        self.host = host
        self.port = port
        self._server = grpc.server(futures.ThreadPoolExecutor(max_workers=16))
        pb_grpc.add_PubSubServicer_to_server(service, self._server)
        self._credentials = grpc.ssl_server_credentials([(key_pem, cert_chain_pem)])

    def start(self) -> int:
        bound = self._server.add_secure_port(f"{self.host}:{self.port}", self._credentials)
        if bound == 0:
            raise OSError(f"cannot listen on {self.host}:{self.port} (Pub/Sub API)")
        self.port = bound
        self._server.start()
        return bound

    def stop(self) -> None:
        self._server.stop(grace=0).wait(5)
