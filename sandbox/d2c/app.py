"""The D2C stand-in's HTTP edge: routing, bearer auth, idempotency keys, ETags, faults, stats."""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from ..faults import Faults, delay_or_drop
from ..stats import Stats
from .errors import Problem, validation
from .store import D2CPlatform, Stored

PROBLEM_TYPE = "application/problem+json"
_KEY = re.compile(r"^[\x21-\x7e][\x20-\x7e]{0,254}$")
_CUSTOMER_ID = re.compile(r"^cus_[0-9A-Za-z]{8,32}$")
_USER_ID = re.compile(r"^usr_[0-9A-Za-z]{8,32}$")

ControlHandler = Callable[[web.Request], Awaitable[web.StreamResponse]]
_ROUTES: list[tuple[re.Pattern[str], str, tuple[str, ...]]] = [
    (re.compile(r"^/v1/customers/?$"), "/v1/customers", ("GET", "POST")),
    (re.compile(r"^/v1/customers/lookup/?$"), "/v1/customers/lookup", ("POST",)),
    (re.compile(r"^/v1/customers/([^/]+)/?$"), "/v1/customers/{customerId}", ("GET", "PATCH")),
    (
        re.compile(r"^/v1/customers/([^/]+)/deactivate/?$"),
        "/v1/customers/{customerId}/deactivate",
        ("POST",),
    ),
    (
        re.compile(r"^/v1/customers/([^/]+)/reactivate/?$"),
        "/v1/customers/{customerId}/reactivate",
        ("POST",),
    ),
    (
        re.compile(r"^/v1/customers/([^/]+)/users/?$"),
        "/v1/customers/{customerId}/users",
        ("GET", "POST"),
    ),
    (
        re.compile(r"^/v1/customers/([^/]+)/users/([^/]+)/?$"),
        "/v1/customers/{customerId}/users/{userId}",
        ("DELETE",),
    ),
    (
        re.compile(r"^/v1/users/([^/]+)/erase/?$"),
        "/v1/users/{userId}/erase",
        ("POST",),
    ),
    (re.compile(r"^/v1/registrations/?$"), "/v1/registrations", ("POST",)),
]


def _dumps(body: Any) -> bytes:
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


def problem_response(p: Problem, instance: str | None = None) -> web.Response:
    return web.Response(
        status=p.status,
        body=_dumps(p.body(instance)),
        content_type=PROBLEM_TYPE,
        headers=p.headers or None,
    )


def _etag(customer: dict[str, Any]) -> dict[str, str]:
    return {"ETag": f'"{customer["version"]}"'}


