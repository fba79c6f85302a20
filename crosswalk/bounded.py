"""Keeping a JSON value within a size budget, for payloads a backend limits.

The Durable extension fails an orchestration whose custom status is over 16 KB of UTF-16
(devhost enforces the same); what Crosswalk puts there (validation problems, a compensation
ledger, error details) is unbounded, so it is cut down here first: long strings are
shortened and long lists keep their first items and say how many were left out. Pure and
deterministic, so orchestrators can call it.
"""

from __future__ import annotations

import json
from typing import Any

CUSTOM_STATUS_BUDGET = 12 * 1024  # UTF-16 bytes; the extension's limit is 16 KB
_STEPS = ((2000, 50), (500, 20), (200, 10), (80, 5), (40, 2))


def utf16_size(value: Any) -> int:
    """The size the extension measures: compact JSON, UTF-16 encoded."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)
    return len(text.encode("utf-16-le"))


def _shrink(value: Any, text_max: int, items_max: int) -> Any:
    if isinstance(value, str):
        return value if len(value) <= text_max else value[: text_max - 1] + "…"
    if isinstance(value, dict):
        return {k: _shrink(v, text_max, items_max) for k, v in value.items()}
    if isinstance(value, list | tuple):
        kept = [_shrink(v, text_max, items_max) for v in value[:items_max]]
        left_out = len(value) - len(kept)
        return kept + ([f"… and {left_out} more"] if left_out else [])
    return value


def within(value: Any, budget: int = CUSTOM_STATUS_BUDGET) -> Any:
    """`value` itself when it fits, else the least-shortened version that does.

    A dict that cannot fit even at the tightest step keeps only its short scalar fields
    and `truncated: true`.
    """
    if utf16_size(value) <= budget:
        return value
    for text_max, items_max in _STEPS:
        smaller = _shrink(value, text_max, items_max)
        if utf16_size(smaller) <= budget:
            return smaller
    if isinstance(value, dict):
        scalars = {k: _shrink(v, 40, 0) for k, v in value.items() if not isinstance(v, dict)}
        return {k: v for k, v in scalars.items() if not isinstance(v, list)} | {"truncated": True}
    return "truncated"
