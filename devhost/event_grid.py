"""`/runtime/webhooks/eventgrid?functionName=NAME`: Event Grid deliveries, as Core Tools.

Bodies in the Event Grid schema (a JSON array, or one object) and in CloudEvents 1.0
(structured `application/cloudevents+json`, batches `application/cloudevents-batch+json`
or a JSON array). Every event in a delivery is checked before any is invoked, so a malformed
body gets 400 and runs nothing. The function runs once per event, in order; the answer is
200 only after all of them ran, 500 if one raised (Event Grid then redelivers the batch).
Handshakes: `Microsoft.EventGrid.SubscriptionValidationEvent` -> `{"validationResponse":
code}` without invoking the function; CloudEvents abuse protection (`OPTIONS` with
`WebHook-Request-Origin`) -> `WebHook-Allowed-Origin`.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import Any

from aiohttp import web

from devhost.history import parse_iso
from devhost.index import Function
from devhost.workers import WorkerPool

log = logging.getLogger("devhost")

PATH = "/runtime/webhooks/eventgrid"
VALIDATION_EVENT = "Microsoft.EventGrid.SubscriptionValidationEvent"
_CLOUD_REQUIRED = ("id", "source", "type")
_GRID_REQUIRED = ("id", "subject", "eventType", "eventTime")


class Malformed(ValueError):
    """The delivery is not a valid Event Grid / CloudEvents body (HTTP 400)."""


def parse_events(body: bytes, content_type: str) -> list[dict[str, Any]]:
    """The events of one delivery, each checked against its schema."""
    try:
        parsed = json.loads(body) if body.strip() else None
    except ValueError as exc:
        raise Malformed(f"body is not JSON: {exc}") from exc
    if content_type == "application/cloudevents-batch+json" and not isinstance(parsed, list):
        raise Malformed("a CloudEvents batch must be a JSON array")
    events = parsed if isinstance(parsed, list) else [parsed]
    if not events:
        raise Malformed("no events in the body")
    for i, ev in enumerate(events):
        if not isinstance(ev, dict):
            raise Malformed(f"event {i} is not a JSON object")
        cloud = "specversion" in ev or content_type.startswith("application/cloudevents")
        required = _CLOUD_REQUIRED if cloud else _GRID_REQUIRED
        missing = [k for k in required if not isinstance(ev.get(k), str) or not ev[k]]
        if not cloud and ev.get("subject") == "":
            missing.remove("subject")  # Event Grid sends "" (its validation event does)
        if cloud and ev.get("specversion") != "1.0":
            missing.append("specversion (must be '1.0')")
        if missing:
            schema = "CloudEvents 1.0" if cloud else "Event Grid"
            raise Malformed(f"event {i} ({schema} schema) lacks {', '.join(missing)}")
        stamp = ev.get("time") if cloud else ev.get("eventTime")
        if stamp is not None:
            try:
                parse_iso(str(stamp))
            except ValueError as exc:
                raise Malformed(f"event {i} has an invalid time {stamp!r}") from exc
    return events


class EventGridTriggers:
    """Routes deliveries to the Event Grid functions of the app."""

    def __init__(
        self,
        functions: dict[str, Function],
        pool: WorkerPool,
        client_binding: Callable[[], dict[str, Any]],
        busy: Callable[[int], None],
    ) -> None:
        self.functions = functions
        self.pool = pool
        self.client_binding = client_binding
        self._busy = busy

    def add_routes(self, app: web.Application) -> None:
        app.router.add_post(PATH, self.deliver)
        app.router.add_route("OPTIONS", PATH, self.abuse_protection)

    async def abuse_protection(self, request: web.Request) -> web.Response:
        origin = request.headers.get("WebHook-Request-Origin")
        if not origin:
            return web.Response(status=400, text="WebHook-Request-Origin header is required")
        headers = {"WebHook-Allowed-Origin": origin, "WebHook-Allowed-Rate": "*"}
        return web.Response(status=200, headers=headers)

    async def deliver(self, request: web.Request) -> web.Response:
        name = request.query.get("functionName", "")
        fn = self.functions.get(name.lower())
        if fn is None:
            return web.json_response(
                {"error": f"no Event Grid function named '{name}'"}, status=404
            )
        kind = request.headers.get("aeg-event-type", "Notification")
        if kind == "Unsubscribe":
            return web.Response(status=202)
        try:
            events = parse_events(await request.read(), request.content_type)
        except Malformed as exc:
            return web.json_response({"error": str(exc)}, status=400)
        validation = next((e for e in events if e.get("eventType") == VALIDATION_EVENT), None)
        if validation is not None or kind == "SubscriptionValidation":
            code = ((validation or events[0]).get("data") or {}).get("validationCode")
            if not code:
                return web.json_response({"error": "validationCode missing"}, status=400)
            return web.json_response({"validationResponse": code})
        failed = 0
        client = json.dumps(self.client_binding()) if fn.binding("durableClient") else None
        self._busy(1)
        try:
            for ev in events:
                started = time.perf_counter()
                reply = await self.pool.call(
                    "trigger", name=fn.name, payload=json.dumps(ev), client=client
                )
                ms = (time.perf_counter() - started) * 1000
                if reply["ok"]:
                    log.info("%s (eventgrid %s) ok %.1fms", fn.name, ev.get("id"), ms)
                else:
                    failed += 1
                    log.info(
                        "%s (eventgrid %s) failed %.1fms: %s",
                        fn.name,
                        ev.get("id"),
                        ms,
                        reply["error"],
                    )
        finally:
            self._busy(-1)
        if failed:
            return web.json_response(
                {"error": f"{failed} of {len(events)} event(s) failed"}, status=500
            )
        return web.Response(status=200)
