"""Crosswalk's own spans at a fraction of the SDK span's cost, through the same provider.

Spans were nearly all of what telemetry cost an onboarding (bench/onboarding.py): with every
span off and metrics and logs on, the overhead was about 1%. Most of a span's cost was the SDK's
general machinery around a few attributes: a lock, bounded attribute and event containers that
validate every value, a second object copied at the end. Crosswalk's spans (activities,
triggers, entity batches, its sessions' client calls) are each made and ended by one thread,
with a handful of string, number and boolean attributes, so a `LeanSpan` keeps them in a dict
and hands itself, a `ReadableSpan`, to the provider's processors when it ends.

What stays the provider's: the sampler (so `OTEL_TRACES_SAMPLER` applies), the id generator,
the resource, the span processors (on_start, on_end; the exporters behind them, Azure Monitor's
included, see a plain `ReadableSpan`) and the span limits. A value that is not a plain string,
number or boolean goes through the SDK's own attribute cleaning. Any other tracer provider gets
the provider's own tracer (`tracer_for`).
"""

from __future__ import annotations

import logging
import sys
import traceback
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from time import time_ns
from typing import Any

from opentelemetry import trace
from opentelemetry.attributes import BoundedAttributes, _clean_attribute_value
from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.sdk.trace import TracerProvider as SdkTracerProvider
from opentelemetry.sdk.trace.sampling import Decision, ParentBased, Sampler, StaticSampler
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import Link, SpanContext, SpanKind, Status, StatusCode, TraceFlags

_logger = logging.getLogger(__name__)
_PLAIN = (str, bool, int, float)
_UNSET = Status(StatusCode.UNSET)
_SAMPLED = frozenset(d for d in Decision if d.is_sampled())
_RECORDING = frozenset(d for d in Decision if d.is_recording())
_TRACE_FLAGS = {
    flags: TraceFlags(flags)
    for flags in (
        0,
        TraceFlags.SAMPLED,
        TraceFlags.RANDOM_TRACE_ID,
        TraceFlags.SAMPLED | TraceFlags.RANDOM_TRACE_ID,
    )
}


