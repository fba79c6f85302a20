"""Turn telemetry on once, at app start, from the telemetry settings; or leave it all off.

- `APPLICATIONINSIGHTS_CONNECTION_STRING`: the Azure Monitor OpenTelemetry distro
  (traces, metrics and logs to Application Insights), sending with the app's managed identity
  when `APPLICATIONINSIGHTS_AUTHENTICATION_STRING` is `Authorization=AAD` (local auth off);
- `OTEL_EXPORTER_OTLP_ENDPOINT`: OTLP over HTTP/protobuf to that collector;
- both: both, through the same providers; neither: nothing is installed at all.

Client spans come from the requests instrumentation (Salesforce, D2C, the chat webhook, and
the Azure SDK's Blob and Cosmos calls, which go through requests). The Durable client's calls
to the Functions host's own HTTP API (aiohttp) get none: they stay on the instance, the
orchestration carries the caller's trace in its input, and at three calls an onboarding they
were a fifth of its spans and of what telemetry cost (bench/onboarding.py). The chat
webhook's URL is a secret, so its client spans keep only scheme and host.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from opentelemetry import metrics, trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor

from crosswalk.settings import TelemetrySettings
from crosswalk.telemetry import client_spans, correlation, instruments, tracing

_lock = threading.Lock()
_configured = False
_URL_ATTRIBUTES = ("url.full", "http.url")


def configure(settings: TelemetrySettings) -> bool:
    """Install exporters and instrumentations once; True when telemetry is on."""
    global _configured
    with _lock:
        if _configured or not settings.enabled:
            return _configured
        resource = Resource.create({"service.name": settings.otel_service_name})
        processors: list[SpanProcessor] = [correlation.CorrelationSpanProcessor()]
        readers: list[Any] = []
        log_processors: list[Any] = []
        if settings.otel_exporter_otlp_endpoint is not None:
            _otlp(settings, processors, readers, log_processors)
        if settings.applicationinsights_connection_string is not None:
            _azure_monitor(settings, resource, processors, readers, log_processors)
        else:
            _sdk_providers(resource, processors, readers, log_processors)
        instrument_clients()
        install(trace.get_tracer_provider(), metrics.get_meter_provider())
        app_logs = logging.getLogger("crosswalk")
        if app_logs.level == logging.NOTSET:  # the app's own INFO lines are operational facts
            app_logs.setLevel(logging.INFO)
        _configured = True
        return True


def install(tracer_provider: trace.TracerProvider, meter_provider: metrics.MeterProvider) -> None:
    """Point Crosswalk's spans and instruments at these providers (tests pass in-memory ones)."""
    tracing.use(tracing.tracer_of(tracer_provider))
    instruments.use(instruments.Instruments.build(meter_provider))
    correlation.install_log_correlation()


def _otlp(
    settings: TelemetrySettings,
    processors: list[SpanProcessor],
    readers: list[Any],
    log_processors: list[Any],
) -> None:
    from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
    from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    from crosswalk.telemetry.otlp_wire import WireSpanExporter

    base = str(settings.otel_exporter_otlp_endpoint).rstrip("/")
    processors.append(BatchSpanProcessor(WireSpanExporter(endpoint=f"{base}/v1/traces")))
    readers.append(
        PeriodicExportingMetricReader(
            OTLPMetricExporter(endpoint=f"{base}/v1/metrics"),
            export_interval_millis=settings.otel_metric_export_interval,
        )
    )
    log_processors.append(BatchLogRecordProcessor(OTLPLogExporter(endpoint=f"{base}/v1/logs")))


def _azure_monitor(
    settings: TelemetrySettings,
    resource: Resource,
    processors: list[SpanProcessor],
    readers: list[Any],
    log_processors: list[Any],
) -> None:
    from azure.monitor.opentelemetry import configure_azure_monitor

    assert settings.applicationinsights_connection_string is not None
    configure_azure_monitor(
        connection_string=settings.applicationinsights_connection_string.get_secret_value(),
        credential=azure_monitor_credential(settings),
        resource=resource,
        span_processors=processors,
        metric_readers=readers,
        log_record_processors=log_processors,
        # requests is instrumented below with the secret-URL hook; urllib3 under it would
        # make a second client span per call (and see the chat webhook's full URL).
        instrumentation_options={
            "requests": {"enabled": False},
            "urllib3": {"enabled": False},
            "urllib": {"enabled": False},
        },
    )


def azure_monitor_credential(settings: TelemetrySettings) -> Any:
    """The managed identity the authentication string names (None: the connection string
    alone, which Application Insights refuses once local auth is off)."""
    text = settings.applicationinsights_authentication_string
    if text is None:
        return None
    from azure.identity import ManagedIdentityCredential

    fields = dict(part.split("=", 1) for part in text.split(";"))
    return ManagedIdentityCredential(client_id=fields.get("ClientId"))


def _sdk_providers(
    resource: Resource,
    processors: list[SpanProcessor],
    readers: list[Any],
    log_processors: list[Any],
) -> None:
    from azure.core.settings import settings as azure_core
    from opentelemetry._logs import set_logger_provider
    from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
    from opentelemetry.sdk.metrics import AlwaysOffExemplarFilter, MeterProvider
    from opentelemetry.sdk.trace import TracerProvider

    tracer_provider = TracerProvider(resource=resource)
    for processor in processors:
        tracer_provider.add_span_processor(processor)
    trace.set_tracer_provider(tracer_provider)
    metrics.set_meter_provider(
        MeterProvider(
            resource=resource,
            metric_readers=readers,
            exemplar_filter=AlwaysOffExemplarFilter(),  # exemplars cost per measurement
        )
    )
    logger_provider = LoggerProvider(resource=resource)
    for log_processor in log_processors:
        logger_provider.add_log_record_processor(log_processor)
    set_logger_provider(logger_provider)
    logging.getLogger().addHandler(LoggingHandler(logger_provider=logger_provider))
    azure_core.tracing_implementation = "opentelemetry"  # Blob and Cosmos SDK spans


def _redact_secret_urls(span: Any, request: Any) -> None:
    """requests hook: a client span to a system whose URL is a secret keeps scheme and host."""
    system = correlation.current_system()
    if system in client_spans.REDACTED_SYSTEMS and span.is_recording():
        for key in _URL_ATTRIBUTES:
            span.set_attribute(key, client_spans.span_url(str(getattr(request, "url", "")), system))


def instrument_clients(tracer_provider: trace.TracerProvider | None = None) -> None:
    """Client spans for requests (the global tracer provider unless one is given)."""
    from opentelemetry.instrumentation.requests import RequestsInstrumentor
    from opentelemetry.metrics import NoOpMeterProvider

    # Its own duration histogram would repeat crosswalk.external.duration: spans only.
    RequestsInstrumentor().instrument(
        request_hook=_redact_secret_urls,
        tracer_provider=tracer_provider,
        meter_provider=NoOpMeterProvider(),
    )


def uninstrument_clients() -> None:
    from opentelemetry.instrumentation.requests import RequestsInstrumentor

    RequestsInstrumentor().uninstrument()
