"""``/composite`` (subrequests with ``@{ref.field}`` references), ``/composite/batch`` and
sObject Collections (``/composite/sobjects``), all in the caller's transaction.

allOrNone is a rollback to the start of the call; without it each failed subrequest or
record is rolled back to its own savepoint.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from multidict import MultiDict

from .calls import Call, Ctx, Resp
from .errors import SfError
from .ids import to18
from .schema import BY_PREFIX
from .shape import rest_record, select_fields
from .sobject import SObjectType

MAX_SUBREQUESTS = 25
# "Up to 5 of these subrequests can be sObject Collections or query operations" (Composite);
# the error Salesforce answers beyond it is not documented.
MAX_HEAVY_SUBREQUESTS = 5
_HEAVY = re.compile(r"/(query|queryAll)(/|\?|$)|/composite/sobjects")
MAX_RECORDS = 200
MAX_CHUNKS = 10
# The REST answer to more than 10 chunks is not documented; this is Apex's message for the
# same rule (TypeException) under the closest StatusCode (docs/sandbox.md).
_TOO_MANY_CHUNKS = (
    "Cannot have more than 10 chunks in a single operation. Please rearrange the data to "
    "reduce chunking."
)
_REF = re.compile(r"@\{([A-Za-z0-9_]+)((?:\.[A-Za-z0-9_]+|\[\d+\])*)\}")
_REF_ID = re.compile(r"^[A-Za-z0-9_]+$")
_HALTED = "The transaction was rolled back since another operation in the same transaction failed."
_ROLLED_BACK = {
    "statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK",
    "message": "Record rolled back because not all records were valid and the request was using "
    "AllOrNone header",
    "fields": [],
}


def _body(call: Call) -> dict[str, Any]:
    body = call.json()
    if not isinstance(body, dict):
        raise SfError(400, "JSON_PARSER_ERROR", "Expected a JSON object")
    return body


def _flag(value: Any) -> bool:
    if isinstance(value, str):
        return value.lower() == "true"
    return bool(value)


class _Unresolved(Exception):
    pass


def _lookup(results: dict[str, Any], ref: str, path: str) -> Any:
    if ref not in results:
        raise _Unresolved(ref)
    value = results[ref]
    for part in re.findall(r"\.([A-Za-z0-9_]+)|\[(\d+)\]", path):
        key, index = part
        try:
            value = value[key] if key else value[int(index)]
        except (KeyError, IndexError, TypeError):
            raise _Unresolved(ref) from None
    return value


def _resolve(value: Any, results: dict[str, Any]) -> Any:
    """Replace ``@{ref.path}`` everywhere in a subrequest; a whole-string reference keeps type."""
    if isinstance(value, str):
        whole = _REF.fullmatch(value)
        if whole:
            return _lookup(results, whole.group(1), whole.group(2))
        return _REF.sub(lambda m: str(_lookup(results, m.group(1), m.group(2))), value)
    if isinstance(value, list):
        return [_resolve(v, results) for v in value]
    if isinstance(value, dict):
        return {k: _resolve(v, results) for k, v in value.items()}
    return value


def _subcall(method: str, url: str, body: Any, headers: dict[str, str] | None) -> Call:
    parts = urlsplit(url)
    path = parts.path
    if not path.startswith("/"):
        path = "/services/data/" + path  # /composite/batch uses "v59.0/sobjects/..."
    return Call(
        method=method.upper(),
        path=path,
        query=MultiDict(parse_qsl(parts.query, keep_blank_values=True)),
        headers=headers or {},
        body=body if body is not None else json.loads("null"),
    )


def composite(call: Call, ctx: Ctx, p: tuple[str, ...]) -> Resp:
    body = _body(call)
    subs = body.get("compositeRequest")
    if not isinstance(subs, list) or not subs:
        raise SfError(400, "INVALID_FIELD", "compositeRequest must be a non-empty array")
    if len(subs) > MAX_SUBREQUESTS:
        raise SfError(
            400,
            "LIMIT_EXCEEDED",
            f"Composite request may contain at most {MAX_SUBREQUESTS} subrequests",
        )
    heavy = sum(1 for sub in subs if isinstance(sub, dict) and _HEAVY.search(str(sub.get("url"))))
    if heavy > MAX_HEAVY_SUBREQUESTS:
        raise SfError(
            400,
            "LIMIT_EXCEEDED",
            f"Composite request may contain at most {MAX_HEAVY_SUBREQUESTS} query or sObject "
            "Collections subrequests",
        )
    seen: set[str] = set()
    for sub in subs:
        ref = sub.get("referenceId") if isinstance(sub, dict) else None
        if not isinstance(ref, str) or not _REF_ID.match(ref) or ref in seen:
            raise SfError(400, "INVALID_FIELD", f"Invalid or duplicate referenceId: {ref}")
        if not isinstance(sub.get("method"), str) or not isinstance(sub.get("url"), str):
            raise SfError(400, "INVALID_FIELD", "Each subrequest needs method and url")
        seen.add(ref)
    all_or_none = _flag(body.get("allOrNone", False))
    results: dict[str, Any] = {}
    out: list[dict[str, Any]] = []
    failed = False
    for sub in subs:
        ref = sub["referenceId"]
        if failed and all_or_none:
            out.append(_halted(ref))
            continue
        try:
            url = _resolve(sub["url"], results)
            sub_body = _resolve(sub.get("body"), results)
        except _Unresolved as exc:
            failed = True
            out.append(
                {
                    "body": [
                        {
                            "errorCode": "PROCESSING_HALTED",
                            "message": f"Invalid reference specified. No value for {exc.args[0]} "
                            f"found in {ref}. Provided referenceId ids: {', '.join(results)}",
                        }
                    ],
                    "httpHeaders": {},
                    "httpStatusCode": 400,
                    "referenceId": ref,
                }
            )
            continue
        mark = ctx.txn.mark()
        resp = ctx.run(_subcall(sub["method"], url, sub_body, sub.get("httpHeaders")))
        if resp.status >= 400:
            failed = True
            ctx.txn.rollback_to(mark)
        else:
            results[ref] = resp.body
        out.append(
            {
                "body": resp.body,
                "httpHeaders": resp.headers,
                "httpStatusCode": resp.status,
                "referenceId": ref,
            }
        )
    if failed and all_or_none:
        ctx.txn.rollback()
        for item in out:
            if item["httpStatusCode"] < 400:
                item.update(_halted(item["referenceId"]))
    return Resp(200, {"compositeResponse": out})


def _halted(ref: str) -> dict[str, Any]:
    return {
        "body": [{"errorCode": "PROCESSING_HALTED", "message": _HALTED}],
        "httpHeaders": {},
        "httpStatusCode": 400,
        "referenceId": ref,
    }


def batch(call: Call, ctx: Ctx, p: tuple[str, ...]) -> Resp:
    body = _body(call)
    subs = body.get("batchRequests")
    if not isinstance(subs, list) or not subs or len(subs) > MAX_SUBREQUESTS:
        raise SfError(400, "INVALID_BATCH_REQUEST", "batchRequests must hold 1 to 25 requests")
    halt = _flag(body.get("haltOnError", False))
    results = []
    errors = False
    for sub in subs:
        if errors and halt:
            results.append(
                {
                    "statusCode": 412,
                    "result": [
                        {
                            "errorCode": "BATCH_PROCESSING_HALTED",
                            "message": "Batch processing halted per request",
                        }
                    ],
                }
            )
            continue
        mark = ctx.txn.mark()
        resp = ctx.run(
            _subcall(sub.get("method", "GET"), sub.get("url", ""), sub.get("richInput"), None)
        )
        if resp.status >= 400:
            errors = True
            ctx.txn.rollback_to(mark)
        results.append({"statusCode": resp.status, "result": resp.body})
    return Resp(200, {"hasErrors": errors, "results": results})


# -- sObject Collections ---------------------------------------------------------------
def _records(body: dict[str, Any]) -> list[Any]:
    records = body.get("records")
    if not isinstance(records, list) or not records:
        raise SfError(400, "INVALID_FIELD", "records must be a non-empty array")
    if len(records) > MAX_RECORDS:
        raise SfError(
            400,
            "EXCEEDED_ID_LIMIT",
            f"Number of records in a single call cannot exceed {MAX_RECORDS}",
        )
    return records


def _chunks(records: list[Any]) -> None:
    """Mixed types are processed in chunks, a new one wherever the type changes: "A single
    request can process up to 10 chunks" (Create/Update Records Using sObject Collections)."""
    chunks, last = 0, object()
    for record in records:
        attrs = record.get("attributes") if isinstance(record, dict) else None
        name = attrs.get("type") if isinstance(attrs, dict) else None
        key = name.lower() if isinstance(name, str) else name
        if key != last:
            chunks, last = chunks + 1, key
    if chunks > MAX_CHUNKS:
        raise SfError(400, "LIMIT_EXCEEDED", _TOO_MANY_CHUNKS)


