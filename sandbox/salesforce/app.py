"""The Salesforce stand-in's HTTP edge: stats, faults, OAuth, session and limit checks.

Everything after the edge is synchronous and runs under the org lock (one call = one
transaction); the edge only awaits the request body and injected latency.
"""

from __future__ import annotations

import itertools
import json
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from ..faults import Faults, delay_or_drop
from ..stats import Stats
from .calls import Call, Ctx, Resp
from .errors import SfError
from .oauth import OAuthError
from .org import SalesforceOrg, change_origin
from .rest import dispatch, match
from .store import Actor, Txn

JSON_TYPE = "application/json;charset=UTF-8"
MAX_URI_AND_HEADERS = 16_384
_CLIENT = re.compile(r"client\s*=\s*([^,;\s]+)", re.IGNORECASE)
_ALLOW_SAVE = re.compile(r"allowSave\s*=\s*true", re.IGNORECASE)
_STATUS_CODES = {
    400: "BAD_REQUEST",
    401: "INVALID_SESSION_ID",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    429: "REQUEST_LIMIT_EXCEEDED",
    500: "UNKNOWN_EXCEPTION",
    502: "SERVER_UNAVAILABLE",
    503: "SERVER_UNAVAILABLE",
    504: "SERVER_UNAVAILABLE",
}

ControlHandler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _dumps(body: Any) -> bytes:
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> web.Response:
    if body is None and status in (204, 304):
        return web.Response(status=status, headers=headers)
    return web.Response(
        status=status,
        body=_dumps(body),
        content_type="application/json",
        charset="UTF-8",
        headers=headers,
    )


def fault_error(status: int) -> SfError:
    code = _STATUS_CODES.get(status, "UNKNOWN_EXCEPTION")
    messages = {
        "SERVER_UNAVAILABLE": "Server is temporarily unavailable, please try again later.",
        "UNKNOWN_EXCEPTION": "An unexpected error occurred. Please include this ErrorId if you "
        "contact support: 1234567890-12345 (-1234567890)",
        "REQUEST_LIMIT_EXCEEDED": "ConcurrentPerOrgLongTxn Limit exceeded.",
        "INVALID_SESSION_ID": "Session expired or invalid",
    }
    return SfError(status, code, messages.get(code, "Injected fault"))


