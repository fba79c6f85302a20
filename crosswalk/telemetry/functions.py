"""Spans around whole function invocations, put on a blueprint's functions in one place.

- Every HTTP and Event Grid function runs in a span that continues its caller's trace: an
  HTTP request's (the host hands it over as `context.trace_context`), and a CloudEvent's
  `traceparent` / `tracestate` extension attributes (the CloudEvents distributed tracing
  extension) when the event carries them.
- Every entity function runs each operation batch in one span named after the entity, with
  its id, the operations, and how many failed.

The Functions worker passes `context` only to a function whose signature names it, so the
wrapper adds the parameter; a function that takes `context` already makes its own span.
"""

from __future__ import annotations

import functools
import inspect
import json
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import azure.functions as func
from opentelemetry.trace import Span, Status, StatusCode

from crosswalk.telemetry import correlation as corr
from crosswalk.telemetry import tracing

_TRACED = ("httpTrigger", "eventGridTrigger")
_MAY_HAVE_FAILED = re.compile(r'"isError"\s*:\s*true')
"""A failed operation in the SDK's batch answer; a state holding this text only costs a parse."""


def trace_functions(blueprint: Any) -> None:
    """Wrap each HTTP, Event Grid and entity function registered on `blueprint` so far."""
    for builder in blueprint._function_builders:
        function = builder._function
        kind = function.get_trigger().get_binding_name()
        if kind in _TRACED:
            function._func = _with_trigger_span(function._func, function.get_function_name())
        elif kind == "entityTrigger":
            function._func = _with_batch_span(function._func, function.get_function_name())


def _with_trigger_span(user: Callable[..., Any], name: str) -> Callable[..., Any]:
    signature = inspect.signature(user)
    if "context" in signature.parameters:
        return user  # it continues the trace itself (triggers/onboarding.py)

    if inspect.iscoroutinefunction(user):

        @functools.wraps(user)
        async def run_async(*args: Any, context: Any = None, **kwargs: Any) -> Any:
            with _invocation(name, context, kwargs):
                return await user(*args, **kwargs)

        wrapper: Callable[..., Any] = run_async
    else:

        @functools.wraps(user)
        def run(*args: Any, context: Any = None, **kwargs: Any) -> Any:
            with _invocation(name, context, kwargs):
                return user(*args, **kwargs)

        wrapper = run
    extra = inspect.Parameter("context", inspect.Parameter.KEYWORD_ONLY, annotation=func.Context)
    wrapper.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=[*signature.parameters.values(), extra]
    )
    wrapper.__annotations__ = {**getattr(user, "__annotations__", {}), "context": func.Context}
    return wrapper


@contextmanager
def _invocation(name: str, context: Any, kwargs: dict[str, Any]) -> Iterator[Span | None]:
    """The invocation's span: under the CloudEvent's trace if it names one, else the host's."""
    trace_context = getattr(context, "trace_context", None)
    traceparent = getattr(trace_context, "trace_parent", None) or None
    tracestate = getattr(trace_context, "trace_state", None) or None
    for value in kwargs.values():
        if isinstance(value, func.CloudEvent):
            attrs = value.extension_attrs
            if attrs.get("traceparent"):
                traceparent = str(attrs["traceparent"])
                tracestate = str(attrs["tracestate"]) if attrs.get("tracestate") else None
    with tracing.span(
        f"trigger {name}",
        traceparent=traceparent,
        tracestate=tracestate,
        attributes={"crosswalk.function": name},
    ) as current:
        yield current


def _with_batch_span(handle: Callable[..., Any], name: str) -> Callable[..., Any]:
    """Around the SDK's entity handle, which runs a whole batch and answers for all of it."""

    @functools.wraps(handle)
    def run(context: Any) -> Any:
        if not tracing.active():
            return handle(context)
        body = getattr(context, "body", None) or context
        batch = _batch_of(body)
        with tracing.span(f"entity {name}", attributes=batch) as current:
            answer = handle(context)
            if current is not None:
                _record_outcomes(current, answer)
            return answer

    return run


def _batch_of(body: Any) -> dict[str, Any]:
    """The entity id and its operations, read from the batch the extension sends (§3.1)."""
    try:
        request = json.loads(body) if isinstance(body, str | bytes) else {}
        entity = request.get("self") or {}
        operations = [str(op.get("name")) for op in request.get("batch") or []]
    except (ValueError, AttributeError):
        return {}
    name, key = str(entity.get("name")), str(entity.get("key"))
    attributes: dict[str, Any] = {
        "crosswalk.entity.id": f"@{name}@{key}",
        "crosswalk.entity.name": name,
        "crosswalk.entity.key": key,
        "crosswalk.entity.operations": operations,
        "crosswalk.entity.batch_size": len(operations),
    }
    if name == "record_sync":  # one per Salesforce Account: the key is its id
        attributes[corr.SF_ACCOUNT_ID] = key
    return attributes


def _record_outcomes(current: Span, answer: Any) -> None:
    if isinstance(answer, str) and not _MAY_HAVE_FAILED.search(answer):
        failed, results = 0, ()  # the answer carries the entity's whole state: parse only if needed
    else:
        try:
            results = json.loads(answer).get("results") or []
        except (TypeError, ValueError, AttributeError):
            return
        failed = sum(1 for result in results if result.get("isError"))
    current.set_attribute("crosswalk.entity.failed_operations", failed)
    if failed:
        current.set_status(Status(StatusCode.ERROR, f"{failed} of {len(results)} failed"))