def _record_type(ctx: Ctx, record: Any) -> SObjectType:
    attrs = record.get("attributes") if isinstance(record, dict) else None
    name = attrs.get("type") if isinstance(attrs, dict) else None
    if not isinstance(name, str):
        raise SfError(400, "INVALID_TYPE", "Must send a concrete entity type.", [])
    return ctx.org.sobject(name)


def _each(ctx: Ctx, items: list[Any], all_or_none: bool, op: Any) -> list[dict[str, Any]]:
    """Run ``op(item) -> result`` per item with a savepoint each; allOrNone rolls all back."""
    results: list[dict[str, Any]] = []
    failed = False
    for item in items:
        mark = ctx.txn.mark()
        try:
            results.append(op(item))
        except SfError as exc:
            ctx.txn.rollback_to(mark)
            failed = True
            err: dict[str, Any] = {"success": False, "errors": [exc.collection_error()]}
            if isinstance(item, str):
                err = {"id": item, **err}
            results.append(err)
    if failed and all_or_none:
        ctx.txn.rollback()
        for i, res in enumerate(results):
            if res.get("success"):
                results[i] = {
                    "id": res.get("id"),
                    "success": False,
                    "errors": [dict(_ROLLED_BACK)],
                }
    return results


def collection_create(call: Call, ctx: Ctx, p: tuple[str, ...]) -> Resp:
    body = _body(call)
    records = _records(body)
    _chunks(records)

    def op(record: Any) -> dict[str, Any]:
        sobject = _record_type(ctx, record)
        return {"id": ctx.org.dml.create(ctx.txn, sobject, record), "success": True, "errors": []}

    return Resp(200, _each(ctx, records, _flag(body.get("allOrNone", False)), op))


