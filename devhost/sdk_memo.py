"""Work the Durable Functions SDK repeats on every episode, done once in the worker.

Each episode hands the SDK the whole history again. Two pure steps of its replay cost a
large share of a worker's time in bench/devhost_throughput.py and are remembered here; the
SDK gets the very values it would have computed, so nothing it does changes.
"""

from __future__ import annotations

import collections
import functools
import importlib
import re
from typing import Any

# The form devhost writes (`history.iso`): whole seconds, a fraction, `Z`.
_ISO_WITH_FRACTION = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\.(\d{1,7})Z")


def remember_sdk_work() -> None:
    """Install both memos, if the app is a Durable Functions app (idempotent)."""
    _memoise_history_timestamps()
    _memoise_executor_payload_type()


def _memoise_history_timestamps() -> None:
    """The SDK parses every history event's `Timestamp` with dateutil on every replay.

    The parse is a pure function of the text (an immutable datetime), so the worker
    remembers it per whole second: dateutil's answer for `...:SSZ` with the fraction's
    microseconds put in, as dateutil's own `_parsems` reads them (first six digits). The
    time zone dateutil picks depends on the instant only to the second (zone transitions
    fall on whole seconds), so the result is the one dateutil gives for the full text; a
    test compares them. Any other text goes to dateutil, remembered whole."""
    try:
        module = importlib.import_module("azure.durable_functions.models.history.HistoryEvent")
    except ImportError:  # not a Durable Functions app
        return
    parse = module.dt_parse
    if getattr(parse, "devhost_memoised", False):
        return
    module.dt_parse = timestamp_parser(parse)


def timestamp_parser(parse: Any) -> Any:
    """`parse` (dateutil's) remembered as `_memoise_history_timestamps` describes."""
    remembered = functools.lru_cache(maxsize=1 << 16)(parse)
    match = _ISO_WITH_FRACTION.fullmatch

    def dt_parse(timestr: Any, *args: Any, **kwargs: Any) -> Any:
        if args or kwargs or not isinstance(timestr, str):
            return parse(timestr, *args, **kwargs)
        parts = match(timestr)
        if parts is None:
            return remembered(timestr)
        whole, fraction = parts.groups()
        return remembered(whole + "Z").replace(microsecond=int(fraction.ljust(6, "0")[:6]))

    dt_parse.devhost_memoised = True  # type: ignore[attr-defined]
    return dt_parse


def _memoise_executor_payload_type() -> None:
    """`TaskOrchestrationExecutor.__init__` (once per episode) builds its private
    `SetTaskValuePayload` class with `namedtuple`, which compiles a class each time: a
    sixth of a replay. The worker hands that module a `namedtuple` that returns the class
    built the first time for the same name and fields (no other arguments); the class is
    private to the executor, so only its identity across episodes differs."""
    try:
        module = importlib.import_module("azure.durable_functions.models.TaskOrchestrationExecutor")
    except ImportError:
        return
    make = getattr(module, "namedtuple", None)
    if make is not collections.namedtuple:  # already replaced, or the SDK changed
        return
    module.namedtuple = remembered_namedtuple


@functools.cache
def _class_for(typename: str, field_names: tuple[str, ...]) -> type:
    return collections.namedtuple(typename, field_names)


def remembered_namedtuple(typename: str, field_names: Any, **kwargs: Any) -> type:
    """`collections.namedtuple`, the same class again for the same name and field tuple."""
    if kwargs or not isinstance(field_names, tuple):
        return collections.namedtuple(typename, field_names, **kwargs)
    return _class_for(typename, field_names)
