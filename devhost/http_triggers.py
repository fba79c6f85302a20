"""`/api/<route>`: find the HTTP-triggered function for a request and run it in a worker."""

from __future__ import annotations

import hmac
import json
import logging
import time
from collections.abc import Callable, Iterable
from typing import Any

from aiohttp import web

from devhost.index import Function
from devhost.routes import Route, compile_route
from devhost.workers import WorkerPool

log = logging.getLogger("devhost")


MAX_REQUEST_BODY = 100 * 2**20  # the Functions host's limit (104,857,600 bytes), else 413

# Kestrel writes the headers it knows under their canonical names whatever case the worker
# used (the Python worker lower-cases `content-type`); others as given.
_KNOWN = {
    n.lower(): n
    for n in (
        "Content-Type",
        "Content-Length",
        "Content-Encoding",
        "Content-Disposition",
        "Content-Language",
        "Cache-Control",
        "ETag",
        "Expires",
        "Last-Modified",
        "Location",
        "Retry-After",
        "Set-Cookie",
        "Vary",
        "WWW-Authenticate",
        "Allow",
    )
}


def _wire_name(name: str) -> str:
    return _KNOWN.get(name.lower(), name)


def joined(pairs: Iterable[tuple[str, str]], *, headers: bool = False) -> dict[str, str]:
    """Query or header pairs as the host's ToRpcHttp hands them to the Python worker: keys
    case-insensitive (the first spelling kept; headers lower-cased), repeated keys' values
    joined with "," (StringValues.ToString). A query key whose value is empty is dropped
    (`?x=` gives no `x`); empty headers stay, as the Python worker does not ask otherwise."""
    values: dict[str, list[str]] = {}
    spelling: dict[str, str] = {}
    for key, value in pairs:
        folded = key.lower()
        spelling.setdefault(folded, folded if headers else key)
        values.setdefault(folded, []).append(value)
    out = {spelling[k]: ",".join(v) for k, v in values.items()}
    return out if headers else {k: v for k, v in out.items() if v}


class HttpTriggers:
    """Routes in precedence order (literal segments before parameters, like ASP.NET)."""

    def __init__(
        self,
        functions: list[Function],
        pool: WorkerPool,
        client_binding: Callable[[], dict[str, Any]],
        keys: dict[str, str] | None = None,
    ) -> None:
        self.pool = pool
        self.client_binding = client_binding
        self.keys = keys  # None: auth levels not enforced (Core Tools default)
        compiled = [
            (fn, compile_route(str(fn.trigger.get("route") or fn.name))) for fn in functions
        ]
        self.routes: list[tuple[Function, Route]] = sorted(
            compiled, key=lambda item: (item[1].template.count("{"), -len(item[1].template))
        )

    def add_routes(self, app: web.Application) -> None:
        app.router.add_route("*", "/api/{tail:.*}", self.handle)

    def _authorized(self, fn: Function, request: web.Request) -> bool:
        if self.keys is None:
            return True
        level = str(fn.trigger.get("authLevel", "FUNCTION")).upper()
        if level == "ANONYMOUS":
            return True
        given = request.query.get("code") or request.headers.get("x-functions-key") or ""
        allowed = [self.keys.get("master", "")]
        if level == "FUNCTION":
            allowed.append(self.keys.get("function", ""))
        return any(k and hmac.compare_digest(given, k) for k in allowed)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        if (request.content_length or 0) > MAX_REQUEST_BODY:  # refused before it is read
            refused = web.Response(status=413)
            refused.force_close()
            await refused.prepare(request)
            await refused.write_eof()
            if request.transport is not None:  # as Kestrel: close rather than drain the body
                request.transport.close()
            return refused
        path = request.match_info["tail"]
        method_mismatch = False
        for fn, route in self.routes:
            params = route.match(path)
            if params is None:
                continue
            methods = [str(m).upper() for m in fn.trigger.get("methods") or []]
            if methods and request.method.upper() not in methods:
                method_mismatch = True
                continue
            if not self._authorized(fn, request):
                return web.Response(status=401)
            return await self._invoke(fn, params, request)
        return web.Response(status=405 if method_mismatch else 404)

    async def _invoke(
        self, fn: Function, params: dict[str, str], request: web.Request
    ) -> web.StreamResponse:
        body = await request.read()
        started = time.perf_counter()
        reply = await self.pool.call(
            "http",
            name=fn.name,
            method=request.method,
            url=str(request.url),
            headers=joined(request.headers.items(), headers=True),
            params=joined(request.query.items()),
            route_params=params,
            body=body.hex(),
            client=json.dumps(self.client_binding()),
        )
        ms = (time.perf_counter() - started) * 1000
        if not reply["ok"]:
            log.info("%s (http) failed %.1fms: %s", fn.name, ms, reply["error"])
            return web.Response(status=500)
        response = reply["response"]
        log.info("%s (http) %s %.1fms", fn.name, response["status"], ms)
        headers = [(_wire_name(str(k)), str(v)) for k, v in response["headers"]]
        return web.Response(
            status=int(response["status"]), headers=headers, body=bytes.fromhex(response["body"])
        )
