"""A compiled SOQL query (:class:`Plan`) and how it picks rows: filter, sort, offset, limit.

The compiler (``soql``) builds plans; this module only runs them over rows it is handed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .sobject import SObjectType
from .store import Record

Getter = Callable[[Record], Any]
Predicate = Callable[[Record], bool]
Projector = Callable[..., dict[str, Any]]  # (row, include_deleted=False) -> JSON


@dataclass
class ChildPlan:
    """A ``(SELECT ... FROM Contacts)`` column: rows found through the child index."""

    name: str
    child: SObjectType
    fk: str
    plan: Plan


@dataclass
class Plan:
    sobject: SObjectType
    count_only: bool = False
    predicate: Predicate | None = None
    sort: list[tuple[Getter, bool, bool]] = field(default_factory=list)
    limit: int | None = None
    offset: int = 0
    project: Projector | None = None


def select(plan: Plan, rows: Any, *, live_only: bool = False) -> list[Record]:
    """Filter, sort, offset and limit ``rows``; ``live_only`` drops recycle-bin rows."""
    pred = plan.predicate
    if live_only:
        if pred is not None:
            matched = [r for r in rows if not r["IsDeleted"] and pred(r)]
        else:
            matched = [r for r in rows if not r["IsDeleted"]]
    else:
        matched = [r for r in rows if pred(r)] if pred is not None else list(rows)
    for get, desc, nulls_first in reversed(plan.sort):
        flag_null = 1 if nulls_first == desc else 0
        flag_value = 1 - flag_null

        def key(r: Record, get: Getter = get, fn: int = flag_null, fv: int = flag_value) -> Any:
            v = get(r)
            return (fn, 0) if v is None else (fv, v)

        matched.sort(key=key, reverse=desc)
    if plan.offset:
        matched = matched[plan.offset :]
    if plan.limit is not None:
        matched = matched[: plan.limit]
    return matched
