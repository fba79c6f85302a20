"""Compile a parsed SOQL query against the schema into closures, then run it on the store.

Compiling once per query keeps the per-row work to a few closure calls: filtering 50,000
Accounts and sorting them is tens of milliseconds. Results are lists of the stored row dicts
(rows are never mutated), projected to JSON only page by page.
"""

from __future__ import annotations

from typing import Any

from .errors import SfError
from .schema import lookup
from .sobject import TEXT_TYPES, SObjectType
from .soql_fields import compile_node
from .soql_parse import Query, parse, soql_error
from .soql_plan import ChildPlan, Getter, Plan, Projector, select
from .soql_where import WhereCompiler
from .store import Record, Store


class Compiler(WhereCompiler):
    """Turns one query text into a :class:`Plan` bound to a store and an API version."""

    def compile(self, text: str) -> Plan:
        self.text = text
        return self._plan(parse(text), None)

    # -- plan --------------------------------------------------------------------------
    def _plan(self, q: Query, parent: SObjectType | None) -> Plan:
        sobject = self._type(q)
        plan = Plan(sobject=sobject, count_only=q.count, limit=q.limit, offset=q.offset or 0)
        if q.offset is not None and q.offset > 2000:
            raise SfError(400, "NUMBER_OUTSIDE_VALID_RANGE", "Maximum SOQL offset allowed is 2000")
        if q.where is not None:
            plan.predicate = self._cond(sobject, q.where)
        for item in q.order:
            getter, fld = self._getter(sobject, item.field)
            if fld.type == "textarea":
                raise soql_error(
                    self.text,
                    item.field.pos,
                    "INVALID_FIELD",
                    f"field '{fld.name}' can not be sorted in a query call",
                )
            if fld.type in TEXT_TYPES:
                g = getter

                def getter(r: Record, g: Getter = g) -> Any:
                    v = g(r)
                    return v.lower() if v is not None else None

            plan.sort.append((getter, item.desc, item.nulls_first))
        if not q.count:
            plan.project = self._projector(sobject, q)
        return plan

    def _child(self, sobject: SObjectType, sub: Query) -> ChildPlan:
        rel = next(
            (
                (name, child, fk)
                for name, (child, fk) in sobject.child_relationships.items()
                if name.lower() == sub.sobject.lower()
            ),
            None,
        )
        if rel is None:
            raise soql_error(
                self.text,
                sub.sobject_pos,
                "INVALID_TYPE",
                f"Didn't understand relationship '{sub.sobject}' in FROM part of query call. If "
                "you are attempting to use a custom relationship, be sure to append the '__r' "
                "after the custom relationship name. Please reference your WSDL or the describe "
                "call for the appropriate names.",
            )
        name, child_name, fk = rel
        child_q = Query(
            sobject=child_name,
            sobject_pos=sub.sobject_pos,
            items=sub.items,
            count=sub.count,
            where=sub.where,
            order=sub.order,
            limit=sub.limit,
            offset=sub.offset,
        )
        return ChildPlan(name, lookup(child_name), fk, self._plan(child_q, sobject))  # type: ignore[arg-type]

    def _projector(self, sobject: SObjectType, q: Query) -> Projector:
        """Build the row -> JSON function; parent paths nest under their relationship."""
        version = self.version
        tree: dict[str, Any] = {"fields": [], "rels": {}, "order": []}
        seen: set[str] = set()
        children: list[ChildPlan] = []
        for item in q.items:
            if isinstance(item, Query):
                cp = self._child(sobject, item)
                if cp.name.lower() in seen:
                    raise soql_error(
                        self.text, item.sobject_pos, "MALFORMED_QUERY", "duplicate field selected"
                    )
                seen.add(cp.name.lower())
                children.append(cp)
                tree["order"].append(("child", cp))
                continue
            chain, fld = self._resolve(sobject, item)
            key = ".".join([c[0] for c in chain] + [fld.name]).lower()
            if key in seen:
                raise soql_error(
                    self.text,
                    item.pos,
                    "MALFORMED_QUERY",
                    f"duplicate field selected: {item.text}",
                )
            seen.add(key)
            node = tree
            for fk, table in chain:
                rels = node["rels"]
                if fk not in rels:
                    child_node = {"fields": [], "rels": {}, "order": [], "table": table, "fk": fk}
                    rels[fk] = child_node
                    node["order"].append(("rel", fk))
                node = rels[fk]
            node["order"].append(("field", fld))
        tree["table_type"] = sobject
        return compile_node(tree, sobject, version, self.store, children)


def run(plan: Plan, store: Store, *, include_deleted: bool) -> list[Record]:
    """The rows a query returns, in order; ``include_deleted`` is queryAll."""
    rows = store.table(plan.sobject.name).rows.values()
    return select(plan, rows, live_only=not include_deleted)


def compile_query(store: Store, text: str, version: str, now_ms: int) -> Plan:
    return Compiler(store, version, now_ms).compile(text)
