"""Application Insights' ingestion endpoint with local auth off, for the real Azure Monitor
exporter to send to (docs/sandbox.md, "Application Insights ingestion").

`POST /v2.1/track` takes a JSON array of telemetry envelopes (gzip-encoded or not) and answers
`{itemsReceived, itemsAccepted, errors}`, as the exporter's generated client expects. With
local auth off (Learn: "Microsoft Entra authentication for Application Insights") a request
needs a bearer token for `https://monitor.azure.com/` signed by the tenant: without one, 401;
from an identity without Monitoring Metrics Publisher on the component, 403. HTTPS only, as
the SDK sends bearer tokens over TLS only.
"""

from __future__ import annotations

import gzip
import json
import re
import threading
from typing import Any

from aiohttp import web

from .entra.directory import Directory
from .server import ServerThread

AUDIENCE = "https://monitor.azure.com/"


class IngestionStandIn:
    def __init__(self, directory: Directory, server_ssl: Any, host: str = "127.0.0.1") -> None:
        self.directory = directory
        self.publishers: set[str] = set()  # object ids holding Monitoring Metrics Publisher
        self.envelopes: list[dict[str, Any]] = []
        self.refused: list[int] = []
        self._lock = threading.Lock()
        self._server = ServerThread(
            self._handle, name="ingestion", host=host, ssl_context=server_ssl
        )
        self.url = ""

    def start(self) -> IngestionStandIn:
        self.url = f"https://{self._server.host}:{self._server.start()}"
        return self

    def close(self) -> None:
        self._server.stop()

    def __enter__(self) -> IngestionStandIn:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def _handle(self, request: web.Request) -> web.Response:
        # The connection string's IngestionEndpoint ends in "/", so the exporter asks for
        # "//v2.1/track"; the service takes it, and so does this.
        if request.method != "POST" or re.sub("/+", "/", request.path) != "/v2.1/track":
            return web.json_response({"error": "not found"}, status=404)
        raw = await request.read()
        if request.headers.get("Content-Encoding", "").lower() == "gzip":
            raw = gzip.decompress(raw)
        items = json.loads(raw)
        items = items if isinstance(items, list) else [items]
        caller = self.directory.bearer_caller(request.headers.get("Authorization", ""), AUDIENCE)
        status = 401 if caller is None else 403 if caller not in self.publishers else 200
        if status != 200:
            with self._lock:
                self.refused.append(status)
            message = "authentication required" if status == 401 else "not authorized"
            errors = [
                {"index": i, "statusCode": status, "message": message} for i in range(len(items))
            ]
            return web.json_response(
                {"itemsReceived": len(items), "itemsAccepted": 0, "errors": errors}, status=status
            )
        with self._lock:
            self.envelopes.extend(items)
        return web.json_response(
            {"itemsReceived": len(items), "itemsAccepted": len(items), "errors": []}
        )
