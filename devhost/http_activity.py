"""`call_http`: the host's built-in activity `BuiltIn::HttpActivity`, run inside devhost.

The SDK emits a CallHttp action; the host makes the request itself, not a worker. As on
Azure, a `202 Accepted` with a `Location` header is polled (GET, after `Retry-After` seconds,
default 1) until another status comes back, all inside the one task: polling never consumes
orchestration ids the SDK does not know about (durable-protocol.md §2.3).

The result is `{"statusCode", "headers", "content"}`; a header sent more than once becomes a
list. A network failure fails the task, as on Azure. Managed identity tokens (`tokenSource`)
cannot be had locally: such a request fails the task with a message saying so.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any
from urllib.parse import urljoin

import aiohttp

NAME = "BuiltIn::HttpActivity"
MAX_POLLS = 1000
DEFAULT_POLL_SECONDS = 1.0


class HttpActivityError(Exception):
    """The request could not be made; the message becomes the task's failure reason."""


class HttpActivity:
    def __init__(self) -> None:
        self._session: aiohttp.ClientSession | None = None

    async def run(self, request_text: str | None) -> str:
        """The request as the action carried it -> the response as JSON text."""
        request = _request(request_text)
        session = self._session_now()
        method, uri = str(request["method"]).upper(), str(request["uri"])
        headers = {str(k): str(v) for k, v in (request.get("headers") or {}).items()}
        content = request.get("content")
        try:
            response = await _send(session, method, uri, headers, content)
            current = uri
            for _ in range(MAX_POLLS):
                if response["statusCode"] != 202 or not response["location"]:
                    break
                current = urljoin(current, response["location"])
                await asyncio.sleep(response["retry_after"])
                response = await _send(session, "GET", current, headers, None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise HttpActivityError(f"{method} {uri} failed: {type(exc).__name__}: {exc}") from None
        return json.dumps(
            {k: response[k] for k in ("statusCode", "headers", "content")}, ensure_ascii=False
        )

    def _session_now(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=100))
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()


def _request(text: str | None) -> dict[str, Any]:
    try:
        request = json.loads(text or "")
    except ValueError:
        raise HttpActivityError("call_http: the request is not JSON") from None
    if not isinstance(request, dict) or not request.get("method") or not request.get("uri"):
        raise HttpActivityError("call_http: the request needs a method and a uri")
    if request.get("tokenSource"):
        raise HttpActivityError(
            "call_http with a token_source (managed identity) is not available on devhost: "
            "there is no managed identity locally; pass an Authorization header instead"
        )
    return request


async def _send(
    session: aiohttp.ClientSession,
    method: str,
    uri: str,
    headers: dict[str, str],
    content: str | None,
) -> dict[str, Any]:
    data = content.encode() if isinstance(content, str) else None
    async with session.request(method, uri, headers=headers, data=data) as response:
        body = await response.text(errors="replace")
        collected: dict[str, Any] = {}
        for name in response.headers:
            if name in collected:
                continue
            values = response.headers.getall(name)
            collected[name] = values[0] if len(values) == 1 else list(values)
        return {
            "statusCode": response.status,
            "headers": collected,
            "content": body,
            "location": response.headers.get("Location"),
            "retry_after": _seconds(response.headers.get("Retry-After")),
        }


def _seconds(value: str | None) -> float:
    try:
        return max(0.0, float(value)) if value else DEFAULT_POLL_SECONDS
    except ValueError:
        return DEFAULT_POLL_SECONDS
