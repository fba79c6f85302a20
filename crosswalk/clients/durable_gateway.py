"""The task hub as the support views read it: the Durable HTTP API through the client's RPC
endpoint (the same one the SDK client uses), with the paging headers the SDK drops.

Python SDK 1.x has no entity listing (azure-functions-durable-python #297), so listing the
record_sync entities uses the extension's `entities/{name}` query directly.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode

import aiohttp
import azure.durable_functions as df

from crosswalk.errors import TransientError

ENTITY = "record_sync"
MAX_PAGES = 1000  # pages of one instance listing before it counts as an outage


def _next_token(headers: dict[str, str]) -> str | None:
    token = headers.get("x-ms-continuation-token")
    return token if token and token != "null" else None


class RejectedCursor(ValueError):
    """A paging cursor the task hub refused: the caller's input, not an outage."""


class DurableGateway:
    """Implements `crosswalk.support.views.Durable`; use as `async with DurableGateway(c)`."""

    def __init__(self, client: df.DurableOrchestrationClient) -> None:
        # The SDK keeps the binding's RPC base URL private; it is the documented local endpoint.
        self.base = client._orchestration_bindings.rpc_base_url or ""
        self.client = client
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> DurableGateway:
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60))
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._session is not None:
            await self._session.close()

    async def _get(
        self, path: str, query: dict[str, str] | None = None, headers: dict[str, str] | None = None
    ) -> tuple[int, Any, dict[str, str]]:
        assert self._session is not None, "use DurableGateway as an async context manager"
        url = self.base + path + (f"?{urlencode(query)}" if query else "")
        try:
            async with self._session.get(url, headers=headers or {}) as response:
                body = await response.json(content_type=None) if response.status != 404 else None
                return response.status, body, dict(response.headers)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise TransientError(
                f"task hub unreachable: {type(exc).__name__}", system="durable"
            ) from None

    async def entity(self, account_id: str) -> dict[str, Any] | None:
        if not account_id:
            return None
        status, body, _ = await self._get(f"entities/{ENTITY}/{quote(account_id, safe='')}")
        if status == 404:
            return None
        self._check(status, "read entity")
        return body if isinstance(body, dict) else None

    async def entities(
        self, top: int, cursor: str | None
    ) -> tuple[list[dict[str, Any]], str | None]:
        headers = {"x-ms-continuation-token": cursor} if cursor else {}
        status, body, response_headers = await self._get(
            f"entities/{ENTITY}", {"fetchState": "true", "top": str(top)}, headers
        )
        if status >= 400 and cursor and await self._cursor_was_the_problem(status):
            raise RejectedCursor("the task hub could not read this cursor")
        self._check(status, "list entities")
        return list(body or []), _next_token(response_headers)

    async def _cursor_was_the_problem(self, status: int) -> bool:
        """A token Azure cannot read is a 500 (HttpApiHandler's catch-all), like an outage;
        if the same listing without the token works, the token was the problem."""
        if status < 500:
            return True
        probe, _, _ = await self._get(f"entities/{ENTITY}", {"top": "1"})
        return probe < 400

    async def instances(
        self, prefix: str, statuses: list[str] | None = None, top: int = 100
    ) -> list[dict[str, Any]]:
        """Every instance with the prefix (and status): pages of `top`, tokens followed to the
        end, because Azure Table storage may answer a short or empty page with a token."""
        query = {"instanceIdPrefix": prefix, "top": str(top)}
        if statuses:
            query["runtimeStatus"] = ",".join(statuses)
        found: list[dict[str, Any]] = []
        token: str | None = None
        for _ in range(MAX_PAGES):
            headers = {"x-ms-continuation-token": token} if token else {}
            status, body, response_headers = await self._get("instances/", query, headers)
            self._check(status, "list instances")
            found.extend(body or [])
            token = _next_token(response_headers)
            if token is None:
                return found
        raise TransientError(
            f"listing instances {prefix}* took more than {MAX_PAGES} pages", system="durable"
        )

    async def instance(self, instance_id: str, history: bool = False) -> dict[str, Any] | None:
        query = {"showInput": "true"}
        if history:
            query |= {"showHistory": "true", "showHistoryOutput": "true"}
        status, body, _ = await self._get(f"instances/{quote(instance_id, safe='')}", query)
        if status == 404 or not isinstance(body, dict) or not body.get("instanceId"):
            return None
        return body

    @staticmethod
    def _check(status: int, what: str) -> None:
        if status >= 500:
            raise TransientError(f"task hub could not {what} ({status})", system="durable")
        if status >= 400:
            raise TransientError(f"task hub refused to {what} ({status})", system="durable")
