"""`/runtime/webhooks/durabletask/...`: the Durable HTTP API, also the SDK client's RPC base.

The real host serves both from one handler, so the client binding's `rpcBaseUrl` points
here too. Status codes follow HttpApiHandler (durable-protocol.md §5.2 and §6); every body
is JSON or empty because the SDK reads each response with `response.json()`.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from aiohttp import web

from devhost import client_history, paging
from devhost.engine import Engine
from devhost.entities import EntityNotFound, client_input, scheduler_id
from devhost.history import iso_short, parse_iso
from devhost.instances import BadRequest, Conflict, Gone, NotFound
from devhost.options import HostOptions
from devhost.rewind import NotRewindable
from devhost.rows import TERMINAL, Instance

PREFIX = "/runtime/webhooks/durabletask"


def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        status=status,
        body=json.dumps(data).encode(),
        content_type="application/json",
        headers=headers,
    )


def _error(status: int, message: str, exc: Exception | None = None) -> web.Response:
    body: dict[str, Any] = {"Message": message}
    if exc is not None:
        body |= {
            "ExceptionMessage": str(exc),
            "ExceptionType": type(exc).__name__,
            "StackTrace": None,
        }
    return _json(body, status)


def _flag(request: web.Request, name: str, default: bool = False) -> bool:
    value = request.query.get(name)
    return default if value is None else value.lower() == "true"


def _loads(text: str | None) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


class DurableApi:
    """Route table and handlers; `management_urls` feeds the client binding JSON."""

    def __init__(
        self,
        engine: Engine,
        hub: str,
        base_url: str,
        code: str | None = None,
        options: HostOptions | None = None,
    ) -> None:
        self.options = options or HostOptions()
        self.engine = engine
        self.hub = hub
        self.base_url = base_url
        self.code = code

    # -- payloads ---------------------------------------------------------------------
    def _query(self, extra: str = "") -> str:
        qs = f"{extra}taskHub={self.hub}&connection=AzureWebJobsStorage"
        return qs + (f"&code={self.code}" if self.code else "")

    def management_urls(self, iid: str, base: str | None = None) -> dict[str, str]:
        b = f"{base or self.base_url}{PREFIX}/instances/{quote(iid, safe='')}"
        q = self._query
        return {
            "id": iid,
            "statusQueryGetUri": f"{b}?{q()}",
            "sendEventPostUri": f"{b}/raiseEvent/{{eventName}}?{q()}",
            "terminatePostUri": f"{b}/terminate?{q('reason={text}&')}",
            "rewindPostUri": f"{b}/rewind?{q('reason={text}&')}",
            "purgeHistoryDeleteUri": f"{b}?{q()}",
            "restartPostUri": f"{b}/restart?{q()}",
            "suspendPostUri": f"{b}/suspend?{q('reason={text}&')}",
            "resumePostUri": f"{b}/resume?{q('reason={text}&')}",
        }

    def client_binding(self) -> dict[str, Any]:
        """The JSON the SDK's DurableOrchestrationClient is constructed from."""
        base = f"{self.base_url}{PREFIX}"
        code = f"&code={self.code}" if self.code else ""
        urls = self.management_urls("INSTANCEID")
        urls["id"] = "INSTANCEID"
        return {
            "taskHubName": self.hub,
            "creationUrls": {
                "createNewInstancePostUri": f"{base}/orchestrators/{{functionName}}"
                f"[/{{instanceId}}]?{code.lstrip('&')}",
                "createAndWaitOnNewInstancePostUri": f"{base}/orchestrators/{{functionName}}"
                f"[/{{instanceId}}]?timeout={{timeoutInSeconds}}"
                f"&pollingInterval={{intervalInSeconds}}{code}",
            },
            "managementUrls": urls,
            "baseUrl": base,
            "requiredQueryStringParameters": code.lstrip("&"),
            "rpcBaseUrl": f"{base}/",
        }

    def status_payload(
        self,
        inst: Instance,
        *,
        show_input: bool = True,
        show_history: bool = False,
        show_history_output: bool = False,
    ) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "name": inst.name,
            "instanceId": inst.id,
            "runtimeStatus": inst.status,
            "input": _loads(inst.input_status) if show_input else None,
            "customStatus": _loads(inst.custom_status),
            "output": _loads(inst.output),
            "createdTime": iso_short(inst.created),
            "lastUpdatedTime": iso_short(inst.updated),
        }
        note = self.engine.store.waiting_note(inst.id)
        if note:  # devhost only: why it waits where Azure would wait (replay.py)
            payload["devhostWaiting"] = note
        if show_history and inst.status != "Pending":  # Pending: no history, as on Azure
            payload["historyEvents"] = client_history.convert(
                self.engine.store.history(inst.id),
                show_input=show_input,
                show_output=show_history_output,
            )
        return payload

    def check_status(self, request: web.Request, iid: str) -> web.Response:
        origin = f"{request.scheme}://{request.host}"
        urls = self.management_urls(iid, origin)
        urls.pop("rewindPostUri")  # the host's own payload omits it
        headers = {"Location": urls["statusQueryGetUri"], "Retry-After": "10"}
        return _json(urls, 202, headers)

    # -- routing ----------------------------------------------------------------------
    def add_routes(self, app: web.Application) -> None:
        p = PREFIX
        app.router.add_post(p + "/orchestrators/{name}", self.start)
        app.router.add_post(p + "/orchestrators/{name}/{iid}", self.start)
        app.router.add_get(p + "/instances", self.list_instances)
        app.router.add_get(p + "/instances/", self.list_instances)
        app.router.add_delete(p + "/instances", self.purge_many)
        app.router.add_delete(p + "/instances/", self.purge_many)
        app.router.add_get(p + "/instances/{iid}", self.get_instance)
        app.router.add_delete(p + "/instances/{iid}", self.purge_one)
        app.router.add_post(p + "/instances/{iid}/raiseEvent/{event}", self.raise_event)
        app.router.add_post(p + "/instances/{iid}/terminate", self.control("terminate"))
        app.router.add_post(p + "/instances/{iid}/suspend", self.control("suspend"))
        app.router.add_post(p + "/instances/{iid}/resume", self.control("resume"))
        app.router.add_post(p + "/instances/{iid}/rewind", self.control("rewind"))
        app.router.add_post(p + "/instances/{iid}/restart", self.restart)
        app.router.add_get(p + "/entities", self.list_entities)
        app.router.add_get(p + "/entities/", self.list_entities)
        app.router.add_get(p + "/entities/{name}", self.list_entities)
        app.router.add_get(p + "/entities/{name}/{key}", self.read_entity)
        app.router.add_post(p + "/entities/{name}/{key}", self.signal_entity)
        app.router.add_delete(p + "/entities/{name}/{key}", self.delete_entity)

    # -- handlers ---------------------------------------------------------------------
    async def start(self, request: web.Request) -> web.Response:
        text = (await request.read()).decode() if request.content_length != 0 else ""
        input_text = input_status = None
        if text.strip():
            try:
                value = json.loads(text)
            except ValueError as exc:
                return _error(400, "Invalid JSON in request body.", exc)
            input_status = text
            input_text = value if isinstance(value, str) else json.dumps(value)
        try:
            iid = self.engine.instances.start_new(
                request.match_info["name"], request.match_info.get("iid"), input_text, input_status
            )
        except BadRequest as exc:
            return _error(400, str(exc), exc)
        except Conflict as exc:
            return _error(500, "Something went wrong while processing your request", exc)
        timeout = request.query.get("timeout")
        if timeout:
            return await self._wait_or_check(request, iid, float(timeout))
        return self.check_status(request, iid)

    async def _wait_or_check(self, request: web.Request, iid: str, timeout: float) -> web.Response:
        inst = await self.engine.wait_status(
            iid, {"Completed", "Failed", "Terminated", "Canceled"}, timeout
        )
        if inst is not None and inst.status == "Completed":
            return _json(_loads(inst.output), 200)
        if inst is not None and inst.status in ("Failed", "Terminated", "Canceled"):
            return _json(self.status_payload(inst), 200)
        return self.check_status(request, iid)

    async def get_instance(self, request: web.Request) -> web.Response:
        inst = self.engine.store.instance(request.match_info["iid"])
        if inst is None:
            return web.Response(status=404)
        payload = self.status_payload(
            inst,
            show_input=_flag(request, "showInput", True),
            show_history=_flag(request, "showHistory"),
            show_history_output=_flag(request, "showHistoryOutput"),
        )
        if inst.status == "Failed" and _flag(request, "returnInternalServerErrorOnFailure"):
            return _json(payload, 500)
        if inst.status in ("Completed", "Failed", "Terminated", "Canceled"):
            return _json(payload, 200)
        headers = {
            "Location": self.management_urls(inst.id, f"{request.scheme}://{request.host}")[
                "statusQueryGetUri"
            ],
            "Retry-After": "5",
        }
        return _json(payload, 202, headers)

    def _filters(self, request: web.Request) -> dict[str, Any]:
        q = request.query
        statuses = [s for s in q.get("runtimeStatus", "").split(",") if s]
        return {
            "created_from": parse_iso(q["createdTimeFrom"]) if q.get("createdTimeFrom") else None,
            "created_to": parse_iso(q["createdTimeTo"]) if q.get("createdTimeTo") else None,
            "statuses": statuses or None,
            "prefix": q.get("instanceIdPrefix") or None,
        }

    async def list_instances(self, request: web.Request) -> web.Response:
        try:
            filters = self._filters(request)
        except ValueError as exc:
            return _error(400, "Invalid query.", exc)
        store = self.engine.store
        try:
            found = paging.page(
                lambda start, limit: store.query_instances(**filters, start=start, limit=limit),
                lambda inst: inst.id,
                top=paging.top_of(request.query.get("top")),
                token=request.headers.get("x-ms-continuation-token"),
                short=self.options.short_pages,
            )
        except paging.BadToken as exc:
            return _error(500, "Something went wrong while processing your request", exc)
        show_input = _flag(request, "showInput", True)  # OrchestrationStatusQueryCondition
        body = [self.status_payload(i, show_input=show_input) for i in found.rows]
        return _json(body, 200, {"x-ms-continuation-token": found.token})

    async def purge_one(self, request: web.Request) -> web.Response:
        iid = request.match_info["iid"]
        if self.engine.store.instance(iid) is None:
            return web.Response(status=404)
        return _json({"instancesDeleted": self.engine.instances.purge([iid])})

    async def purge_many(self, request: web.Request) -> web.Response:
        """Purge by filter as the extension and the Azure Storage backend do it: only
        `createdTimeFrom` (required), `createdTimeTo` (default now) and `runtimeStatus` are
        read (HttpApiHandler.HandleDeleteHistoryWithFiltersRequestAsync; an
        `instanceIdPrefix` is ignored); of the statuses only Completed, Terminated, Canceled
        and Failed are kept (AzureTableTrackingStore.PurgeInstanceHistoryAsync), and a list
        that keeps none filters on no status at all (OrchestrationInstanceStatusQueryCondition
        adds a status condition only for a non-empty list): every instance in the range."""
        if not request.query.get("createdTimeFrom"):
            return _error(400, "Please provide value for 'createdTimeFrom' parameter.")
        filters = self._filters(request)
        filters["prefix"] = None
        filters["created_to"] = filters["created_to"] or self.engine.clock.now()
        if filters["statuses"] is not None:
            kept = [s for s in filters["statuses"] if s in TERMINAL]
            filters["statuses"] = kept or None
        rows = self.engine.store.query_instances(**filters)
        if not rows:
            return web.Response(status=404)
        return _json({"instancesDeleted": self.engine.instances.purge([i.id for i in rows])})

    async def raise_event(self, request: web.Request) -> web.Response:
        if request.content_type != "application/json":
            return _error(400, "Only application/json request content is supported")
        text = (await request.read()).decode()
        if text.strip():
            try:
                json.loads(text)
            except ValueError as exc:
                return _error(400, "Invalid JSON in request body.", exc)
        try:
            self.engine.instances.raise_event(
                request.match_info["iid"], request.match_info["event"], text or None
            )
        except NotFound:
            return web.Response(status=404)
        except Gone:
            return web.Response(status=410)
        return web.Response(status=202)

    def control(self, op: str) -> Any:
        async def handler(request: web.Request) -> web.Response:
            reason = request.query.get("reason")
            try:
                getattr(self.engine.instances, op)(request.match_info["iid"], reason)
            except NotFound:
                return web.Response(status=404)
            except Gone:
                return web.Response(status=410)
            except NotRewindable as exc:
                body = {
                    "Message": "Something went wrong while processing your request",
                    "ExceptionMessage": str(exc),
                    "ExceptionType": exc.exception_type,
                    "StackTrace": None,
                }
                return _json(body, 500)
            return web.Response(status=202)

        return handler

    async def restart(self, request: web.Request) -> web.Response:
        inst = self.engine.store.instance(request.match_info["iid"])
        if inst is None:
            return _error(400, f"instance '{request.match_info['iid']}' not found")
        new_id = _flag(request, "restartWithNewInstanceId", True)
        try:
            iid = self.engine.instances.start_new(
                inst.name, None if new_id else inst.id, inst.input, inst.input_status
            )
        except (BadRequest, Conflict) as exc:
            return _error(400, str(exc), exc)
        return self.check_status(request, iid)

    # -- entities -----------------------------------------------------------------------
    @staticmethod
    def _key(request: web.Request) -> str:
        key = request.match_info["key"]
        return "" if key == "$" else key

    async def read_entity(self, request: web.Request) -> web.Response:
        row = self.engine.store.entity(scheduler_id(request.match_info["name"], self._key(request)))
        if row is None:
            return web.Response(status=404)
        body = (row.state if row.state is not None else "null").encode()
        return web.Response(status=200, body=body, content_type="application/json")

    async def signal_entity(self, request: web.Request) -> web.Response:
        op = request.query.get("op")
        if not op:
            return _error(400, "The 'op' query parameter is required.")
        try:
            input_text = client_input(await request.read(), request.content_type)
        except ValueError as exc:
            return _error(400, "Invalid JSON in request body.", exc)
        return self._signal(request, op, input_text)

    async def delete_entity(self, request: web.Request) -> web.Response:
        return self._signal(request, "delete", None)

    def _signal(self, request: web.Request, op: str, input_text: str | None) -> web.Response:
        try:
            self.engine.entities.signal(
                request.match_info["name"], self._key(request), op, input_text
            )
        except EntityNotFound as exc:
            return _error(400, str(exc), exc)
        return web.Response(status=202)

    async def list_entities(self, request: web.Request) -> web.Response:
        name = request.match_info.get("name")
        store = self.engine.store
        try:
            found = paging.page(
                lambda start, limit: store.query_entities(name, start=start, limit=limit),
                lambda row: row.id,
                top=paging.top_of(request.query.get("top")),
                token=request.headers.get("x-ms-continuation-token"),
                short=self.options.short_pages,
            )
        except paging.BadToken as exc:
            return _error(500, "Something went wrong while processing your request", exc)
        fetch_state = _flag(request, "fetchState")
        body = []
        for row in found.rows:
            item: dict[str, Any] = {
                "entityId": {"name": row.name, "key": row.key},
                "lastOperationTime": iso_short(row.last_op),
            }
            if fetch_state:
                item["state"] = _loads(row.state)
            body.append(item)
        return _json(body, 200, {"x-ms-continuation-token": found.token})
