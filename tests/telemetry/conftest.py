"""In-process telemetry with the OpenTelemetry SDK's in-memory exporters."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from crosswalk.telemetry import correlation, instruments, setup, tracing


@dataclass
class Captured:
    exporter: InMemorySpanExporter
    reader: InMemoryMetricReader

    def spans(self) -> list[ReadableSpan]:
        return list(self.exporter.get_finished_spans())

    def points(self, metric: str) -> dict[tuple[tuple[str, Any], ...], Any]:
        """Current value of `metric` per attribute set (sums: value; histograms: count)."""
        data = self.reader.get_metrics_data()
        found: dict[tuple[tuple[str, Any], ...], Any] = {}
        for resource in data.resource_metrics if data else []:
            for scope in resource.scope_metrics:
                for m in scope.metrics:
                    if m.name != metric:
                        continue
                    for point in m.data.data_points:
                        value = getattr(point, "value", None)
                        found[tuple(sorted(point.attributes.items()))] = (
                            point.count if value is None else value
                        )
        return found


@pytest.fixture
def telemetry() -> Iterator[Captured]:
    """Crosswalk's spans, client spans and instruments pointed at in-memory exporters."""
    exporter = InMemorySpanExporter()
    reader = InMemoryMetricReader()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(correlation.CorrelationSpanProcessor())
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    meter_provider = MeterProvider(metric_readers=[reader])
    setup.install(tracer_provider, meter_provider)
    setup.instrument_clients(tracer_provider)
    try:
        yield Captured(exporter, reader)
    finally:
        setup.uninstrument_clients()
        tracing.use(None)
        instruments.use(None)
        tracer_provider.shutdown()
        meter_provider.shutdown()