class LeanSpan(trace.Span, ReadableSpan):
    """A recording span kept by one thread: attributes in a dict, itself readable at the end.

    What most spans never change (status, events, links, drop counts, the end) starts as a
    class-level default, and resource and scope are the tracer's: a span sets only its own.
    """

    _status = _UNSET
    _events: list[Event] | tuple[()] = ()
    _links: list[Link] | tuple[()] = ()
    _dropped = 0
    _dropped_events = 0
    _dropped_links = 0
    _end_time: int | None = None

    def __init__(
        self,
        tracer: LeanTracer,
        name: str,
        context: SpanContext,
        parent: SpanContext | None,
        kind: SpanKind,
        attributes: Mapping[str, Any],
        end_metrics: Callable[[], None],
    ) -> None:
        self._tracer = tracer
        self._end_metrics = end_metrics
        self._name = name
        self._context = context
        self._parent = parent
        self._kind = kind
        self._attributes: dict[str, Any] = {}
        self._start_time = time_ns()
        self._set(attributes)

    # --- trace.Span -------------------------------------------------------------------------

    def get_span_context(self) -> SpanContext:
        return self._context

    def is_recording(self) -> bool:
        return self._end_time is None

    def set_attribute(self, key: str, value: Any) -> None:
        if self._open("set_attribute"):
            self._set({key: value})

    def set_attributes(self, attributes: Mapping[str, Any]) -> None:
        if self._open("set_attributes"):
            self._set(attributes)

    def add_event(
        self, name: str, attributes: Mapping[str, Any] | None = None, timestamp: int | None = None
    ) -> None:
        limits = self._tracer.limits
        if not self._open("add_event"):
            return
        if not self._events:
            self._events = []
        if limits.max_events is not None and len(self._events) >= limits.max_events:
            self._dropped_events += 1
            if not self._events:  # a limit of 0 keeps none
                return
            del self._events[0]  # the SDK's BoundedList keeps the newest
        cleaned = BoundedAttributes(
            limits.max_event_attributes,
            attributes,
            max_value_len=limits.max_attribute_length,
            immutable=True,
        )
        self._events.append(Event(name=name, attributes=cleaned, timestamp=timestamp))

    def add_link(self, context: SpanContext, attributes: Mapping[str, Any] | None = None) -> None:
        if not self._open("add_link") or context is None or not context.is_valid:
            return
        limits = self._tracer.limits
        if not self._links:
            self._links = []
        if limits.max_links is not None and len(self._links) >= limits.max_links:
            self._dropped_links += 1
            if not self._links:
                return
            del self._links[0]
        cleaned = BoundedAttributes(
            limits.max_link_attributes,
            attributes,
            max_value_len=limits.max_attribute_length,
            immutable=True,
        )
        self._links.append(Link(context, cleaned))

    def record_exception(
        self,
        exception: BaseException,
        attributes: Mapping[str, Any] | None = None,
        timestamp: int | None = None,
        escaped: bool = False,
    ) -> None:
        """An `exception` event with the semantic conventions' attributes, as the SDK makes it."""
        kind = type(exception)
        module = kind.__module__
        recorded: dict[str, Any] = {
            "exception.type": f"{module}.{kind.__qualname__}"
            if module and module != "builtins"
            else kind.__qualname__,
            "exception.message": str(exception),
            "exception.stacktrace": "".join(traceback.format_exception(exception)),
            "exception.escaped": str(escaped),
        }
        recorded.update(attributes or {})
        self.add_event("exception", recorded, timestamp)

    def set_status(self, status: Status | StatusCode, description: str | None = None) -> None:
        """The SDK's rules: OK is final, UNSET is ignored."""
        if not self._open("set_status") or self._status.status_code is StatusCode.OK:
            return
        if isinstance(status, StatusCode):
            status = Status(status, description)
        if status.status_code is not StatusCode.UNSET:
            self._status = status

    def update_name(self, name: str) -> None:
        if self._open("update_name"):
            self._name = name

    def end(self, end_time: int | None = None) -> None:
        if self._end_time is not None:
            _logger.warning("Calling end() on an ended span.")
            return
        self._end_time = end_time if end_time is not None else time_ns()
        self._end_metrics()
        processor = self._tracer.processor
        processor._on_ending(self)
        processor.on_end(self)

    # --- ReadableSpan: what processors and exporters read ---------------------------------

    @property
    def _resource(self) -> Resource:  # type: ignore[override]  # what ReadableSpan reads
        return self._tracer.resource

    @property
    def _instrumentation_scope(self) -> InstrumentationScope | None:  # type: ignore[override]
        return self._tracer.scope

    @property
    def _instrumentation_info(self) -> Any:  # type: ignore[override]
        return self._tracer.info

    @property
    def dropped_attributes(self) -> int:
        return self._dropped

    @property
    def dropped_events(self) -> int:
        return self._dropped_events

    @property
    def dropped_links(self) -> int:
        return self._dropped_links

    # --- inside -----------------------------------------------------------------------------

    def _open(self, what: str) -> bool:
        if self._end_time is None:
            return True
        _logger.warning("Tried calling %s on an ended span.", what)
        return False

    def _set(self, attributes: Mapping[str, Any]) -> None:
        """The SDK's attribute rules (BoundedAttributes): a bad key is dropped and counted, a
        value other than a plain one is cleaned by the SDK's own function, a key set again
        moves to the end, and a full span drops its oldest attribute."""
        limits = self._tracer.limits
        kept = self._attributes
        for key, value in attributes.items():
            if not key or key.__class__ is not str:
                _logger.warning("invalid attribute key %r: must be a non-empty string", key)
                self._dropped += 1
                continue
            if value.__class__ not in _PLAIN or limits.max_attribute_length is not None:
                value = _clean_attribute_value(value, limits.max_attribute_length)
            if key in kept:
                del kept[key]
            elif len(kept) >= self._tracer.max_attributes:
                self._dropped += 1
                if not kept:  # a limit of 0 keeps nothing
                    continue
                del kept[next(iter(kept))]
            kept[key] = value


