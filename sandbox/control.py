"""``/__sandbox/...``: the control path both servers serve (never counted in stats).

The same operations as the Python API, for a sandbox started with ``python -m sandbox``.
Imports run one way: ``api`` builds the handlers from here and hands itself in; this module
knows the sandbox only as the ``Controls`` protocol below.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from aiohttp import web

from .d2c.errors import Problem
from .salesforce.errors import SfError


class Controls(Protocol):
    """What the control path drives: the in-process API's operations (``sandbox.api``)."""

    seed: int

    def info(self) -> dict[str, Any]: ...
    def stats(self) -> dict[str, Any]: ...
    def reset(self, seed: int | None = None) -> None: ...
    def add_fault(self, service: str, spec: dict[str, Any]) -> list[str]: ...
    def list_faults(self, service: str = "both") -> list[dict[str, Any]]: ...
    def clear_faults(self, service: str = "both") -> None: ...
    def set_events_to(self, salesforce: str | None = None, d2c: str | None = None) -> None: ...
    def set_event_delivery(
        self, *, duplicate: float | None = None, reorder: bool | None = None, service: str = "all"
    ) -> None: ...
    def events_delivered(self, service: str = "all") -> list[dict[str, Any]]: ...
    def advance_clock(self, seconds: float) -> None: ...
    def pubsub_faults(
        self, *, drop_after: int | None = None, delay: float = 0.0, limit_exceeded: bool = False
    ) -> None: ...
    def pubsub_stats(self) -> dict[str, Any]: ...
    def salesforce_expire_tokens(self) -> None: ...
    def salesforce_org_rules(
        self,
        *,
        restricted_picklists: list[str] | None = None,
        state_country_picklists: bool | None = None,
        duplicate_rules: bool | None = None,
        concurrent_long_requests: int | None = None,
        long_request_seconds: float | None = None,
        whole_second_stamps: bool | None = None,
    ) -> None: ...
    def salesforce_set_api_usage(self, used: int) -> None: ...
    def salesforce_records(
        self, sobject: str, include_deleted: bool = False
    ) -> list[dict[str, Any]]: ...
    def salesforce_create(self, sobject: str, fields: dict[str, Any]) -> str: ...
    def salesforce_undelete(self, sobject: str, record_id: str) -> None: ...
    def salesforce_convert_lead(
        self, record_id: str, account_id: str | None = None
    ) -> dict[str, str]: ...
    def salesforce_record(self, sobject: str, record_id: str) -> dict[str, Any]: ...
    def salesforce_edit(self, sobject: str, record_id: str, fields: dict[str, Any]) -> None: ...
    def salesforce_delete(self, sobject: str, record_id: str) -> None: ...
    def d2c_register(self, **body: Any) -> dict[str, Any]: ...
    def d2c_customers(self) -> list[dict[str, Any]]: ...
    def d2c_users(self, customer_id: str) -> list[dict[str, Any]]: ...
    def d2c_customer(self, customer_id: str) -> dict[str, Any]: ...
    def d2c_edit(self, customer_id: str, fields: dict[str, Any]) -> dict[str, Any]: ...


ControlHandler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _ok(body: Any = None, status: int = 200) -> web.Response:
    if body is None:
        return web.Response(status=204)
    return web.json_response(body, status=status, dumps=lambda o: json.dumps(o))