def collection_update(call: Call, ctx: Ctx, p: tuple[str, ...]) -> Resp:
    body = _body(call)
    records = _records(body)
    _chunks(records)

    def op(record: Any) -> dict[str, Any]:
        sobject = _record_type(ctx, record)
        rid = next((v for k, v in record.items() if k.lower() == "id"), None)
        if not isinstance(rid, str):
            raise SfError(400, "MISSING_ARGUMENT", "Id not specified in an update call", [])
        full = to18(rid)
        if full is None or full[:3] != sobject.key_prefix:
            raise SfError(
                400, "MALFORMED_ID", f"{sobject.name} ID: id value of incorrect type: {rid}", ["Id"]
            )
        fields = {k: v for k, v in record.items() if k.lower() != "id"}
        return {
            "id": ctx.org.dml.update(ctx.txn, sobject, rid, fields),
            "success": True,
            "errors": [],
        }

    return Resp(200, _each(ctx, records, _flag(body.get("allOrNone", False)), op))


def collection_upsert(call: Call, ctx: Ctx, p: tuple[str, ...]) -> Resp:
    sobject = ctx.org.sobject(p[0])
    fname = ctx.org.dml.external_field(sobject, p[1])
    body = _body(call)
    records = _records(body)

    def op(record: Any) -> dict[str, Any]:
        if _record_type(ctx, record).name != sobject.name:
            raise SfError(400, "INVALID_TYPE", f"Record type must be {sobject.name}", [])
        value = next((v for k, v in record.items() if k.lower() == fname.lower()), None)
        if value is None or value == "":
            raise SfError(400, "MISSING_ARGUMENT", f"{fname} not specified", [fname])
        fields = {k: v for k, v in record.items() if k.lower() != fname.lower()}
        result = ctx.org.dml.upsert(ctx.txn, sobject, fname, str(value), fields, update_only=False)
        if isinstance(result, list):
            raise SfError(
                300,
                "MULTIPLE_RECORDS_FOUND",
                f"More than one record found for external id field {fname}",
                [],
            )
        rid, created = result
        return {"id": rid, "success": True, "errors": [], "created": created}

    return Resp(200, _each(ctx, records, _flag(body.get("allOrNone", False)), op))


def collection_delete(call: Call, ctx: Ctx, p: tuple[str, ...]) -> Resp:
    ids = [i for i in call.query.get("ids", "").split(",") if i]
    if not ids:
        raise SfError(400, "MISSING_ARGUMENT", "ids parameter is required")
    if len(ids) > MAX_RECORDS:
        raise SfError(400, "EXCEEDED_ID_LIMIT", f"Number of ids cannot exceed {MAX_RECORDS}")

    def op(rid: str) -> dict[str, Any]:
        full = to18(rid)
        sobject = BY_PREFIX.get(full[:3]) if full else None
        if full is None or sobject is None:
            raise SfError(400, "MALFORMED_ID", f"malformed id {rid}", [])
        return {"id": ctx.org.dml.delete(ctx.txn, sobject, full), "success": True, "errors": []}

    return Resp(200, _each(ctx, ids, _flag(call.query.get("allOrNone", "false")), op))


def collection_retrieve(call: Call, ctx: Ctx, p: tuple[str, ...]) -> Resp:
    sobject = ctx.org.sobject(p[0])
    if call.method == "POST":
        body = _body(call)
        ids = body.get("ids") or []
        fields_text = ",".join(body.get("fields") or [])
    else:
        ids = [i for i in call.query.get("ids", "").split(",") if i]
        fields_text = call.query.get("fields", "")
    if not fields_text:
        raise SfError(400, "MISSING_ARGUMENT", "fields parameter is required")
    fields = select_fields(sobject, fields_text)
    table = ctx.org.store.table(sobject.name)
    out = []
    for rid in ids:
        full = to18(rid) if isinstance(rid, str) else None
        row = table.live(full) if full else None
        out.append(rest_record(sobject, row, ctx.version, fields) if row else None)
    return Resp(200, out)
