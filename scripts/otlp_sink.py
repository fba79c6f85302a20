"""A local OTLP/HTTP receiver: what the app exports, decoded with opentelemetry-proto.

Tests and bench/onboarding.py point `OTEL_EXPORTER_OTLP_ENDPOINT` at it.

It accepts `POST /v1/traces`, `/v1/metrics` and `/v1/logs` (protobuf, gzip or not), decodes
each request into plain records and keeps them; tests read `spans`, `points` and `logs`.
"""

from __future__ import annotations

import gzip
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

T = TypeVar("T")


def _value(value: AnyValue) -> Any:
    kind = value.WhichOneof("value")
    if kind == "array_value":
        return [_value(v) for v in value.array_value.values]
    return getattr(value, kind) if kind else None


def _attributes(pairs: Any) -> dict[str, Any]:
    return {pair.key: _value(pair.value) for pair in pairs if isinstance(pair, KeyValue)}


@dataclass(frozen=True)
class Span:
    name: str
    kind: int  # opentelemetry.proto.trace.v1.Span.SpanKind: 2 server, 3 client, 1 internal
    trace_id: str
    span_id: str
    parent_span_id: str
    attributes: dict[str, Any]
    status_code: int  # 2 = error
    events: list[str]
    resource: dict[str, Any]
    start_unix_nano: int = 0  # when it began: processes export on their own schedules


@dataclass(frozen=True)
class Point:
    metric: str
    attributes: dict[str, Any]
    value: float  # sums and gauges: the value; histograms: the count
    total: float  # histograms: the sum; otherwise the value
    time_unix_nano: int
    resource: dict[str, Any]


@dataclass(frozen=True)
class Log:
    body: Any
    severity: str
    attributes: dict[str, Any]
    trace_id: str


@dataclass
class Received:
    spans: list[Span] = field(default_factory=list)
    points: list[Point] = field(default_factory=list)
    logs: list[Log] = field(default_factory=list)
    requests: dict[str, int] = field(default_factory=dict)
    trace_requests: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    """Each /v1/traces request as it arrived: its headers (names in lower case) and body."""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add_traces(self, body: bytes) -> None:
        request = ExportTraceServiceRequest.FromString(body)
        decoded = [
            Span(
                name=span.name,
                kind=span.kind,
                trace_id=span.trace_id.hex(),
                span_id=span.span_id.hex(),
                parent_span_id=span.parent_span_id.hex(),
                attributes=_attributes(span.attributes),
                status_code=span.status.code,
                events=[event.name for event in span.events],
                resource=_attributes(resource_spans.resource.attributes),
                start_unix_nano=span.start_time_unix_nano,
            )
            for resource_spans in request.resource_spans
            for scope in resource_spans.scope_spans
            for span in scope.spans
        ]
        with self.lock:
            self.spans.extend(decoded)

    def add_metrics(self, body: bytes) -> None:
        request = ExportMetricsServiceRequest.FromString(body)
        decoded: list[Point] = []
        for resource_metrics in request.resource_metrics:
            resource = _attributes(resource_metrics.resource.attributes)
            for scope in resource_metrics.scope_metrics:
                for metric in scope.metrics:
                    kind = metric.WhichOneof("data")
                    for point in getattr(metric, kind).data_points:
                        if kind == "histogram":
                            value, total = float(point.count), point.sum
                        else:
                            value = float(
                                point.as_int
                                if point.WhichOneof("value") == "as_int"
                                else point.as_double
                            )
                            total = value
                        decoded.append(
                            Point(
                                metric.name,
                                _attributes(point.attributes),
                                value,
                                total,
                                point.time_unix_nano,
                                resource,
                            )
                        )
        with self.lock:
            self.points.extend(decoded)

    def add_logs(self, body: bytes) -> None:
        request = ExportLogsServiceRequest.FromString(body)
        decoded = [
            Log(
                body=_value(record.body),
                severity=record.severity_text,
                attributes=_attributes(record.attributes),
                trace_id=record.trace_id.hex(),
            )
            for resource_logs in request.resource_logs
            for scope in resource_logs.scope_logs
            for record in scope.log_records
        ]
        with self.lock:
            self.logs.extend(decoded)

    def latest(self, metric: str) -> dict[tuple[tuple[str, Any], ...], Point]:
        """The newest point of `metric` per attribute set, summed over exporting processes.

        Counters are cumulative, so each process's newest point is its whole count.
        """
        newest: dict[tuple[Any, ...], Point] = {}
        with self.lock:
            for point in self.points:
                if point.metric != metric:
                    continue
                key = (
                    point.resource.get("service.instance.id"),
                    tuple(sorted(point.attributes.items())),
                )
                if key not in newest or point.time_unix_nano >= newest[key].time_unix_nano:
                    newest[key] = point
        summed: dict[tuple[tuple[str, Any], ...], Point] = {}
        for (_, attributes), point in newest.items():
            if attributes in summed:
                before = summed[attributes]
                point = Point(
                    metric,
                    point.attributes,
                    before.value + point.value,
                    before.total + point.total,
                    max(before.time_unix_nano, point.time_unix_nano),
                    {},
                )
            summed[attributes] = point
        return summed

    def newest_point_time(self) -> int:
        with self.lock:
            return max((p.time_unix_nano for p in self.points), default=0)


def eventually(check: Callable[[], T | None], *, timeout: float = 20.0) -> T:
    """Poll `check` until it returns something truthy (exports are periodic, not instant)."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout}s: {check.__doc__ or check}")
        time.sleep(0.05)


def _ignore(body: bytes) -> None:
    return None


@contextmanager
def receiver(*, decode: bool = True) -> Iterator[tuple[str, Received]]:
    """An OTLP/HTTP receiver on a free port: yields (endpoint, what arrived).

    `decode=False` only counts requests (a benchmark's collector should not compete with the
    host it measures for the same interpreter).
    """
    received = Received()
    routes = {
        "/v1/traces": received.add_traces if decode else _ignore,
        "/v1/metrics": received.add_metrics if decode else _ignore,
        "/v1/logs": received.add_logs if decode else _ignore,
    }

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            if self.headers.get("Content-Encoding") == "gzip":
                body = gzip.decompress(body)
            add = routes.get(self.path)
            if add is None or self.headers.get("Content-Type") != "application/x-protobuf":
                self.send_response(404)
                self.end_headers()
                return
            add(body)
            with received.lock:
                received.requests[self.path] = received.requests.get(self.path, 0) + 1
                if decode and self.path == "/v1/traces":
                    headers = {k.lower(): v for k, v in self.headers.items()}
                    received.trace_requests.append((headers, body))
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", received
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