def make_control_handler(sb: Controls, service: str) -> ControlHandler:
    """The control handler of one server; ``service`` is the default target of faults."""

    async def handle(request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        try:
            body = json.loads(raw) if raw.strip() else {}
        except ValueError:
            return _ok({"error": "body is not JSON"}, 400)
        try:
            return _route(sb, service, request, body)
        except SfError as exc:
            return _ok(exc.body(), exc.status)
        except Problem as exc:
            return _ok(exc.body(), exc.status)
        except (ValueError, TypeError, KeyError) as exc:
            return _ok({"error": str(exc)}, 400)

    return handle


def _route(sb: Controls, service: str, request: web.Request, body: Any) -> web.Response:
    path = request.rel_url.path.rstrip("/")
    method = request.method
    q = request.rel_url.query
    if path == "/__sandbox/info" and method == "GET":
        return _ok(sb.info())
    if path == "/__sandbox/stats" and method == "GET":
        return _ok(sb.stats())
    if path == "/__sandbox/reset" and method == "POST":
        sb.reset(seed=body.get("seed"))
        return _ok({"reset": True, "seed": sb.seed})
    if path == "/__sandbox/faults":
        target = q.get("service") or body.pop("service", None) or service
        if method == "POST":
            return _ok({"ids": sb.add_fault(target, body)}, 201)
        if method == "GET":
            return _ok({"faults": sb.list_faults(target)})
        if method == "DELETE":
            sb.clear_faults(target)
            return _ok()
    if path == "/__sandbox/events":
        if method == "GET":
            return _ok(sb.stats()["events"])
        if method == "POST":
            sb.set_events_to(salesforce=body.get("salesforce"), d2c=body.get("d2c"))
            if "duplicate" in body or "reorder" in body:
                sb.set_event_delivery(duplicate=body.get("duplicate"), reorder=body.get("reorder"))
            return _ok(sb.stats()["events"])
    if path == "/__sandbox/events/delivered" and method == "GET":
        return _ok({"events": sb.events_delivered(q.get("service", "all"))})
    if path == "/__sandbox/clock" and method == "POST":
        sb.advance_clock(float(body.get("advance", 0)))
        return _ok({"advanced": body.get("advance", 0)})
    if path == "/__sandbox/pubsub/faults" and method == "POST":
        drop_after = body.get("drop_after")
        if drop_after is not None and (type(drop_after) is not int or drop_after < 0):
            raise ValueError("drop_after: a whole number of events, 0 or more")
        delay = body.get("delay", 0.0)
        if type(delay) not in (int, float) or delay < 0:
            raise ValueError("delay: seconds, a JSON number 0 or more")
        limit_exceeded = body.get("limit_exceeded", False)
        if not isinstance(limit_exceeded, bool):
            raise ValueError("limit_exceeded: a JSON boolean")
        sb.pubsub_faults(drop_after=drop_after, delay=float(delay), limit_exceeded=limit_exceeded)
        return _ok(sb.pubsub_stats())
    if path == "/__sandbox/pubsub" and method == "GET":
        return _ok(sb.pubsub_stats())
    if path == "/__sandbox/salesforce/org-rules" and method == "POST":
        sb.salesforce_org_rules(**_org_rules(body))
        return _ok()
    if path == "/__sandbox/salesforce/expire-tokens" and method == "POST":
        sb.salesforce_expire_tokens()
        return _ok()
    if path == "/__sandbox/salesforce/api-usage" and method == "POST":
        sb.salesforce_set_api_usage(int(body["used"]))
        return _ok()
    m = re.fullmatch(r"/__sandbox/salesforce/records/(\w+)(?:/(\w+))?(/undelete|/convert)?", path)
    if m:
        sobject, rid, verb = m.groups()
        if rid is None and method == "GET":
            deleted = q.get("include_deleted", "false").lower() == "true"
            return _ok({"records": sb.salesforce_records(sobject, include_deleted=deleted)})
        if rid is None and method == "POST":
            return _ok({"id": sb.salesforce_create(sobject, body)}, 201)
        if rid is not None and verb == "/undelete" and method == "POST":
            sb.salesforce_undelete(sobject, rid)
            return _ok()
        if sobject == "Lead" and rid is not None and verb == "/convert" and method == "POST":
            return _ok(sb.salesforce_convert_lead(rid, body.get("accountId")))
        if rid is not None and method == "GET":
            return _ok(sb.salesforce_record(sobject, rid))
        if rid is not None and method == "PATCH":
            sb.salesforce_edit(sobject, rid, body)
            return _ok()
        if rid is not None and method == "DELETE":
            sb.salesforce_delete(sobject, rid)
            return _ok()
    if path == "/__sandbox/d2c/registrations" and method == "POST":
        return _ok(sb.d2c_register(**body), 201)
    if path == "/__sandbox/d2c/customers" and method == "GET":
        return _ok({"data": sb.d2c_customers()})
    m = re.fullmatch(r"/__sandbox/d2c/customers/(\w+)(/users)?", path)
    if m:
        cid, users = m.groups()
        if users and method == "GET":
            return _ok({"data": sb.d2c_users(cid)})
        if method == "GET":
            return _ok(sb.d2c_customer(cid))
        if method == "PATCH":
            return _ok(sb.d2c_edit(cid, body))
    return _ok({"error": f"no control endpoint {method} {path}"}, 404)


def _org_rules(body: Any) -> dict[str, Any]:
    """The org switches of `Sandbox.salesforce_org_rules` from JSON, each checked strictly
    (a boolean is a JSON boolean); a key left out leaves that switch as it is."""
    if not isinstance(body, dict):
        raise ValueError("the body is a JSON object")
    unknown = sorted(set(body) - set(_ORG_RULES))
    if unknown:
        raise ValueError(f"unknown org rule(s): {', '.join(unknown)}")
    for key, (check, what) in _ORG_RULES.items():
        if key in body and not check(body[key]):
            raise ValueError(f"{key}: {what}")
    return dict(body)


def _whole(value: Any) -> bool:
    return type(value) is int and value >= 1


def _seconds(value: Any) -> bool:
    return type(value) in (int, float) and value > 0


_ORG_RULES: dict[str, tuple[Callable[[Any], bool], str]] = {
    "restricted_picklists": (
        lambda v: isinstance(v, list) and all(isinstance(x, str) and "." in x for x in v),
        'a JSON list of "Object.Field" names',
    ),
    "state_country_picklists": (lambda v: isinstance(v, bool), "a JSON boolean"),
    "duplicate_rules": (lambda v: isinstance(v, bool), "a JSON boolean"),
    "whole_second_stamps": (lambda v: isinstance(v, bool), "a JSON boolean"),
    "concurrent_long_requests": (_whole, "a whole number, 1 or more"),
    "long_request_seconds": (_seconds, "seconds, a JSON number above 0"),
}
