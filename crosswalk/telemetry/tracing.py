"""Spans Crosswalk makes itself: one per activity run, and one per trigger invocation.

Client spans for the calls to outside systems come from Crosswalk's sessions and the
requests instrumentation (setup.py); these spans are their parents, and carry the workflow's
correlation (correlation.py) so every span below them does too.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, Tracer
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from crosswalk.errors import ActivityFailure
from crosswalk.telemetry import correlation as corr
from crosswalk.telemetry import lean_spans

TRACE_KEY = "_trace"
"""The key under which orchestrators/steps.py hands an activity its workflow's correlation."""

_propagator = TraceContextTextMapPropagator()
_tracer: Tracer | None = None


def use(tracer: Tracer | None) -> None:
    global _tracer
    _tracer = tracer


def active() -> bool:
    return _tracer is not None


def current_tracer() -> Tracer | None:
    return _tracer


def current_traceparent() -> str | None:
    """The W3C traceparent of the current span, to carry into an orchestration's input."""
    if _tracer is None:
        return None
    carrier: dict[str, str] = {}
    _propagator.inject(carrier)
    return carrier.get("traceparent")


def record_failure(span: Span, exc: BaseException) -> None:
    """A failure with the error taxonomy's words: kind (transient/permanent), system, code."""
    failure = ActivityFailure.parse(exc)
    span.set_attributes(
        {
            "crosswalk.error.kind": str(failure.kind),
            "crosswalk.error.system": failure.system,
            "crosswalk.error.status": failure.status if failure.status is not None else -1,
            "crosswalk.error.code": failure.code or "-",
        }
    )
    span.record_exception(exc)
    span.set_status(Status(StatusCode.ERROR, f"{failure.kind} {failure.system}"))


_parents: dict[tuple[str, str], Context] = {}


def _parent(traceparent: str, tracestate: str | None) -> Context:
    """The context a W3C traceparent names, parsed once: an orchestration hands the same one
    to each of its activities, and the parse (a regular expression, a TraceState) is a tenth
    of what a span costs."""
    key = (traceparent, tracestate or "")
    parent = _parents.get(key)
    if parent is None:
        parent = _propagator.extract({"traceparent": traceparent, "tracestate": key[1]})
        if len(_parents) >= 1024:
            _parents.clear()
        _parents[key] = parent
    return parent


class _Active:
    """A span made current for a `with` block: a class rather than a generator-based context
    manager, as this runs around every activity, trigger and entity batch."""

    __slots__ = ("_correlation", "_token", "span")

    def __init__(
        self,
        tracer: Tracer,
        name: str,
        parent: Context | None,
        kind: SpanKind,
        attributes: dict[str, Any],
    ) -> None:
        self._correlation = corr.enter(
            {k: v for k, v in attributes.items() if k in corr.CORRELATION}
        )
        self.span = tracer.start_span(
            name, context=parent, kind=kind, attributes=attributes, record_exception=False
        )
        self._token = otel_context.attach(trace.set_span_in_context(self.span))

    def __enter__(self) -> Span:
        return self.span

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: Any
    ) -> None:
        try:
            if exc is not None:
                record_failure(self.span, exc)
        finally:
            otel_context.detach(self._token)
            self.span.end()
            corr.leave(self._correlation)


_NO_SPAN = nullcontext(None)


def span(
    name: str,
    *,
    traceparent: str | None = None,
    tracestate: str | None = None,
    attributes: Mapping[str, Any] | None = None,
    kind: SpanKind = SpanKind.INTERNAL,
) -> AbstractContextManager[Span | None]:
    """A span continuing `traceparent` (else the current context), correlated by `attributes`.

    Without telemetry it is a context manager that yields None. The span is made current by
    hand rather than through the SDK's `start_as_current_span`, whose two nested generator
    context managers cost more than the rest of this function.
    """
    if _tracer is None:
        return _NO_SPAN
    clean = {k: v for k, v in (attributes or {}).items() if v is not None}
    parent = _parent(traceparent, tracestate) if traceparent else None
    return _Active(_tracer, name, parent, kind, clean)


