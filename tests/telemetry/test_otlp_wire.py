"""Crosswalk's OTLP span encoder against the exporter's own: the same request, field by field.

The referee is opentelemetry-exporter-otlp's `encode_spans` and opentelemetry-proto's parser;
the spans are real SDK spans covering every field the encoder writes.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import (
    Link,
    NonRecordingSpan,
    SpanContext,
    SpanKind,
    Status,
    StatusCode,
    TraceFlags,
    TraceState,
    set_span_in_context,
)

from crosswalk.telemetry.otlp_wire import WireSpanExporter, encode_request
from scripts.otlp_sink import Received, receiver

REMOTE_PARENT = SpanContext(
    trace_id=0x0AF7651916CD43DD8448EB211C80319C,
    span_id=0xB7AD6B7169203331,
    is_remote=True,
    trace_flags=TraceFlags(TraceFlags.SAMPLED),
    trace_state=TraceState([("vendor", "opaque"), ("crosswalk", "1")]),
)


def _finished_spans() -> list[ReadableSpan]:
    """Spans with every field the encoder writes: kinds, a remote and a local parent, trace
    state, every attribute value type, events, links, statuses, two tracers and two resources."""
    exporter = InMemorySpanExporter()
    for service in ("crosswalk", "crosswalk-relay"):
        provider = TracerProvider(resource=Resource.create({"service.name": service}))
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        tracer = provider.get_tracer("crosswalk", "1.0", schema_url="https://example.com/s")
        other = provider.get_tracer("opentelemetry.instrumentation.requests", "0.66b1")
        remote = set_span_in_context(NonRecordingSpan(REMOTE_PARENT))
        with tracer.start_as_current_span(
            "activity d2c_create_customer",
            context=remote,
            kind=SpanKind.SERVER,
            attributes={
                "crosswalk.sf_account_id": "001Qy00000abcDEF",
                "crosswalk.attempt": 3,
                "crosswalk.compensation": False,
                "crosswalk.ratio": 0.25,
                "crosswalk.negative": -7,
                "crosswalk.big": 2**62,
                "crosswalk.entity.operations": ["apply", "get"],
                "crosswalk.flags": [True, False],
                "crosswalk.numbers": [1, 2, 3],
                "crosswalk.unicode": "Zürich 東京",
            },
            links=[Link(REMOTE_PARENT, {"crosswalk.link": "batch"})],
        ) as parent:
            parent.add_event("retry", {"crosswalk.delay_s": 2.5})
            parent.add_event("")
            with other.start_as_current_span("POST", kind=SpanKind.CLIENT) as client:
                client.set_attribute("http.status_code", 503)
                client.set_status(Status(StatusCode.ERROR))
            with tracer.start_as_current_span("fails") as failing:
                failing.record_exception(ValueError("bad"))
                failing.set_status(Status(StatusCode.ERROR, "permanent d2c"))
            with tracer.start_as_current_span("ok", kind=SpanKind.PRODUCER) as ok:
                ok.set_status(Status(StatusCode.OK))
        with tracer.start_as_current_span("root", kind=SpanKind.CONSUMER):
            pass
    return list(exporter.get_finished_spans())


def test_encoded_request_equals_the_exporters_own() -> None:
    spans = _finished_spans()

    ours = ExportTraceServiceRequest.FromString(encode_request(spans))

    assert ours == encode_spans(spans)


def test_each_span_keeps_its_parent_trace_state_and_remote_flag() -> None:
    spans = _finished_spans()

    ours = ExportTraceServiceRequest.FromString(encode_request(spans))

    [first] = [
        span
        for scope in ours.resource_spans[0].scope_spans
        for span in scope.spans
        if span.name == "activity d2c_create_customer"
    ]
    assert first.trace_state == "vendor=opaque,crosswalk=1"
    assert first.parent_span_id == REMOTE_PARENT.span_id.to_bytes(8, "big")
    assert first.flags == 0x300  # the parent's is_remote is known, and true
    assert len(ours.resource_spans) == 2
    assert [scope.scope.name for scope in ours.resource_spans[0].scope_spans] == [
        "opentelemetry.instrumentation.requests",
        "crosswalk",
    ]


def test_an_attribute_value_it_cannot_encode_is_left_out_and_the_rest_kept() -> None:
    span = next(s for s in _finished_spans() if s.name == "activity d2c_create_customer")
    attributes = dict(span.attributes or {})
    attributes["crosswalk.object"] = object()
    broken = ReadableSpan(
        name=span.name,
        context=span.context,
        parent=span.parent,
        resource=span.resource,
        attributes=attributes,
        kind=span.kind,
        status=span.status,
        start_time=span.start_time,
        end_time=span.end_time,
        instrumentation_scope=span.instrumentation_scope,
    )

    ours = ExportTraceServiceRequest.FromString(encode_request([broken]))

    keys = [kv.key for kv in ours.resource_spans[0].scope_spans[0].spans[0].attributes]
    assert "crosswalk.object" not in keys
    assert "crosswalk.sf_account_id" in keys


@pytest.fixture
def collector() -> Iterator[tuple[str, Received]]:
    """The local OTLP/HTTP receiver (scripts/otlp_sink.py), at its traces endpoint."""
    with receiver() as (endpoint, received):
        yield f"{endpoint}/v1/traces", received


def test_the_exporter_sends_the_encoded_request_with_the_exporters_headers(
    collector: tuple[str, Received],
) -> None:
    endpoint, received = collector
    spans = _finished_spans()
    exporter = WireSpanExporter(endpoint=endpoint, headers={"x-tenant": "crosswalk"})

    result = exporter.export(spans)

    assert result is SpanExportResult.SUCCESS
    [(headers, body)] = received.trace_requests
    assert headers["content-type"] == "application/x-protobuf"
    assert headers["x-tenant"] == "crosswalk"
    assert ExportTraceServiceRequest.FromString(body) == encode_spans(spans)
    exporter.shutdown()


def test_an_exporter_that_was_shut_down_sends_nothing(
    collector: tuple[str, Received],
) -> None:
    endpoint, received = collector
    exporter = WireSpanExporter(endpoint=endpoint)
    exporter.shutdown()

    result = exporter.export(_finished_spans())

    assert result is SpanExportResult.FAILURE
    assert received.trace_requests == []


def test_a_request_over_the_exporters_size_limit_is_dropped_and_a_limit_of_0_sends_all(
    collector: tuple[str, Received],
) -> None:
    endpoint, received = collector
    spans = _finished_spans()
    limited = WireSpanExporter(endpoint=endpoint, max_request_size=64)
    unlimited = WireSpanExporter(endpoint=endpoint, max_request_size=0)

    assert limited.export(spans) is SpanExportResult.FAILURE
    assert unlimited.export(spans) is SpanExportResult.SUCCESS

    [(_, body)] = received.trace_requests
    assert ExportTraceServiceRequest.FromString(body) == encode_spans(spans)
    limited.shutdown()
    unlimited.shutdown()
