"""The REST record resources: ``/sobjects/{T}``, ``/sobjects/{T}/{id}`` (with a child
relationship path) and ``/sobjects/{T}/{field}/{value}`` by external id, upsert included.

Handlers are plain synchronous functions over a :class:`Call`, routed by ``rest``.
"""

from __future__ import annotations

from urllib.parse import unquote, unquote_plus

from .calls import Call, Ctx, Resp
from .errors import SfError, not_found
from .schema import OBJECTS
from .shape import rest_record, select_fields
from .sobject import SObjectType


def _created(rid: str, ctx: Ctx, sobject: SObjectType) -> Resp:
    return Resp(
        201,
        {"id": rid, "success": True, "errors": []},
        {"Location": f"/services/data/v{ctx.version}/sobjects/{sobject.name}/{rid}"},
    )


def create(call: Call, ctx: Ctx, p: tuple[str, ...]) -> Resp:
    sobject = ctx.org.sobject(p[0])
    rid = ctx.org.dml.create(ctx.txn, sobject, call.json())
    return _created(rid, ctx, sobject)


def get(call: Call, ctx: Ctx, p: tuple[str, ...]) -> Resp:
    sobject = ctx.org.sobject(p[0])
    fields = select_fields(sobject, call.query.get("fields"))
    row = ctx.org.dml.row(sobject, unquote(p[1]))
    return Resp(200, rest_record(sobject, row, ctx.version, fields))


def update(call: Call, ctx: Ctx, p: tuple[str, ...]) -> Resp:
    sobject = ctx.org.sobject(p[0])
    ctx.org.dml.update(ctx.txn, sobject, unquote(p[1]), call.json())
    return Resp(204)


def delete(call: Call, ctx: Ctx, p: tuple[str, ...]) -> Resp:
    sobject = ctx.org.sobject(p[0])
    ctx.org.dml.delete(ctx.txn, sobject, unquote(p[1]))
    return Resp(204)


def post_record_path(call: Call, ctx: Ctx, p: tuple[str, ...]) -> Resp:
    """``POST /sobjects/Account/Id`` (an Id-keyed upsert with no value) creates."""
    if p[1].lower() != "id":
        raise SfError(
            405,
            "METHOD_NOT_ALLOWED",
            "HTTP Method 'POST' not allowed. Allowed are HEAD,GET,PATCH,DELETE",
        )
    return create(call, ctx, p)


def _multiple(ctx: Ctx, sobject: SObjectType, ids: list[str]) -> Resp:
    return Resp(
        300, [f"/services/data/v{ctx.version}/sobjects/{sobject.name}/{rid}" for rid in ids]
    )


def _child_rel(ctx: Ctx, sobject: SObjectType, rid_text: str, rel: str) -> Resp | None:
    for name, (child, fk) in sobject.child_relationships.items():
        if name.lower() != rel.lower():
            continue
        row = ctx.org.dml.row(sobject, rid_text)
        child_type = OBJECTS[child]
        ids = ctx.org.store.child_ids(child, fk, row["Id"])
        table = ctx.org.store.table(child)
        rows = [table.rows[i] for i in ids if not table.rows[i]["IsDeleted"]]
        return Resp(
            200,
            {
                "totalSize": len(rows),
                "done": True,
                "records": [rest_record(child_type, r, ctx.version) for r in rows],
            },
        )
    return None


def get_by_ext(call: Call, ctx: Ctx, p: tuple[str, ...]) -> Resp:
    sobject = ctx.org.sobject(p[0])
    rel = _child_rel(ctx, sobject, unquote(p[1]), p[2]) if len(p[1]) in (15, 18) else None
    if rel is not None:
        return rel
    fname = ctx.org.dml.external_field(sobject, p[1])
    value = unquote_plus(p[2])
    found = ctx.org.dml.matches(sobject, fname, value)
    if not found:
        raise not_found()
    if len(found) > 1:
        return _multiple(ctx, sobject, found)
    fields = select_fields(sobject, call.query.get("fields"))
    row = ctx.org.store.table(sobject.name).rows[found[0]]
    return Resp(200, rest_record(sobject, row, ctx.version, fields))


def upsert(call: Call, ctx: Ctx, p: tuple[str, ...]) -> Resp:
    sobject = ctx.org.sobject(p[0])
    value = unquote_plus(p[2])
    update_only = call.query.get("updateOnly", "").lower() == "true"
    if not value:
        if call.method == "POST" or p[1].lower() == "id":
            return create(call, ctx, p)
        raise not_found()
    result = ctx.org.dml.upsert(ctx.txn, sobject, p[1], value, call.json(), update_only=update_only)
    if isinstance(result, list):
        return _multiple(ctx, sobject, result)
    rid, created = result
    if created:
        resp = _created(rid, ctx, sobject)
        resp.body["created"] = True
        return resp
    if float(ctx.version) >= 46.0:
        return Resp(200, {"id": rid, "success": True, "errors": [], "created": False})
    return Resp(204)


def delete_by_ext(call: Call, ctx: Ctx, p: tuple[str, ...]) -> Resp:
    sobject = ctx.org.sobject(p[0])
    fname = ctx.org.dml.external_field(sobject, p[1])
    found = ctx.org.dml.matches(sobject, fname, unquote_plus(p[2]))
    if not found:
        raise not_found()
    if len(found) > 1:
        return _multiple(ctx, sobject, found)
    ctx.org.dml.delete(ctx.txn, sobject, found[0])
    return Resp(204)
