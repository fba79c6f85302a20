"""SOQL field paths (``Account.Owner.Name``) and the SELECT list: how a row becomes JSON.

Parent paths nest under their relationship; child subqueries page through the child index;
compound addresses are built on the fly.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .schema import lookup
from .sobject import Field, SObjectType
from .soql_parse import FieldRef, Query, soql_error
from .soql_plan import ChildPlan, Getter, Projector, select
from .store import Record, Store


class FieldResolver:
    """Resolves field paths of one query text against a store (the compiler's base)."""

    def __init__(self, store: Store, version: str, now_ms: int) -> None:
        self.store = store
        self.version = version
        self.now_ms = now_ms
        self.text = ""

    # -- resolution --------------------------------------------------------------------
    def _type(self, q: Query) -> SObjectType:
        sobject = lookup(q.sobject)
        if sobject is None:
            raise soql_error(
                self.text,
                q.sobject_pos,
                "INVALID_TYPE",
                f"sObject type '{q.sobject}' is not supported. If you are attempting to use a "
                "custom object, be sure to append the '__c' after the entity name. Please "
                "reference your WSDL or the describe call for the appropriate names.",
            )
        return sobject

    def _resolve(self, sobject: SObjectType, ref: FieldRef) -> tuple[list[tuple[str, Any]], Field]:
        """Field path -> ([(lookup field, parent table)...], final field)."""
        path = list(ref.path)
        if (
            len(path) > 1
            and path[0].lower() == sobject.name.lower()
            and (path[0].lower() not in sobject.parents)
        ):
            path = path[1:]
        chain: list[tuple[str, Any]] = []
        current = sobject
        for seg in path[:-1]:
            rel = current.parents.get(seg.lower())
            if rel is None or rel.reference_to is None:
                raise soql_error(
                    self.text,
                    ref.pos,
                    "INVALID_FIELD",
                    f"Didn't understand relationship '{seg}' in field path. If you are "
                    "attempting to use a custom relationship, be sure to append the '__r' after "
                    "the custom relationship name. Please reference your WSDL or the describe "
                    "call for the appropriate names.",
                )
            table = self.store.table(rel.reference_to)
            chain.append((rel.name, table))
            current = table.type
        fld = current.lower.get(path[-1].lower())
        if fld is None:
            raise soql_error(
                self.text,
                ref.pos,
                "INVALID_FIELD",
                f"No such column '{path[-1]}' on entity '{current.name}'. If you are attempting "
                "to use a custom field, be sure to append the '__c' after the custom field name. "
                "Please reference your WSDL or the describe call for the appropriate names.",
            )
        return chain, fld

    def _getter(self, sobject: SObjectType, ref: FieldRef) -> tuple[Getter, Field]:
        chain, fld = self._resolve(sobject, ref)
        if fld.type == "address":
            raise soql_error(
                self.text, ref.pos, "INVALID_FIELD", f"field '{fld.name}' can not be filtered"
            )
        name = fld.name
        if not chain:
            return (lambda r: r.get(name)), fld

        def get(r: Record) -> Any:
            for fk, table in chain:
                pid = r.get(fk)
                if pid is None:
                    return None
                r = table.rows.get(pid)
                if r is None:
                    return None
            return r.get(name)

        return get, fld


def _address(prefix: str) -> Callable[[Record], Any]:
    keys = (
        ("city", f"{prefix}City"),
        ("country", f"{prefix}Country"),
        ("postalCode", f"{prefix}PostalCode"),
        ("state", f"{prefix}State"),
        ("street", f"{prefix}Street"),
    )

    def build(r: Record) -> Any:
        if all(r.get(k) is None for _, k in keys):
            return None
        out = {key: r.get(name) for key, name in keys}
        out["geocodeAccuracy"] = None
        out["latitude"] = None
        out["longitude"] = None
        return dict(sorted(out.items()))

    return build


def value_getter(fld: Field) -> Callable[[Record], Any]:
    """How one field appears in a REST record (compound addresses are built on the fly)."""
    if fld.type == "address":
        return _address(fld.name[: -len("Address")])
    name = fld.name
    return lambda r: r.get(name)


def compile_node(
    node: dict[str, Any],
    sobject: SObjectType,
    version: str,
    store: Store,
    children: list[ChildPlan],
) -> Projector:
    url = f"/services/data/v{version}/sobjects/{sobject.name}/"
    steps: list[Callable[[Record, dict[str, Any]], None]] = []
    child_steps: list[Callable[[Record, dict[str, Any], bool], None]] = []
    for kind, item in node["order"]:
        if kind == "field":
            steps.append(_field_step(item))
        elif kind == "rel":
            sub = node["rels"][item]
            table = sub["table"]
            rel_name = sobject.fields[item].relationship_name
            sub_proj = compile_node(sub, table.type, version, store, [])
            steps.append(_rel_step(item, rel_name, table, sub_proj))
        else:
            child_steps.append(_child_step(item, store))
    name = sobject.name

    def project(r: Record, include_deleted: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {"attributes": {"type": name, "url": url + r["Id"]}}
        for step in steps:
            step(r, out)
        for child in child_steps:
            child(r, out, include_deleted)
        return out

    return project


def _field_step(fld: Field) -> Callable[[Record, dict[str, Any]], None]:
    get = value_getter(fld)
    name = fld.name

    def step(r: Record, out: dict[str, Any]) -> None:
        out[name] = get(r)

    return step


def _rel_step(fk: str, rel_name: str, table: Any, proj: Projector) -> Callable[..., None]:
    def step(r: Record, out: dict[str, Any]) -> None:
        pid = r.get(fk)
        parent = table.rows.get(pid) if pid is not None else None
        out[rel_name] = proj(parent) if parent is not None else None

    return step


def _child_step(cp: ChildPlan, store: Store) -> Callable[..., None]:
    table = store.table(cp.child.name)

    def step(r: Record, out: dict[str, Any], include_deleted: bool = False) -> None:
        """queryAll is ALL ROWS: "all rows for both top level and aggregate relationships,
        including deleted records" (Apex Developer Guide), so deleted children come under
        live parents too; query gives live children only."""
        ids = store.child_ids(cp.child.name, cp.fk, r["Id"])
        rows = [table.rows[i] for i in ids]
        result = select(cp.plan, rows, live_only=not include_deleted)
        if not result:
            out[cp.name] = None
            return
        assert cp.plan.project is not None
        out[cp.name] = {
            "totalSize": len(result),
            "done": True,
            "records": [cp.plan.project(c) for c in result],
        }

    return step
