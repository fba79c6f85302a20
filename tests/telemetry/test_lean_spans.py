"""Crosswalk's lean spans against the SDK's own: the same operations export the same span.

The referee is the OpenTelemetry SDK: each test does the same things to an SDK span and to a
lean span under one provider and compares what its processors receive.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, SpanLimits, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ALWAYS_ON, ParentBased, TraceIdRatioBased
from opentelemetry.trace import (
    NonRecordingSpan,
    SpanContext,
    SpanKind,
    Status,
    StatusCode,
    TraceFlags,
    TraceState,
)

from crosswalk.telemetry import correlation
from crosswalk.telemetry.lean_spans import LeanSpan, LeanTracer, tracer_for

PARENT = SpanContext(
    trace_id=0x4BF92F3577B34DA6A3CE929D0E0E4736,
    span_id=0x00F067AA0BA902B7,
    is_remote=True,
    trace_flags=TraceFlags(TraceFlags.SAMPLED),
    trace_state=TraceState([("vendor", "x")]),
)
FAILURE = ValueError("D2C answered 422")


def _provider(**options: Any) -> tuple[TracerProvider, InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider(**options)
    provider.add_span_processor(correlation.CorrelationSpanProcessor())
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider, exporter


def _exported(span: ReadableSpan) -> dict[str, Any]:
    """Everything an exporter reads, but the span's own id and times."""
    return {
        "name": span.name,
        "kind": span.kind,
        "trace_id": span.context.trace_id,
        "trace_flags": span.context.trace_flags,
        "trace_state": span.context.trace_state,
        "parent": span.parent,
        "attributes": dict(span.attributes or {}),
        "dropped_attributes": span.dropped_attributes,
        "events": [(e.name, dict(e.attributes or {})) for e in span.events],
        "dropped_events": span.dropped_events,
        "status": (span.status.status_code, span.status.description),
        "resource": span.resource,
        "scope": span.instrumentation_scope,
    }


def _both(provider: TracerProvider, exporter: InMemorySpanExporter, work: Callable[[Any], None]):
    """Run `work` on an SDK span, then on a lean span; what each exported."""
    context = trace.set_span_in_context(NonRecordingSpan(PARENT))
    attributes = {"crosswalk.step": "d2c_create_customer", "crosswalk.attempt": 2}
    for tracer in (provider.get_tracer("crosswalk"), LeanTracer(provider, "crosswalk")):
        span = tracer.start_span(
            "activity d2c_create_customer", context, SpanKind.SERVER, attributes
        )
        work(span)
        span.end()
    sdk, lean = exporter.get_finished_spans()
    assert isinstance(lean, LeanSpan) and not isinstance(sdk, LeanSpan)
    return _exported(sdk), _exported(lean)


def _everything(span: Any) -> None:
    span.set_attribute("crosswalk.sf_account_id", "001Qy00000abcDEF")
    span.set_attributes(
        {
            "crosswalk.compensation": False,
            "crosswalk.ratio": 0.5,
            "crosswalk.entity.operations": ["apply", "get"],
            "crosswalk.none": None,
            "crosswalk.object": object(),
            "": "no key",
        }
    )
    span.add_event("retry", {"crosswalk.delay_s": 2.5})
    span.record_exception(FAILURE, {"crosswalk.kind": "permanent"})
    span.set_status(Status(StatusCode.ERROR, "permanent d2c"))
    span.set_status(StatusCode.UNSET)  # ignored, as UNSET always is
    span.update_name("activity d2c_create_customer (retried)")


def test_a_lean_span_exports_what_an_sdk_span_exports():
    provider, exporter = _provider()

    sdk, lean = _both(provider, exporter, _everything)

    assert lean == sdk


def test_ok_is_final_for_a_lean_span_as_for_an_sdk_span():
    provider, exporter = _provider()

    def work(span: Any) -> None:
        span.set_status(StatusCode.OK)
        span.set_status(Status(StatusCode.ERROR, "too late"))

    sdk, lean = _both(provider, exporter, work)

    assert lean["status"] == sdk["status"] == (StatusCode.OK, None)


def test_span_limits_drop_and_truncate_alike():
    limits = SpanLimits(max_span_attributes=3, max_attribute_length=4, max_events=1)
    provider, exporter = _provider(span_limits=limits)

    def work(span: Any) -> None:
        span.set_attributes({"a": "abcdefgh", "b": 1, "c": ["wxyz1", "v"], "d": True})
        span.add_event("first")
        span.add_event("second")

    sdk, lean = _both(provider, exporter, work)

    assert lean == sdk
    assert lean["dropped_attributes"] == 3 and lean["dropped_events"] == 1


