"""The REST resources under ``/services/data``: routing, query, limits, describe; the record
resources are in ``rest_records``.

Handlers are plain synchronous functions over a :class:`Call` so ``/composite`` can run the
same code for its subrequests. They run inside the caller's transaction (``ctx.txn``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ..clock import sf_datetime
from . import composite, rest_records
from .bulk import routes as bulk_routes
from .calls import Call, Ctx, Handler, Resp
from .dml import RECYCLE_BIN_MS
from .errors import SfError, not_found
from .org import DEFAULT_BATCH
from .schema import OBJECTS
from .soql_where import parse_datetime_literal

MIN_VERSION = 20
MAX_SOQL = 100_000


@dataclass(frozen=True)
class Route:
    pattern: re.Pattern[str]
    methods: dict[str, Handler]
    template: Callable[[tuple[str, ...]], str]


def supported_versions(latest: str) -> list[str]:
    top = int(float(latest))
    return [f"{v}.0" for v in range(MIN_VERSION, top + 1)]


# -- handlers -------------------------------------------------------------------------
def _versions(call: Call, ctx: Ctx, p: tuple[str, ...]) -> Resp:
    return Resp(
        200,
        [
            {"label": f"v{v}", "url": f"/services/data/v{v}", "version": v}
            for v in supported_versions(ctx.org.config.api_version)
        ],
    )


def _resources(call: Call, ctx: Ctx, p: tuple[str, ...]) -> Resp:
    base = f"/services/data/v{ctx.version}"
    names = ["sobjects", "query", "queryAll", "limits", "composite"]
    return Resp(200, {n: f"{base}/{n}" for n in names})


def _limits(call: Call, ctx: Ctx, p: tuple[str, ...]) -> Resp:
    used, limit = ctx.org.usage()

    def entry(mx: int, remaining: int) -> dict[str, int]:
        return {"Max": mx, "Remaining": remaining}

    return Resp(
        200,
        {
            "DailyApiRequests": entry(limit, max(0, limit - used)),
            "DailyAsyncApexExecutions": entry(250000, 250000),
            "DailyBulkApiBatches": _left(ctx.org.bulk_batches),
            "DailyBulkV2QueryJobs": _left(ctx.org.bulk_query_jobs),
            "DailyDurableStreamingApiEvents": entry(1000000, 1000000),
            "DataStorageMB": entry(1024, 1000),
            "FileStorageMB": entry(1024, 1024),
            "HourlyPublishedPlatformEvents": entry(250000, 250000),
            "MonthlyPlatformEventsUsageEntitlement": entry(1500000, 1500000),
        },
    )


def _left(allowance: Any) -> dict[str, int]:
    return {"Max": allowance.limit, "Remaining": max(0, allowance.limit - allowance.usage())}


def _global_describe(call: Call, ctx: Ctx, p: tuple[str, ...]) -> Resp:
    return Resp(
        200,
        {
            "encoding": "UTF-8",
            "maxBatchSize": 200,
            "sobjects": [o.summary(ctx.version) for o in OBJECTS.values()],
        },
    )


def _metadata(call: Call, ctx: Ctx, p: tuple[str, ...]) -> Resp:
    sobject = ctx.org.sobject(p[0])
    rows = [r for r in ctx.org.store.table(sobject.name).rows.values() if not r["IsDeleted"]]
    recent = [
        {
            "attributes": {
                "type": sobject.name,
                "url": f"/services/data/v{ctx.version}/sobjects/{sobject.name}/{r['Id']}",
            },
            "Id": r["Id"],
            "Name": r.get("Name"),
        }
        for r in rows[-20:]
    ]
    return Resp(200, {"objectDescribe": sobject.summary(ctx.version), "recentItems": recent})


def _describe(call: Call, ctx: Ctx, p: tuple[str, ...]) -> Resp:
    return Resp(200, ctx.org.sobject(p[0]).describe(ctx.version))


def _parse_window(call: Call) -> tuple[str, str]:
    try:
        start = parse_datetime_literal(call.query["start"].replace(" ", "+"))
        end = parse_datetime_literal(call.query["end"].replace(" ", "+"))
    except (KeyError, ValueError):
        raise SfError(
            400, "INVALID_REPLICATION_DATE", "start and end must be ISO 8601 datetimes"
        ) from None
    return start, end


def _updated(call: Call, ctx: Ctx, p: tuple[str, ...]) -> Resp:
    sobject = ctx.org.sobject(p[0])
    start, end = _parse_window(call)
    rows = ctx.org.store.table(sobject.name).rows.values()
    ids = [r["Id"] for r in rows if not r["IsDeleted"] and start <= r["SystemModstamp"] <= end]
    return Resp(200, {"ids": ids, "latestDateCovered": end})


def _deleted(call: Call, ctx: Ctx, p: tuple[str, ...]) -> Resp:
    sobject = ctx.org.sobject(p[0])
    ctx.org.dml.purge_recycle_bin()
    start, end = _parse_window(call)
    rows = ctx.org.store.table(sobject.name).rows.values()
    deleted = [
        {"id": r["Id"], "deletedDate": r["SystemModstamp"]}
        for r in rows
        if r["IsDeleted"] and start <= r["SystemModstamp"] <= end
    ]
    earliest = ctx.org.clock.now_ms() - RECYCLE_BIN_MS  # purged after 15 days
    return Resp(
        200,
        {
            "deletedRecords": deleted,
            "earliestDateAvailable": sf_datetime(earliest - earliest % 60_000),
            "latestDateCovered": end,
        },
    )


def batch_size(headers: Mapping[str, str]) -> int:
    """``Sforce-Query-Options: batchSize=N`` is a hint: clamped to 200..2000."""
    opts = headers.get("Sforce-Query-Options", "")
    m = re.search(r"batchSize\s*=\s*(\d+)", opts, re.IGNORECASE)
    if not m:
        return DEFAULT_BATCH
    return max(200, min(DEFAULT_BATCH, int(m.group(1))))


def _query(call: Call, ctx: Ctx, p: tuple[str, ...]) -> Resp:
    q = call.query.get("q")
    if q is None or not q.strip():
        raise SfError(400, "MALFORMED_QUERY", "A query string has to be specified")
    if len(q) > MAX_SOQL:  # "SOQL statement ... By default, 100,000 characters" (App Limits)
        raise SfError(
            400, "MALFORMED_QUERY", f"SOQL statements cannot be longer than {MAX_SOQL} characters"
        )
    body = ctx.org.query(
        q, ctx.version, include_deleted=p[0] == "queryAll", batch=batch_size(call.headers)
    )
    return Resp(200, body)


def _query_more(call: Call, ctx: Ctx, p: tuple[str, ...]) -> Resp:
    return Resp(200, ctx.org.query_more(p[1], ctx.version, batch_size(call.headers)))


# -- routing --------------------------------------------------------------------------
_V = r"/services/data/v(\d+\.\d)"
_SEG = r"([^/]+)"


def _route(pattern: str, methods: dict[str, Handler], template: Callable[..., str]) -> Route:
    return Route(re.compile("^" + pattern + "/?$"), methods, template)


def _composite_handlers() -> dict[str, dict[str, Handler]]:
    return {
        "composite": {"POST": composite.composite},
        "batch": {"POST": composite.batch},
        "collections": {
            "POST": composite.collection_create,
            "PATCH": composite.collection_update,
            "DELETE": composite.collection_delete,
        },
        "retrieve": {"GET": composite.collection_retrieve, "POST": composite.collection_retrieve},
        "upsert": {"PATCH": composite.collection_upsert},
    }


def build_routes() -> list[Route]:
    c = _composite_handlers()
    return [
        *bulk_routes(_route, _V, _SEG),
        _route("/services/data", {"GET": _versions}, lambda p: "/services/data"),
        _route(_V, {"GET": _resources}, lambda p: f"/services/data/v{p[0]}"),
        _route(_V + "/limits", {"GET": _limits}, lambda p: f"/services/data/v{p[0]}/limits"),
        _route(
            _V + "/sobjects",
            {"GET": _global_describe},
            lambda p: f"/services/data/v{p[0]}/sobjects",
        ),
        _route(
            _V + r"/sobjects/(\w+)",
            {"GET": _metadata, "POST": rest_records.create},
            lambda p: f"/services/data/v{p[0]}/sobjects/{p[1]}",
        ),
        _route(
            _V + r"/sobjects/(\w+)/describe",
            {"GET": _describe},
            lambda p: f"/services/data/v{p[0]}/sobjects/{p[1]}/describe",
        ),
        _route(
            _V + r"/sobjects/(\w+)/updated",
            {"GET": _updated},
            lambda p: f"/services/data/v{p[0]}/sobjects/{p[1]}/updated",
        ),
        _route(
            _V + r"/sobjects/(\w+)/deleted",
            {"GET": _deleted},
            lambda p: f"/services/data/v{p[0]}/sobjects/{p[1]}/deleted",
        ),
        _route(
            _V + r"/sobjects/(\w+)/" + _SEG,
            {
                "GET": rest_records.get,
                "PATCH": rest_records.update,
                "DELETE": rest_records.delete,
                "POST": rest_records.post_record_path,
            },
            lambda p: f"/services/data/v{p[0]}/sobjects/{p[1]}/{{id}}",
        ),
        _route(
            _V + r"/sobjects/(\w+)/(\w+)/([^/]*)",
            {
                "GET": rest_records.get_by_ext,
                "PATCH": rest_records.upsert,
                "POST": rest_records.upsert,
                "DELETE": rest_records.delete_by_ext,
            },
            lambda p: f"/services/data/v{p[0]}/sobjects/{p[1]}/{p[2]}/{{value}}",
        ),
        _route(
            _V + r"/(query|queryAll)",
            {"GET": _query},
            lambda p: f"/services/data/v{p[0]}/{p[1]}",
        ),
        _route(
            _V + r"/(query|queryAll)/" + _SEG,
            {"GET": _query_more},
            lambda p: f"/services/data/v{p[0]}/{p[1]}/{{locator}}",
        ),
        _route(_V + "/composite", c["composite"], lambda p: f"/services/data/v{p[0]}/composite"),
        _route(
            _V + "/composite/batch",
            c["batch"],
            lambda p: f"/services/data/v{p[0]}/composite/batch",
        ),
        _route(
            _V + "/composite/sobjects",
            c["collections"],
            lambda p: f"/services/data/v{p[0]}/composite/sobjects",
        ),
        _route(
            _V + r"/composite/sobjects/(\w+)",
            c["retrieve"],
            lambda p: f"/services/data/v{p[0]}/composite/sobjects/{p[1]}",
        ),
        _route(
            _V + r"/composite/sobjects/(\w+)/(\w+)",
            c["upsert"],
            lambda p: f"/services/data/v{p[0]}/composite/sobjects/{p[1]}/{p[2]}",
        ),
    ]


_ROUTES: list[Route] | None = None


def match(path: str) -> tuple[Route, tuple[str, ...]] | None:
    """Find the route of a raw path; query strings are not part of ``path``."""
    global _ROUTES
    if _ROUTES is None:
        _ROUTES = build_routes()
    for route in _ROUTES:
        m = route.pattern.match(path)
        if m:
            return route, m.groups()
    return None


def dispatch(call: Call, ctx: Ctx) -> Resp:
    """Run one call inside ``ctx``; raises :class:`SfError` for error answers."""
    found = match(call.path)
    if found is None:
        raise not_found()
    route, params = found
    handler = route.methods.get(call.method)
    if handler is None:
        allowed = ",".join(sorted(route.methods))
        raise SfError(
            405,
            "METHOD_NOT_ALLOWED",
            f"HTTP Method '{call.method}' not allowed. Allowed are {allowed}",
        )
    if params and route.pattern.pattern.startswith("^" + _V):
        version = params[0]
        if version not in supported_versions(ctx.org.config.api_version):
            raise not_found()
        ctx = Ctx(ctx.org, ctx.txn, version, ctx.dispatch)
        params = params[1:]
    return handler(call, ctx, params)
