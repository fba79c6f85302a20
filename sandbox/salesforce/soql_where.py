"""SOQL WHERE: literals as stored values, comparisons, IN, LIKE, date ranges, semi-joins.

Text compares case-blind (both sides lower-cased), as SOQL does.
"""

from __future__ import annotations

import datetime
import re
from typing import Any

from .errors import SfError
from .ids import to18
from .sobject import ID_TYPES, NUMBER_TYPES, TEXT_TYPES, Field, SObjectType
from .soql_fields import FieldResolver
from .soql_parse import BoolOp, Compare, FieldRef, Literal, Not, Query, soql_error
from .soql_plan import Getter, Predicate
from .store import Record


def _sf_dt(dt: datetime.datetime) -> str:
    dt = dt.astimezone(datetime.UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S") + f".{dt.microsecond // 1000:03d}+0000"


def parse_datetime_literal(text: str) -> str:
    """``2024-01-02T03:04:05Z`` / ``+01:00`` / ``.123`` -> the stored ``...000+0000`` form."""
    t = text.replace("Z", "+00:00")
    m = re.match(r"^(.*[+-]\d{2})(\d{2})$", t)
    if m and ":" not in t[-6:]:
        t = f"{m.group(1)}:{m.group(2)}"
    return _sf_dt(datetime.datetime.fromisoformat(t))


class WhereCompiler(FieldResolver):
    """Turns a WHERE tree into one predicate over stored rows."""

    # -- conditions --------------------------------------------------------------------
    def _cond(self, sobject: SObjectType, node: Any) -> Predicate:
        if isinstance(node, BoolOp):
            preds = [self._cond(sobject, t) for t in node.terms]
            if node.op == "AND":
                return lambda r: all(p(r) for p in preds)
            return lambda r: any(p(r) for p in preds)
        if isinstance(node, Not):
            inner = self._cond(sobject, node.term)
            return lambda r: not inner(r)
        assert isinstance(node, Compare)
        return self._compare(sobject, node)

    def _bad_value(self, fld: Field, lit: Literal, kind: str) -> SfError:
        return soql_error(
            self.text,
            lit.pos,
            "INVALID_FIELD",
            f"value of filter criterion for field '{fld.name}' must be of type {kind} and should "
            "not be enclosed in quotes",
        )

    def _convert(self, fld: Field, lit: Literal) -> Any:
        """A literal as the stored form of ``fld``'s type (text lower-cased)."""
        if lit.kind == "null":
            return None
        t = fld.type
        if t in TEXT_TYPES:
            if lit.kind != "string":
                raise self._bad_value(fld, lit, "string")
            return lit.value.replace("\\%", "%").replace("\\_", "_").lower()
        if t in ID_TYPES:
            if lit.kind != "string":
                raise self._bad_value(fld, lit, "id")
            rid = to18(lit.value)
            if rid is None:
                raise soql_error(
                    self.text,
                    lit.pos,
                    "INVALID_QUERY_FILTER_OPERATOR",
                    f"invalid ID field: {lit.value}",
                )
            return rid
        if t == "boolean":
            if lit.kind != "boolean":
                raise self._bad_value(fld, lit, "boolean")
            return lit.value
        if t in NUMBER_TYPES:
            if lit.kind != "number":
                raise self._bad_value(fld, lit, "number")
            return lit.value
        if t == "datetime":
            if lit.kind == "datetime":
                return parse_datetime_literal(lit.value)
            if lit.kind == "relative":
                return self._range(lit)
            raise self._bad_value(fld, lit, "dateTime")
        if t == "date":
            if lit.kind == "date":
                return lit.value
            raise self._bad_value(fld, lit, "date")
        raise self._bad_value(fld, lit, t)

    def _range(self, lit: Literal) -> tuple[str, str]:
        today = datetime.datetime.fromtimestamp(self.now_ms / 1000, datetime.UTC).replace(
            hour=0, minute=0, second=0, microsecond=0
        )
        day = datetime.timedelta(days=1)
        word = lit.value
        if word == "TODAY":
            start, end = today, today + day
        elif word == "YESTERDAY":
            start, end = today - day, today
        elif word == "TOMORROW":
            start, end = today + day, today + 2 * day
        else:
            n = int(word.split(":")[1])
            if word.startswith("LAST"):
                start, end = today - n * day, today + day
            else:
                start, end = today + day, today + (n + 1) * day
        return _sf_dt(start), _sf_dt(end)

    def _compare(self, sobject: SObjectType, node: Compare) -> Predicate:
        get, fld = self._getter(sobject, node.field)
        op = node.op
        text = fld.type in TEXT_TYPES
        if op in {"IN", "NOT IN"}:
            if isinstance(node.value, Query):
                values = self._semi_join(node.value)
            else:
                assert isinstance(node.value, list)
                values = {self._convert(fld, lit) for lit in node.value}
            has_null = None in values
            if text:

                def member(r: Record) -> bool:
                    v = get(r)
                    return has_null if v is None else v.lower() in values

            else:

                def member(r: Record) -> bool:
                    v = get(r)
                    return has_null if v is None else v in values

            return member if op == "IN" else (lambda r: not member(r))
        lit = node.value
        assert isinstance(lit, Literal)
        if op == "LIKE":
            if not text or lit.kind != "string":
                raise soql_error(
                    self.text,
                    lit.pos,
                    "INVALID_FIELD",
                    f"invalid operator on {fld.type} field: LIKE",
                )
            rx = _like_regex(lit.value)
            return lambda r: (v := get(r)) is not None and rx.fullmatch(v) is not None
        value = self._convert(fld, lit)
        if isinstance(value, tuple):
            return _range_pred(get, op, value)
        if value is None:
            if op == "=":
                return lambda r: get(r) is None
            if op == "!=":
                return lambda r: get(r) is not None
            return lambda r: False
        if text:
            g = get

            def get(r: Record, g: Getter = g) -> Any:
                v = g(r)
                return v.lower() if v is not None else None

        return _op_pred(get, op, value)

    def _semi_join(self, sub: Query) -> set[Any]:
        if sub.count or len(sub.items) != 1 or not isinstance(sub.items[0], FieldRef):
            raise soql_error(
                self.text,
                sub.sobject_pos,
                "MALFORMED_QUERY",
                "semi join sub-selects need one field",
            )
        sobject = self._type(sub)
        get, fld = self._getter(sobject, sub.items[0])
        if fld.type not in ID_TYPES:
            raise soql_error(
                self.text,
                sub.items[0].pos,
                "MALFORMED_QUERY",
                "semi join sub-selects can only select an Id or reference field",
            )
        pred = self._cond(sobject, sub.where) if sub.where is not None else None
        rows = self.store.table(sobject.name).rows.values()
        return {
            v
            for r in rows
            if not r["IsDeleted"] and (pred is None or pred(r)) and (v := get(r)) is not None
        }


def _op_pred(get: Getter, op: str, value: Any) -> Predicate:
    if op == "=":
        return lambda r: get(r) == value
    if op == "!=":
        return lambda r: get(r) != value
    if op == "<":
        return lambda r: (v := get(r)) is not None and v < value
    if op == ">":
        return lambda r: (v := get(r)) is not None and v > value
    if op == "<=":
        return lambda r: (v := get(r)) is not None and v <= value
    return lambda r: (v := get(r)) is not None and v >= value


def _range_pred(get: Getter, op: str, rng: tuple[str, str]) -> Predicate:
    start, end = rng
    if op == "=":
        return lambda r: (v := get(r)) is not None and start <= v < end
    if op == "!=":
        return lambda r: (v := get(r)) is None or not start <= v < end
    if op == "<":
        return lambda r: (v := get(r)) is not None and v < start
    if op == "<=":
        return lambda r: (v := get(r)) is not None and v < end
    if op == ">":
        return lambda r: (v := get(r)) is not None and v >= end
    return lambda r: (v := get(r)) is not None and v >= start


def _like_regex(pattern: str) -> re.Pattern[str]:
    out = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\" and i + 1 < len(pattern) and pattern[i + 1] in "%_":
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        out.append(".*" if c == "%" else "." if c == "_" else re.escape(c))
        i += 1
    return re.compile("".join(out), re.IGNORECASE | re.DOTALL)
