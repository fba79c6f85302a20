"""What ties a span, a metric and a log line to one account: the correlation attributes.

An activity run (or a trigger) sets them once with `correlated(...)`; every span started
while they are set gets them (`CorrelationSpanProcessor`, so the requests client
spans carry the account id too), and every log record gets them (`install_log_correlation`).
They live in a context variable, so concurrent invocations on other threads never mix.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar, Token
from types import MappingProxyType
from typing import Any

from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor

SF_ACCOUNT_ID = "crosswalk.sf_account_id"
D2C_CUSTOMER_ID = "crosswalk.d2c_customer_id"
INSTANCE_ID = "crosswalk.instance_id"
WORKFLOW = "crosswalk.workflow"
STEP = "crosswalk.step"
SYSTEM = "crosswalk.system"
CORRELATION = (SF_ACCOUNT_ID, D2C_CUSTOMER_ID, INSTANCE_ID, WORKFLOW, STEP)

_NONE: Mapping[str, str] = MappingProxyType({})
_current: ContextVar[Mapping[str, str]] = ContextVar("crosswalk_correlation", default=_NONE)
_system: ContextVar[str | None] = ContextVar("crosswalk_system", default=None)


def current() -> Mapping[str, str]:
    return _current.get()


@contextmanager
def correlated(attributes: Mapping[str, Any]) -> Iterator[Mapping[str, str]]:
    """Add attributes (None values dropped) to the current correlation until the block ends."""
    token = enter(attributes)
    try:
        yield _current.get()
    finally:
        leave(token)


def enter(attributes: Mapping[str, Any]) -> Token[Mapping[str, str]]:
    """`correlated` without the context manager, for a caller that has its own try/finally."""
    merged = {**_current.get(), **{k: str(v) for k, v in attributes.items() if v is not None}}
    return _current.set(merged)


def leave(token: Token[Mapping[str, str]]) -> None:
    _current.reset(token)


def note(key: str, value: Any) -> None:
    """Learned mid-run (a D2C customer id a step just created): later spans and logs carry it."""
    if value is not None:
        _current.set({**_current.get(), key: str(value)})


@contextmanager
def calling(system: str) -> Iterator[None]:
    """Marks the outside system an HTTP call goes to, for the client span the call makes."""
    token = _system.set(system)
    try:
        yield
    finally:
        _system.reset(token)


def current_system() -> str | None:
    return _system.get()


class CorrelationSpanProcessor(SpanProcessor):
    """Stamps every span at its start with the correlation attributes in effect."""

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        # Only what the span lacks: Crosswalk's own spans start with their correlation, and
        # each attribute set after the start is cleaned and set again under the span's lock.
        has = span.attributes or _NONE
        attributes = {k: v for k, v in _current.get().items() if k not in has}
        system = _system.get()
        if system is not None and SYSTEM not in has:
            attributes[SYSTEM] = system
        if attributes:
            span.set_attributes(attributes)

    def on_end(self, span: ReadableSpan) -> None:
        return None

    def shutdown(self) -> None:
        return None

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


_installed_factory: Any = None


def install_log_correlation() -> None:
    """Every log record made while correlation is set carries it as attributes (idempotent).

    A record factory rather than a handler filter, so the console, the Azure Monitor handler
    and the OTLP handler all see the same attributes.
    """
    global _installed_factory
    if _installed_factory is not None:
        return
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        for key, value in _current.get().items():
            setattr(record, key, value)
        return record

    _installed_factory = factory
    logging.setLogRecordFactory(factory)
