"""The client span of a call Crosswalk's own sessions make (Salesforce, D2C, chat).

The requests instrumentation would make the same span for every `Session.send`, but through a
general path (URL parsing twice, semantic-convention mode checks, header capture, metric label
sets for histograms Crosswalk turns off) that cost about twice a plain span per call. A session
that knows its system makes the span here instead, with what the instrumentation records under
the default (old) HTTP conventions: name = method, kind client, `http.method`, `http.url`
(credentials and signed query parameters redacted the instrumentation's way),
`user_agent.original`, `http.status_code`, status error from 400 on or on an exception; and it
injects the `traceparent`. The instrumentation is suppressed inside, so there is one span per
call. With `OTEL_SEMCONV_STABILITY_OPT_IN` naming http, the instrumentation makes the span, as
only it writes the new conventions.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import Any, TypeVar

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.instrumentation.utils import (
    _SUPPRESS_HTTP_INSTRUMENTATION_KEY as _SUPPRESS_HTTP,
)
from opentelemetry.instrumentation.utils import (
    is_http_instrumentation_enabled,
)
from opentelemetry.propagate import inject
from opentelemetry.trace import SpanKind, Status, StatusCode
from opentelemetry.util.http import (
    PARAMS_TO_REDACT,
    detect_synthetic_user_agent,
    normalize_user_agent,
    redact_url,
)

from crosswalk.telemetry import correlation, tracing

T = TypeVar("T")

REDACTED_SYSTEMS = frozenset({"chat"})
"""Systems whose URL is a secret: their client spans keep only scheme and host."""

_USER_AGENT_SYNTHETIC_TYPE = "user_agent.synthetic.type"


def lean() -> bool:
    """Whether Crosswalk's sessions make their own client spans (telemetry on, old conventions)."""
    return tracing.active() and "http" not in os.environ.get("OTEL_SEMCONV_STABILITY_OPT_IN", "")


def span_url(url: str, system: str | None) -> str:
    """The URL a client span records: the instrumentation's redaction, or scheme and host only
    for a system whose URL is a secret."""
    if system in REDACTED_SYSTEMS:
        from urllib.parse import urlsplit

        parts = urlsplit(url)
        return f"{parts.scheme}://{parts.hostname}/[redacted]"
    if "@" in url or _may_name_a_secret(url):  # redact_url returns anything else unchanged
        return redact_url(url)
    return url


_SECRET_PARAMETERS = frozenset(PARAMS_TO_REDACT)


def _may_name_a_secret(url: str) -> bool:
    """Whether redact_url could redact a query parameter of `url`: one named as it redacts,
    or one whose name is encoded (`%`, `+`) and so could decode to such a name. Salesforce's
    query URLs carry a long encoded SOQL value, which redact_url would parse for nothing."""
    _, marked, query = url.partition("?")
    if not marked:
        return False
    for pair in query.partition("#")[0].split("&"):
        name = pair.partition("=")[0]
        if name in _SECRET_PARAMETERS or "%" in name or "+" in name:
            return True
    return False


@functools.lru_cache(maxsize=64)
def _user_agent(header: str | bytes | None) -> dict[str, str]:
    """The user-agent attributes the instrumentation records, worked out once per header: a
    session sends the same one on every call."""
    user_agent = normalize_user_agent(header)
    if not user_agent:
        return {}
    attributes = {"user_agent.original": user_agent}
    synthetic = detect_synthetic_user_agent(user_agent)
    if synthetic:
        attributes[_USER_AGENT_SYNTHETIC_TYPE] = synthetic
    return attributes


def traced_send(request: Any, system: str, send: Callable[[], T]) -> T:
    """Run `send` (one `Session.send` of the prepared `request`) in its client span."""
    tracer = tracing.current_tracer()
    if tracer is None or not is_http_instrumentation_enabled():
        return send()
    method = str(request.method or "GET").upper()
    attributes: dict[str, Any] = {
        **correlation.current(),  # at the start, so the correlation processor adds nothing
        correlation.SYSTEM: system,
        "http.method": method,
        "http.url": span_url(str(request.url), system),
    }
    attributes.update(_user_agent(request.headers.get("User-Agent")))
    span = tracer.start_span(method, kind=SpanKind.CLIENT, attributes=attributes)
    # One context for the call: the span current (for `inject`), the instrumentation told
    # to stand aside (one span per call): what suppress_http_instrumentation() sets, in one
    # attach instead of two nested generator context managers.
    current = trace.set_span_in_context(span)
    token = otel_context.attach(otel_context.set_value(_SUPPRESS_HTTP, True, current))
    try:
        inject(request.headers)
        response = send()
    except BaseException as exc:
        if isinstance(exc, Exception):  # what the SDK's use_span records for its spans
            span.record_exception(exc)
            span.set_status(Status(StatusCode.ERROR, f"{type(exc).__name__}: {exc}"))
        span.end()
        raise
    finally:
        otel_context.detach(token)
    status = getattr(response, "status_code", None)
    if isinstance(status, int):
        span.set_attribute("http.status_code", status)
        if status >= 400 or status < 100:
            span.set_status(Status(StatusCode.ERROR))
    span.end()
    return response
