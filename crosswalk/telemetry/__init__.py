"""Observability: OpenTelemetry traces, metrics and logs, correlated by account.

`configure(settings)` runs once at app start (function_app.py) and does nothing unless
`APPLICATIONINSIGHTS_CONNECTION_STRING` or `OTEL_EXPORTER_OTLP_ENDPOINT` is set; until then
every span helper and instrument here is a no-op.
"""

from crosswalk.telemetry import instruments as metric
from crosswalk.telemetry.correlation import calling, correlated
from crosswalk.telemetry.setup import configure, install
from crosswalk.telemetry.tracing import (
    TRACE_KEY,
    active,
    current_traceparent,
    span,
    traced_activity,
    trigger_span,
)

__all__ = [
    "TRACE_KEY",
    "active",
    "calling",
    "configure",
    "correlated",
    "current_traceparent",
    "install",
    "metric",
    "span",
    "traced_activity",
    "trigger_span",
]
