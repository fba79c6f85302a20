"""`/api/<route>`: find the HTTP-triggered function for a request and run it in a worker."""

from __future__ import annotations

import hmac
import json
import logging
import time
from collections.abc import Callable, Iterable
from typing import Any

from aiohttp import web

from devhost.index import Function, UnsupportedBinding
from devhost.routes import Route, RouteError, compile_route, decoded_path
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


def _route_of(fn: Function) -> str:
    return str(fn.trigger.get("route") or fn.name)


def _methods_of(fn: Function) -> set[str]:
    return {str(m).upper() for m in fn.trigger.get("methods") or []}


def route_error(fn: Function, served: list[Function]) -> str | None:
    """Why the host would not load this HTTP function (ScriptHost.ValidateFunction): a route
    in its own `admin`/`runtime` space, or the same template as an earlier function with
    methods in common (no methods means all). The host logs it and loads the others."""
    template = _route_of(fn).strip("/")
    if template.lower().startswith(("admin", "runtime")):
        return "The specified route conflicts with one or more built in routes."
    for other in served:
        if other.name.lower() == fn.name.lower():
            return f"The function or proxy name '{fn.name}' must be unique within the function app."
        if _route_of(other).strip("/").lower() != template.lower():
            continue
        mine, theirs = _methods_of(fn), _methods_of(other)
        if not mine or not theirs or mine & theirs:
            return (
                f"The route specified conflicts with the route defined by function '{other.name}'."
            )
    return None


def route_table(functions: list[Function]) -> list[tuple[Function, Route]]:
    """The functions the host loads with their parsed routes, in registration order. A
    function ScriptHost.ValidateFunction refuses is left out with an error in the log; a
    template the route builder cannot parse stops start-up (UnsupportedBinding)."""
    routes: list[tuple[Function, Route]] = []
    for fn in functions:
        error = route_error(fn, [served for served, _ in routes])
        if error is not None:
            log.error("function '%s' is not loaded: %s", fn.name, error)
            continue
        try:
            routes.append((fn, compile_route(_route_of(fn))))
        except RouteError as exc:
            raise UnsupportedBinding(f"function '{fn.name}': route {exc}") from None
    return routes


class HttpTriggers:
    """Routes in registration order, the first match wins (ASP.NET's RouteCollection, to
    which the host adds one route per function, methods as a route constraint)."""

    def __init__(
        self,
        routes: list[tuple[Function, Route]],
        pool: WorkerPool,
        client_binding: Callable[[], dict[str, Any]],
        keys: dict[str, str] | None = None,
    ) -> None:
        self.pool = pool
        self.client_binding = client_binding
        self.keys = keys  # None: auth levels not enforced (Core Tools default)
        self.routes = routes  # route_table(): in registration order

    def add_routes(self, app: web.Application) -> None:
        app.router.add_route("*", "/api/{tail:.*}", self.handle)

    def _authorized(self, fn: Function, request: web.Request) -> bool:
        if self.keys is None:
            return True
        level = str(fn.trigger.get("authLevel", "FUNCTION")).upper()
        if level == "ANONYMOUS":
            return True
        # the header wins over ?code= even when it is wrong (AuthenticationLevelHandler)
        given = request.headers.get("x-functions-key", request.query.get("code", ""))
        allowed = [self.keys.get("master", "")]
        if level == "FUNCTION":
            allowed.append(self.keys.get("function", ""))
        return any(k and hmac.compare_digest(given, k) for k in allowed)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """The first route whose template, constraints and methods match; else 404 (a wrong
        method is a route that does not match, as in ASP.NET, not a 405)."""
        if (request.content_length or 0) > MAX_REQUEST_BODY:  # refused before it is read
            refused = web.Response(status=413)
            refused.force_close()
            await refused.prepare(request)
            await refused.write_eof()
            if request.transport is not None:  # as Kestrel: close rather than drain the body
                request.transport.close()
            return refused
        path = decoded_path(request.raw_path.split("?", 1)[0])[len("/api/") :]
        for fn, route in self.routes:
            methods = _methods_of(fn)
            if methods and request.method.upper() not in methods:
                continue
            params = route.match(path)
            if params is None:
                continue
            if not self._authorized(fn, request):
                return web.Response(status=401)
            return await self._invoke(fn, params, request)
        return web.Response(status=404)

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
