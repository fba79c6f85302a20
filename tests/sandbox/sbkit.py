"""Helpers for the sandbox tests: clients trusting the sandbox CA, a test webhook, polling."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any

import requests
from aiohttp import web
from simple_salesforce import Salesforce

import sandbox
from sandbox.server import ServerThread


def sf_session(sb: sandbox.Sandbox) -> requests.Session:
    """A session that trusts the sandbox CA.

    ``trust_env = False`` because requests prefers REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE from the
    environment over ``Session.verify`` when set.
    """
    s = requests.Session()
    s.verify = sb.ca_bundle
    s.trust_env = False
    return s


def oauth_token(sb: sandbox.Sandbox, session: requests.Session | None = None) -> str:
    s = session or sf_session(sb)
    r = s.post(
        f"{sb.salesforce_url}/services/oauth2/token",
        data={"grant_type": "client_credentials"},
        auth=(sb.salesforce_client_id, sb.salesforce_client_secret),
    )
    assert r.status_code == 200, r.text
    return r.json()["access_token"]


def sf_client(sb: sandbox.Sandbox, client_name: str | None = None) -> Salesforce:
    """simple-salesforce, unmodified: session id from the OAuth endpoint + instance URL."""
    session = sf_session(sb)
    if client_name:
        session.headers["Sforce-Call-Options"] = f"client={client_name}"
    return Salesforce(
        instance_url=sb.salesforce_url,
        session_id=oauth_token(sb, session),
        session=session,
        version=sb.api_version,
    )


def wait_until(predicate: Callable[[], Any], timeout: float = 10.0) -> Any:
    """Poll ``predicate`` until truthy (no fixed sleeps in tests)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.005)


class Webhook:
    """A test webhook that records CloudEvents; ``fail_next`` answers 500 that many times."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.requests: list[dict[str, Any]] = []
        self.fail_next = 0
        self.fail_status = 500
        self._lock = threading.Lock()
        self._server = ServerThread(self._handle, name="webhook")
        self.url = ""

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        with self._lock:
            self.requests.append(
                {"headers": dict(request.headers), "query": dict(request.rel_url.query)}
            )
            if self.fail_next > 0:
                self.fail_next -= 1
                return web.Response(status=self.fail_status)
            self.events.append(json.loads(body))
        return web.Response(status=200)

    def start(self) -> Webhook:
        port = self._server.start()
        self.url = f"http://127.0.0.1:{port}/runtime/webhooks/eventgrid?functionName=test"
        return self

    def stop(self) -> None:
        self._server.stop()

    def received(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self.events)
