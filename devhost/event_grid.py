"""`/runtime/webhooks/eventgrid?functionName=NAME`: Event Grid deliveries, as the extension.

Read side by side with the Event Grid extension's `HttpRequestProcessor` and
`EventGridExtensionConfigProvider` (Microsoft.Azure.WebJobs.Extensions.EventGrid): the
`aeg-event-type` header decides. `SubscriptionValidation` answers 200 with the code (an array's
first event's `data.validationCode`, or a CloudEvent object's `data`, read as JSON text) and
runs nothing; `Notification` runs the function once per event of the body (a JSON array, or
one object), all at once, and answers **202**, or 500 with the first failure's message (Event
Grid then redelivers the batch); `Unsubscribe` is 202; anything else, a missing header
included, is 400 and runs nothing. There is no schema check: each event goes to the worker as
sent, and azure.functions' converter reads its fields with `.get` (a missing field is None; an
unreadable time fails that invocation, so 500). A body that is not JSON, or JSON that is
neither an array nor an object, fails the request (500). Unknown function: 404.
CloudEvents abuse protection: `OPTIONS` -> 200 with `WebHook-Allowed-Origin` (the request's
`WebHook-Request-Origin`, or `eventgrid.azure.net` without one) and `WebHook-Allowed-Rate: *`.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import time
from collections.abc import Callable
from typing import Any

from aiohttp import web

from devhost.index import Function
from devhost.workers import WorkerPool

log = logging.getLogger("devhost")

PATH = "/runtime/webhooks/eventgrid"
EVENT_TYPE_HEADER = "aeg-event-type"
DEFAULT_ORIGIN = "eventgrid.azure.net"


class Unprocessable(ValueError):
    """The body could not be read the way the extension reads it (it throws: HTTP 500)."""


def parse_events(body: bytes) -> list[Any]:
    """The events of one delivery: a JSON array as it is, one JSON object as a batch of one."""
    try:
        parsed = json.loads(body)
    except ValueError as exc:
        raise Unprocessable(f"the body is not JSON: {exc}") from exc
    if isinstance(parsed, list):
        return parsed
    if isinstance(parsed, dict):
        return [parsed]
    raise Unprocessable(
        f"the body should be a JSON object or array, but was {type(parsed).__name__}"
    )


def validation_code(body: bytes) -> str:
    """The code of a subscription validation request, read where the extension reads it."""
    try:
        parsed = json.loads(body)
        if isinstance(parsed, list):
            code = parsed[0]["data"]["validationCode"]
        elif isinstance(parsed, dict):  # a CloudEvent; its data may be JSON text
            data = parsed["data"]
            code = (json.loads(data) if isinstance(data, str) else data)["validationCode"]
        else:
            raise Unprocessable("the body should be a JSON object or array")
    except (ValueError, LookupError, TypeError) as exc:
        raise Unprocessable(f"no validationCode in the validation request: {exc!r}") from exc
    if code is None:
        raise Unprocessable("validationCode is null")
    return code if isinstance(code, str) else json.dumps(code)


class EventGridTriggers:
    """Routes deliveries to the Event Grid functions of the app."""

    def __init__(
        self,
        functions: dict[str, Function],
        pool: WorkerPool,
        client_binding: Callable[[], dict[str, Any]],
        busy: Callable[[int], None],
        keys: dict[str, str] | None = None,
    ) -> None:
        self.keys = keys  # None: keys not enforced (Core Tools default)
        self.functions = functions
        self.pool = pool
        self.client_binding = client_binding
        self._busy = busy

    def add_routes(self, app: web.Application) -> None:
        app.router.add_post(PATH, self.deliver)
        app.router.add_route("OPTIONS", PATH, self.abuse_protection)

    def _authorized(self, request: web.Request) -> bool:
        """Under --enforce-keys the webhook takes the master key or the `eventgrid_extension`
        system key (DEVHOST_EVENTGRID_KEY), header before `?code=`, as the host's system
        webhooks do; function keys are not enough."""
        if self.keys is None:
            return True
        given = request.headers.get("x-functions-key", request.query.get("code", ""))
        allowed = [self.keys.get("master", ""), self.keys.get("eventgrid", "")]
        return any(k and hmac.compare_digest(given, k) for k in allowed)

    async def abuse_protection(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return web.Response(status=401)
        origin = request.headers.get("WebHook-Request-Origin") or DEFAULT_ORIGIN
        headers = {"WebHook-Allowed-Origin": origin, "WebHook-Allowed-Rate": "*"}
        return web.Response(status=200, headers=headers)

    async def deliver(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return web.Response(status=401)
        name = request.query.get("functionName", "")
        fn = self.functions.get(name.lower())
        if fn is None:
            return web.Response(status=404, text=f"cannot find function: '{name}'")
        kind = request.headers.get(EVENT_TYPE_HEADER, "").lower()
        try:
            if kind == "subscriptionvalidation":
                code = validation_code(await request.read())
                log.info("%s (eventgrid) subscription validation handshake", fn.name)
                return web.json_response({"validationResponse": code})
            if kind == "notification":
                return await self._notify(fn, parse_events(await request.read()))
        except Unprocessable as exc:
            log.info("%s (eventgrid) failed: %s", fn.name, exc)
            return web.Response(status=500, text=str(exc))
        if kind == "unsubscribe":
            return web.Response(status=202)
        return web.Response(status=400)

    async def _notify(self, fn: Function, events: list[Any]) -> web.Response:
        """Run the function once per event, all at once; 202, or 500 naming a failure."""
        client = json.dumps(self.client_binding()) if fn.binding("durableClient") else None

        async def invoke(event: Any) -> dict[str, Any]:
            started = time.perf_counter()
            reply = await self.pool.call(
                "trigger", name=fn.name, payload=json.dumps(event), client=client
            )
            ms = (time.perf_counter() - started) * 1000
            event_id = event.get("id") if isinstance(event, dict) else None
            outcome = "ok" if reply["ok"] else f"failed: {reply['error']}"
            log.info("%s (eventgrid %s) %s %.1fms", fn.name, event_id, outcome, ms)
            return reply

        self._busy(1)
        try:
            replies = await asyncio.gather(*(invoke(ev) for ev in events))
        finally:
            self._busy(-1)
        failed = next((r for r in replies if not r["ok"]), None)
        if failed is not None:
            return web.Response(status=500, text=str(failed["error"]))
        return web.Response(status=202)