class D2CApp:
    """aiohttp handler for every path of the D2C stand-in."""

    def __init__(
        self,
        platform: D2CPlatform,
        tokens: dict[str, str],
        stats: Stats,
        faults: Faults,
        control: ControlHandler,
    ) -> None:
        self.platform = platform
        self.tokens = tokens  # bearer token -> API client name ("crosswalk", "storefront")
        self.stats = stats
        self.faults = faults
        self.control = control

    async def handle(self, request: web.Request) -> web.StreamResponse:
        path = request.rel_url.path
        if path.startswith("/__sandbox"):
            return await self.control(request)
        method = request.method
        route = None
        params: tuple[str, ...] = ()
        for pattern, template, methods in _ROUTES:
            m = pattern.match(path)
            if m:
                route = (template, methods)
                params = m.groups()
                break
        self.stats.count(f"{method} {route[0] if route else '?'}")
        decision = self.faults.decide(method, path)
        if decision is not None:
            dropped = await delay_or_drop(decision, request, self.stats)
            if dropped is not None:
                return dropped
            if decision.status is not None or decision.limit_exceeded:
                status = decision.status or 429
                self.stats.count_fault(str(status))
                titles = {429: "Too many requests", 503: "Service unavailable"}
                headers = {"Retry-After": "1"} if status in (429, 503) else None
                slug = {429: "rate-limited", 503: "unavailable"}.get(status, "server-error")
                return problem_response(
                    Problem(
                        status,
                        slug,
                        titles.get(status, "Server error"),
                        "Injected fault",
                        headers=headers,
                    )
                )
        body = await request.read()
        try:
            client = self._auth(request)
            if route is None:
                raise Problem(404, "not-found", "Not found", f"No route for {path}")
            template, methods = route
            if method not in methods:
                raise Problem(
                    405,
                    "method-not-allowed",
                    "Method not allowed",
                    f"{method} is not allowed here",
                    headers={"Allow": ", ".join(methods)},
                )
            status, payload, headers = self._dispatch(
                template, method, params, request, body, client
            )
        except Problem as p:
            return problem_response(p, path)
        if payload is None:
            return web.Response(status=status, headers=headers)
        return web.Response(
            status=status, body=_dumps(payload), content_type="application/json", headers=headers
        )

    def _auth(self, request: web.Request) -> str:
        header = request.headers.get("Authorization", "")
        if header[:7].lower() == "bearer ":
            client = self.tokens.get(header[7:].strip())
            if client is not None:
                return client
        raise Problem(
            401,
            "unauthorized",
            "Unauthorized",
            "Missing or invalid bearer token",
            headers={"WWW-Authenticate": "Bearer"},
        )

    @staticmethod
    def _json(body: bytes, *, required: bool = True) -> Any:
        if not body.strip():
            if required:
                raise validation([{"field": "(body)", "message": "a JSON body is required"}])
            return None
        try:
            return json.loads(body)
        except (ValueError, UnicodeDecodeError):
            raise validation([{"field": "(body)", "message": "is not valid JSON"}]) from None

    def _idempotent(
        self,
        request: web.Request,
        client: str,
        body: bytes,
        run: Callable[[Any], tuple[int, Any, dict[str, str]]],
    ) -> tuple[int, Any, dict[str, str]]:
        """Replay, reject (422/428) or run-and-remember one keyed write."""
        key = request.headers.get("Idempotency-Key")
        if key is None:
            raise Problem(
                428,
                "idempotency-key-missing",
                "Idempotency-Key required",
                "This request needs an Idempotency-Key header",
            )
        if not _KEY.match(key):
            raise validation(
                [{"field": "Idempotency-Key", "message": "must be 1-255 printable characters"}]
            )
        parsed = self._json(body)
        fingerprint = (
            request.method
            + " "
            + request.rel_url.path.rstrip("/")
            + " "
            + json.dumps(parsed, sort_keys=True, separators=(",", ":"))
        )
        stored = self.platform.replay(client, key, fingerprint)
        if stored is not None:
            return stored.status, stored.body, {**stored.headers, "Idempotent-Replayed": "true"}
        status, payload, headers = run(parsed)
        self.platform.remember(client, key, Stored(fingerprint, status, payload, dict(headers)))
        return status, payload, headers

    def _dispatch(
        self,
        template: str,
        method: str,
        params: tuple[str, ...],
        request: web.Request,
        body: bytes,
        client: str,
    ) -> tuple[int, Any, dict[str, str]]:
        p = self.platform
        if template == "/v1/users/{userId}/erase":
            with p.lock:
                p.erase_user(params[0])
            return 204, None, {}
        if params and not _CUSTOMER_ID.match(params[0]):
            raise Problem(404, "not-found", "Not found", "No such customer")
        if len(params) > 1 and not _USER_ID.match(params[1]):
            raise Problem(404, "not-found", "Not found", "No such user")
        with p.lock:
            if template == "/v1/customers" and method == "GET":
                return 200, p.list_customers(dict(request.rel_url.query)), {}
            if template == "/v1/customers":

                def create(parsed: Any) -> tuple[int, Any, dict[str, str]]:
                    c = p.create_customer(parsed, client)
                    return 201, c, {**_etag(c), "Location": f"/v1/customers/{c['id']}"}

                return self._idempotent(request, client, body, create)
            if template == "/v1/customers/lookup":
                return 200, p.lookup(self._json(body)), {}
            if template == "/v1/customers/{customerId}" and method == "GET":
                c = p.customer(params[0])
                return 200, c, _etag(c)
            if template == "/v1/customers/{customerId}":
                p.customer(params[0])  # 404 before 428
                if_match = request.headers.get("If-Match")
                if if_match is None:
                    raise Problem(
                        428, "precondition-required", "If-Match required", "PATCH needs If-Match"
                    )
                c = p.update_customer(params[0], self._json(body), client, if_match)
                return 200, c, _etag(c)
            if template == "/v1/customers/{customerId}/deactivate":
                c = p.deactivate(params[0], self._json(body, required=False), client)
                return 200, c, _etag(c)
            if template == "/v1/customers/{customerId}/reactivate":
                c = p.reactivate(params[0], self._json(body, required=False), client)
                return 200, c, _etag(c)
            if template == "/v1/customers/{customerId}/users" and method == "GET":
                return 200, p.list_users(params[0]), {}
            if template == "/v1/customers/{customerId}/users":
                p.customer(params[0])

                def invite(parsed: Any) -> tuple[int, Any, dict[str, str]]:
                    return 201, p.invite_user(params[0], parsed, client), {}

                return self._idempotent(request, client, body, invite)
            if template == "/v1/customers/{customerId}/users/{userId}":
                p.remove_user(params[0], params[1], client)
                return 204, None, {}
            if template == "/v1/registrations":

                def register(parsed: Any) -> tuple[int, Any, dict[str, str]]:
                    c, _ = p.register(parsed, client)
                    return 201, c, _etag(c)

                return self._idempotent(request, client, body, register)
        raise Problem(404, "not-found", "Not found", "No route")