class LeanTracer(trace.Tracer):
    """Starts `LeanSpan`s with an SDK tracer provider's sampler, ids, resource and processors."""

    def __init__(self, provider: SdkTracerProvider, name: str) -> None:
        sdk_tracer = provider.get_tracer(name)
        self.sdk_tracer = sdk_tracer
        self.resource = provider.resource
        self.scope = sdk_tracer._instrumentation_scope
        self.info = sdk_tracer.instrumentation_info
        self.processor = provider._active_span_processor
        self.limits = provider._span_limits
        limit = self.limits.max_span_attributes
        self.max_attributes = sys.maxsize if limit is None else limit  # None: no limit
        self._sampler = provider.sampler
        self._static = _static_decisions(provider.sampler)
        self._ids = provider.id_generator
        # the SDK's own span counts (off by default)
        self._span_metrics = sdk_tracer._tracer_metrics

    def start_span(
        self,
        name: str,
        context: Context | None = None,
        kind: SpanKind = SpanKind.INTERNAL,
        attributes: Mapping[str, Any] | None = None,
        links: Sequence[Link] | None = (),
        start_time: int | None = None,
        record_exception: bool = True,
        set_status_on_exception: bool = True,
    ) -> trace.Span:
        """What the SDK's `Tracer.start_span` decides (parent, sampling, flags), leanly kept."""
        if not self.sdk_tracer._is_enabled() or links or start_time is not None:
            return self.sdk_tracer.start_span(
                name, context, kind, attributes, links, start_time, record_exception
            )
        parent = trace.get_current_span(context).get_span_context()
        if parent is not None and parent.is_valid:
            trace_id = parent.trace_id
            random_trace_id = parent.trace_flags.random_trace_id
        else:
            parent = None
            trace_id = self._ids.generate_trace_id()
            random_trace_id = self._ids.is_trace_id_random()
        if self._static is not None:  # the decision a parent-based static sampler makes
            root, remote_on, remote_off, local_on, local_off = self._static
            if parent is None:
                decision = root
            elif parent.is_remote:
                decision = remote_on if parent.trace_flags.sampled else remote_off
            else:
                decision = local_on if parent.trace_flags.sampled else local_off
            trace_state = parent.trace_state if parent is not None else None
            kept = attributes or {}
        else:
            sampling = self._sampler.should_sample(context, trace_id, name, kind, attributes, links)
            decision, trace_state = sampling.decision, sampling.trace_state
            kept = sampling.attributes or {}
        flags = TraceFlags.SAMPLED if decision in _SAMPLED else TraceFlags.DEFAULT
        if random_trace_id:
            flags |= TraceFlags.RANDOM_TRACE_ID
        span_context = SpanContext(
            trace_id,
            self._ids.generate_span_id(),
            is_remote=False,
            trace_flags=_TRACE_FLAGS[flags],
            trace_state=trace_state,
        )
        end_metrics = self._span_metrics.start_span(parent, decision)
        if decision not in _RECORDING:
            return trace.NonRecordingSpan(span_context)
        span = LeanSpan(self, name, span_context, parent, kind, kept, end_metrics)
        self.processor.on_start(span, parent_context=context)
        return span

    @contextmanager
    def start_as_current_span(  # type: ignore[override]
        self,
        name: str,
        context: Context | None = None,
        kind: SpanKind = SpanKind.INTERNAL,
        attributes: Mapping[str, Any] | None = None,
        links: Sequence[Link] | None = (),
        start_time: int | None = None,
        record_exception: bool = True,
        set_status_on_exception: bool = True,
        end_on_exit: bool = True,
    ) -> Iterator[trace.Span]:
        span = self.start_span(name, context, kind, attributes, links, start_time)
        with trace.use_span(span, end_on_exit, record_exception, set_status_on_exception):
            yield span


def _static_decisions(sampler: Sampler) -> tuple[Decision, ...] | None:
    """A parent-based sampler whose every choice is a static one (the SDK's default,
    `parentbased_always_on`, among them) decides by the parent alone: its decisions for a
    root, a remote parent sampled or not, and a local one sampled or not. None otherwise."""
    if isinstance(sampler, StaticSampler):
        return (sampler._decision,) * 5
    if not isinstance(sampler, ParentBased):
        return None
    choices = (
        sampler._root,
        sampler._remote_parent_sampled,
        sampler._remote_parent_not_sampled,
        sampler._local_parent_sampled,
        sampler._local_parent_not_sampled,
    )
    if not all(type(choice) is StaticSampler for choice in choices):
        return None
    return tuple(choice._decision for choice in choices)


def tracer_for(provider: trace.TracerProvider, name: str) -> trace.Tracer:
    """Lean spans under an SDK provider; any other provider's own tracer."""
    if isinstance(provider, SdkTracerProvider):
        return LeanTracer(provider, name)
    return provider.get_tracer(name)
