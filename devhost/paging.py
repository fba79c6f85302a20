"""Query pages as Azure Table storage gives them: opaque tokens, capped, sometimes short.

The Azure Storage provider hands out a table continuation token (the next partition and row
key) base64-encoded JSON; the HTTP API passes it through the `x-ms-continuation-token`
header and answers `null` at the end. A page holds at most 1,000 rows whatever `top` says,
and may hold fewer (or none) while still carrying a token; callers must follow tokens until
`null`. A token the backend cannot read is a 500 from the HTTP API, never a 400.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")
TABLE_PAGE_MAX = 1000
DEFAULT_TOP = 100


class BadToken(ValueError):
    """A continuation token this task hub did not issue."""


def encode(next_key: str) -> str:
    body = {"NextPartitionKey": next_key, "NextRowKey": "", "NextTableName": None}
    return base64.b64encode(json.dumps(body).encode()).decode()


def decode(token: str | None) -> str | None:
    """The key the next page starts at; None for the first page (`null` or no header)."""
    if token is None or token in ("", "null"):
        return None
    try:
        body = json.loads(base64.b64decode(token, validate=True))
    except (binascii.Error, ValueError) as exc:
        raise BadToken(f"Invalid continuation token: {exc}") from None
    key = body.get("NextPartitionKey") if isinstance(body, dict) else None
    if not isinstance(key, str):
        raise BadToken("Invalid continuation token: no NextPartitionKey")
    return key


def top_of(raw: str | None) -> int:
    """`top` as the extension reads it: not a number is ignored; at most one table page."""
    try:
        top = int(raw) if raw is not None else DEFAULT_TOP
    except ValueError:
        top = DEFAULT_TOP
    return min(top, TABLE_PAGE_MAX) if top > 0 else DEFAULT_TOP


@dataclass(frozen=True, slots=True)
class Page:
    rows: list
    token: str  # "null" at the end


def page(
    query: Callable[[str | None, int], list[T]],
    key: Callable[[T], str],
    *,
    top: int,
    token: str | None,
    short: bool,
) -> Page:
    """One page of `query(start, limit)`; `short` plays a table that returns short pages."""
    start = decode(token)
    size = max(1, top // 3) if short else top
    if short and start is None:  # an empty first page that still carries a token
        first = query(None, 1)
        return Page([], encode(key(first[0])) if first else "null")
    rows = query(start, size + 1)
    more = len(rows) > size
    return Page(rows[:size], encode(key(rows[size])) if more else "null")
