"""The one way Crosswalk builds a `requests.Session` for an outside system.

Each session knows which system it talks to, so every call it makes is measured the same
way: duration and failures by system and status (crosswalk.external.*), the client span
marked with the system, and Salesforce's `Sforce-Limit-Info` read into the allowance gauge.
"""

from __future__ import annotations

import functools
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests

from crosswalk.telemetry import active, calling, client_spans, metric

_API_USAGE = re.compile(r"api-usage=(\d+)/(\d+)")


class _Session(requests.Session):
    """A session whose `verify` setting wins over REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE.

    requests lets those environment variables override `Session.verify` (psf/requests#3829),
    which would silently drop a configured CA bundle; passing it per request keeps it.
    """

    system: str | None = None
    limit_listener: Callable[[int, int], None] | None = None
    """Told `(used, max)` from every answer's `Sforce-Limit-Info` (the allowance governor)."""

    def __init__(self) -> None:
        super().__init__()
        self._environment: dict[tuple[Any, ...], dict[str, Any]] = {}

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        kwargs.setdefault("verify", self.verify)
        if self.system is None or not active():
            response = super().request(method, url, *args, **kwargs)
            self._limit_info(response)
            return response
        started = time.perf_counter()
        with calling(self.system):
            try:
                response = super().request(method, url, *args, **kwargs)
            except requests.RequestException as exc:
                elapsed = (time.perf_counter() - started) * 1000
                metric.external_call(self.system, type(exc).__name__, elapsed, failed=True)
                raise
        elapsed = (time.perf_counter() - started) * 1000
        status = response.status_code
        metric.external_call(self.system, status, elapsed, failed=status >= 400)
        usage = self._limit_info(response)
        if usage:
            used, limit = usage
            metric.salesforce_allowance(max(limit - used, 0), limit)
        return response

    def merge_environment_settings(
        self, url: str | bytes | None, proxies: Any, stream: Any, verify: Any, cert: Any
    ) -> dict[str, Any]:
        """requests' own answer, worked out once per origin and remembered.

        requests reads the proxy variables on every call, walking the whole environment
        twice (some 180 µs with an app's hundred settings, about 5% of a worker's CPU per
        onboarding). A worker's environment is fixed at its start (Azure restarts it when app
        settings change), and `NO_PROXY` decides by host, so one answer per origin is the same
        answer.
        """
        if proxies or not self.trust_env or url is None:
            return super().merge_environment_settings(url, proxies, stream, verify, cert)
        text = url.decode() if isinstance(url, bytes) else url
        scheme, _, rest = text.partition("://")
        key = (scheme, rest.split("/", 1)[0], stream, verify, cert)
        settings = self._environment.get(key)
        if settings is None:
            settings = super().merge_environment_settings(url, {}, stream, verify, cert)
            self._environment[key] = settings
        return {**settings, "proxies": dict(settings["proxies"])}

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        """Each send (each redirect hop too) in its client span (telemetry/client_spans.py)."""
        if self.system is None or not client_spans.lean():
            return super().send(request, **kwargs)
        send = functools.partial(super().send, request, **kwargs)
        return client_spans.traced_send(request, self.system, send)

    def _limit_info(self, response: requests.Response) -> tuple[int, int] | None:
        usage = _API_USAGE.search(response.headers.get("Sforce-Limit-Info", ""))
        if usage is None:
            return None
        used, limit = int(usage[1]), int(usage[2])
        if self.limit_listener is not None:
            self.limit_listener(used, limit)
        return used, limit


def make_session(
    *,
    system: str | None = None,
    ca_bundle: Path | None = None,
    headers: dict[str, str] | None = None,
) -> requests.Session:
    session = _Session()
    session.system = system
    if ca_bundle is not None:
        session.verify = str(ca_bundle)
    if headers:
        session.headers.update(headers)
    return session


def json_or_empty(response: requests.Response) -> dict[str, Any]:
    """The JSON object a response carries, or `{}` when its body is not one."""
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