class SalesforceApp:
    """aiohttp handler for every path of the Salesforce stand-in."""

    def __init__(
        self, org: SalesforceOrg, stats: Stats, faults: Faults, control: ControlHandler
    ) -> None:
        self.org = org
        self.stats = stats
        self.faults = faults
        self.control = control
        self._in_flight: dict[int, float] = {}  # request -> monotonic start (one event loop)
        self._request_ids = itertools.count()

    async def handle(self, request: web.Request) -> web.StreamResponse:
        path = request.rel_url.raw_path
        if path.startswith("/__sandbox"):
            return await self.control(request)
        refused = self._too_long(request) or self._long_running_limit()
        if refused is not None:
            return refused
        key = next(self._request_ids)
        self._in_flight[key] = time.monotonic()
        try:
            return await self._handle(request, path)
        finally:
            del self._in_flight[key]

    def _too_long(self, request: web.Request) -> web.Response | None:
        """ "The maximum length for the combined URI and headers is 16,384 bytes": beyond it
        the URI alone gets 414, the two together 431 (Help KB 000386264). The body Salesforce
        sends with them is not documented; this one has the usual error shape."""
        uri = len(request.rel_url.raw_path_qs.encode())
        headers = sum(len(k) + len(v) + 4 for k, v in request.raw_headers)
        if uri > MAX_URI_AND_HEADERS:
            status, code = 414, "URI_TOO_LONG"
        elif uri + headers > MAX_URI_AND_HEADERS:
            status, code = 431, "REQUEST_HEADER_FIELDS_TOO_LARGE"
        else:
            return None
        self.stats.count_fault(str(status))
        message = f"The URI and headers may hold at most {MAX_URI_AND_HEADERS} bytes"
        return _json(status, SfError(status, code, message).body())

    def _long_running_limit(self) -> web.Response | None:
        """ "Concurrent inbound requests (calls) with a duration of 20 seconds or longer"
        are limited to 25 an org; beyond it "the API returns a REQUEST_LIMIT_EXCEEDED
        exception code" (App Limits, API Request Limits and Allocations), 403 in REST."""
        rules = self.org.dml.rules
        now = time.monotonic()
        long_running = sum(
            1 for began in self._in_flight.values() if now - began >= rules.long_request_seconds
        )
        if long_running < rules.concurrent_long_requests:
            return None
        self.stats.count_fault("concurrent_long_requests")
        err = SfError(403, "REQUEST_LIMIT_EXCEEDED", "ConcurrentPerOrgLongTxn Limit exceeded.")
        return _json(err.status, err.body())

    async def _handle(self, request: web.Request, path: str) -> web.StreamResponse:
        method = request.method
        is_oauth = path.startswith("/services/oauth2/")
        found = None if is_oauth else match(path)
        template = path.rstrip("/") if is_oauth else (found[0].template(found[1]) if found else "?")
        self.stats.count(f"{method} {template}")
        decision = self.faults.decide(method, path)
        if decision is not None:
            dropped = await delay_or_drop(decision, request, self.stats)
            if dropped is not None:
                return dropped
            if decision.limit_exceeded:
                self.stats.count_fault("limit_exceeded")
                err = SfError(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
                return _json(err.status, err.body())
            if decision.status is not None:
                self.stats.count_fault(str(decision.status))
                err = fault_error(decision.status)
                headers = {"Retry-After": "1"} if decision.status in (429, 503) else None
                return _json(err.status, err.body(), headers)
        body = await request.read()
        if is_oauth:
            return self._oauth(request, path, body)
        headers = {k: v for k, v in request.headers.items()}
        call = Call(method, path, request.rel_url.query, headers, raw_body=body)
        status, payload, extra = self.execute(call, request.headers.get("Authorization"))
        return _json(status, payload, extra)

    def _oauth(self, request: web.Request, path: str, body: bytes) -> web.Response:
        tail = path.rstrip("/").rsplit("/", 1)[-1]
        if tail == "revoke":
            token = request.rel_url.query.get("token") or ""
            if not token:
                from urllib.parse import parse_qs

                token = (parse_qs(body.decode()).get("token") or [""])[0]
            self.org.tokens.revoke(token)
            return web.Response(status=200)
        if tail != "token" or request.method != "POST":
            return _json(404, {"error": "not_found", "error_description": "unknown endpoint"})
        try:
            out = self.org.tokens.token_response(
                body,
                request.headers.get("Authorization"),
                self.org.instance_url,
                host=(request.host or "").rsplit(":", 1)[0],
            )
        except OAuthError as exc:
            return _json(exc.status, exc.body)
        return _json(200, out)

    def execute(self, call: Call, authorization: str | None) -> tuple[int, Any, dict[str, str]]:
        """Authenticate, count usage, run in one transaction; returns status, body, headers."""
        public = call.path.rstrip("/") == "/services/data"
        session = None
        if not public:
            token = ""
            if authorization and authorization[:7].lower() == "bearer ":
                token = authorization[7:].strip()
            elif authorization and authorization[:6].lower() == "oauth ":
                token = authorization[6:].strip()
            session = self.org.tokens.check(token)
            if session is None:
                err = SfError(401, "INVALID_SESSION_ID", "Session expired or invalid")
                return 401, err.body(), {"WWW-Authenticate": "Token"}
        headers: dict[str, str] = {}
        try:
            if session is not None:
                used, limit = self.org.use_api_call()
                headers["Sforce-Limit-Info"] = f"api-usage={used}/{limit}"
        except SfError as exc:
            used, limit = self.org.usage()
            headers["Sforce-Limit-Info"] = f"api-usage={used}/{limit}"
            return exc.status, exc.body(), headers
        client_opt = _CLIENT.search(call.headers.get("Sforce-Call-Options", ""))
        version = self._version(call.path)
        duplicate_header = call.headers.get("Sforce-Duplicate-Rule-Header", "")
        actor = Actor(
            user_id=session.user_id if session else self.org.integration_user_id,
            change_origin=change_origin(version, client_opt.group(1) if client_opt else None),
            allow_save=bool(_ALLOW_SAVE.search(duplicate_header)),
        )
        resp = self.run(call, actor, version)
        resp.headers.update(headers)
        return resp.status, resp.body, resp.headers

    def _version(self, path: str) -> str:
        m = re.match(r"^/services/data/v(\d+\.\d)", path)
        return m.group(1) if m else self.org.config.api_version

    def run(self, call: Call, actor: Actor, version: str) -> Resp:
        with self.org.store.lock:
            txn = Txn(self.org.store, actor)
            ctx = Ctx(self.org, txn, version, dispatch)
            try:
                resp = dispatch(call, ctx)
            except SfError as exc:
                txn.rollback()
                return Resp(exc.status, exc.body())
            except BaseException:
                txn.rollback()
                raise
            if resp.status >= 400:
                txn.rollback()
            else:
                self.org.commit(txn, version)
            return resp