@contextmanager
def trigger_span(name: str, context: Any = None, **attributes: Any) -> Iterator[Span | None]:
    """The span of one trigger invocation, continuing the host's trace context.

    Azure hands a function the invocation's W3C trace context as `context.trace_context`
    (for an HTTP trigger: a child of the caller's `traceparent`); devhost does the same.
    """
    trace_context = getattr(context, "trace_context", None)
    with span(
        name,
        traceparent=getattr(trace_context, "trace_parent", None) or None,
        tracestate=getattr(trace_context, "trace_state", None) or None,
        attributes={f"crosswalk.{k}": v for k, v in attributes.items()},
    ) as current:
        yield current


def _subject(payload: Any, trace_info: Mapping[str, Any]) -> dict[str, Any]:
    """Correlation for an activity run: from its workflow, else from well-known payload keys."""
    fields = payload if isinstance(payload, dict) else {}
    return {
        corr.INSTANCE_ID: trace_info.get("instance_id"),
        corr.WORKFLOW: trace_info.get("workflow"),
        corr.SF_ACCOUNT_ID: trace_info.get("sf_account_id")
        or fields.get("sf_account_id")
        or fields.get("account_id"),
        corr.D2C_CUSTOMER_ID: trace_info.get("d2c_customer_id") or fields.get("customer_id"),
    }


def traced_activity(fn: Callable[..., Any], input_name: str, name: str | None = None) -> Any:
    """Wrap an activity: take the workflow's correlation off its input, run it in a span.

    The activity itself never sees the `_trace` key. The wrapper keeps the function's
    signature and annotations (functools.wraps), which is what the Functions worker indexes.
    """
    activity = name or fn.__name__

    def prepare(kwargs: dict[str, Any]) -> dict[str, Any]:
        payload = kwargs.get(input_name)
        if isinstance(payload, dict) and TRACE_KEY in payload:
            payload = dict(payload)
            trace_info = payload.pop(TRACE_KEY) or {}
            kwargs[input_name] = payload
        else:
            trace_info = {}
        attributes = _subject(payload, trace_info)
        attributes[corr.STEP] = activity
        attributes["crosswalk.attempt"] = trace_info.get("attempt")
        attributes["crosswalk.compensation"] = bool(trace_info.get("compensation"))
        return {"traceparent": trace_info.get("traceparent"), "attributes": attributes}

    def finish(current: Span | None, result: Any) -> None:
        if current is not None and isinstance(result, dict) and result.get("customer_id"):
            current.set_attribute(corr.D2C_CUSTOMER_ID, str(result["customer_id"]))

    if inspect.iscoroutinefunction(fn):

        @functools.wraps(fn)
        async def run_async(*args: Any, **kwargs: Any) -> Any:
            if _tracer is None:
                return await fn(*args, **_stripped(kwargs, input_name))
            opts = prepare(kwargs)
            with span(f"activity {activity}", **opts) as current:
                result = await fn(*args, **kwargs)
                finish(current, result)
                return result

        return run_async

    @functools.wraps(fn)
    def run(*args: Any, **kwargs: Any) -> Any:
        if _tracer is None:
            return fn(*args, **_stripped(kwargs, input_name))
        opts = prepare(kwargs)
        with span(f"activity {activity}", **opts) as current:
            result = fn(*args, **kwargs)
            finish(current, result)
            return result

    return run


def _stripped(kwargs: dict[str, Any], input_name: str) -> dict[str, Any]:
    payload = kwargs.get(input_name)
    if isinstance(payload, dict) and TRACE_KEY in payload:
        kwargs[input_name] = {k: v for k, v in payload.items() if k != TRACE_KEY}
    return kwargs


def tracer_of(provider: trace.TracerProvider) -> Tracer:
    return lean_spans.tracer_for(provider, "crosswalk")