def test_an_ended_lean_span_changes_no_more():
    provider, exporter = _provider()
    span = LeanTracer(provider, "crosswalk").start_span("trigger onboard")
    span.end()

    span.set_attribute("crosswalk.late", "yes")
    span.set_status(StatusCode.ERROR)
    span.end()

    (exported,) = exporter.get_finished_spans()
    assert "crosswalk.late" not in exported.attributes
    assert exported.status.status_code is StatusCode.UNSET
    assert not span.is_recording()


@pytest.mark.parametrize(
    ("sampler", "parent_flags"),
    [
        (ALWAYS_OFF, TraceFlags.SAMPLED),
        (ParentBased(ALWAYS_ON), TraceFlags.DEFAULT),
        (ParentBased(TraceIdRatioBased(1.0)), TraceFlags.DEFAULT),
    ],
)
def test_the_providers_sampler_decides(sampler: Any, parent_flags: int):
    provider, exporter = _provider(sampler=sampler)
    parent = SpanContext(PARENT.trace_id, PARENT.span_id, True, TraceFlags(parent_flags))

    span = LeanTracer(provider, "crosswalk").start_span(
        "activity x", trace.set_span_in_context(NonRecordingSpan(parent))
    )
    span.end()

    assert not span.is_recording()
    assert span.get_span_context().trace_id == PARENT.trace_id
    assert exporter.get_finished_spans() == ()


def test_a_root_lean_span_gets_a_new_trace_and_the_random_flag_like_the_sdks():
    provider, exporter = _provider()

    for tracer in (provider.get_tracer("crosswalk"), LeanTracer(provider, "crosswalk")):
        tracer.start_span("root").end()

    sdk, lean = exporter.get_finished_spans()
    assert lean.parent is None and lean.context.trace_id != sdk.context.trace_id
    assert lean.context.trace_flags == sdk.context.trace_flags


def test_another_tracer_provider_keeps_its_own_tracer():
    provider = trace.NoOpTracerProvider()

    tracer = tracer_for(provider, "crosswalk")

    assert not isinstance(tracer, LeanTracer)
    assert not tracer.start_span("x").is_recording()


@pytest.mark.parametrize("limit", [0, None])
def test_no_attributes_or_no_limit_alike(limit: int | None):
    limits = SpanLimits(max_span_attributes=limit)
    if limit is None:  # SpanLimits reads None as "the default"; UNSET is "no limit"
        limits = SpanLimits(max_span_attributes=SpanLimits.UNSET)
    provider, exporter = _provider(span_limits=limits)

    def work(span: Any) -> None:
        span.set_attributes({f"crosswalk.k{i}": i for i in range(200)})

    sdk, lean = _both(provider, exporter, work)

    assert lean == sdk


def test_no_events_kept_alike():
    provider, exporter = _provider(span_limits=SpanLimits(max_events=0))

    def work(span: Any) -> None:
        span.add_event("retry")
        span.record_exception(FAILURE)

    sdk, lean = _both(provider, exporter, work)

    assert lean == sdk
    assert lean["events"] == [] and lean["dropped_events"] == 2


def _as_application_insights_sees_it(span: ReadableSpan) -> list[dict[str, Any]]:
    """The Azure Monitor exporter's envelopes for a span and its events, without what is the
    span's own (its id, times, duration)."""
    from azure.monitor.opentelemetry.exporter.export.trace._exporter import (
        _convert_span_events_to_envelopes,
        _convert_span_to_envelope,
    )

    own = (f"{span.context.span_id:016x}", "time", "duration", "id")
    envelopes = [_convert_span_to_envelope(span), *_convert_span_events_to_envelopes(span)]

    def strip(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if k not in own and v not in own}
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value

    return [strip(envelope.as_dict()) for envelope in envelopes]


@pytest.mark.parametrize("kind", [SpanKind.SERVER, SpanKind.CLIENT, SpanKind.INTERNAL])
def test_application_insights_gets_the_same_telemetry_from_a_lean_span(kind: SpanKind):
    provider, exporter = _provider()
    context = trace.set_span_in_context(NonRecordingSpan(PARENT))
    for tracer in (provider.get_tracer("crosswalk"), LeanTracer(provider, "crosswalk")):
        span = tracer.start_span("POST", context, kind, {"http.method": "POST"})
        span.set_attributes({"http.url": "https://d2c.example.com/v1/customers", "crosswalk.x": 1})
        span.set_attribute("http.status_code", 503)
        span.record_exception(FAILURE)
        span.set_status(Status(StatusCode.ERROR))
        span.end()

    sdk, lean = exporter.get_finished_spans()

    assert _as_application_insights_sees_it(lean) == _as_application_insights_sees_it(sdk)
