"""Blob Storage and Cosmos DB calls in `crosswalk.external.*`, as `crosswalk/clients/http.py`
measures Salesforce and D2C: every HTTP exchange the Azure SDK makes (retries included),
by system and status, through the SDKs' public `raw_request_hook` / `raw_response_hook`
options (azure-core's CustomHookPolicy, Storage's own request and response hooks)."""

from __future__ import annotations

import time
from typing import Any

from crosswalk.telemetry import metric

_STARTED = "crosswalk.started"


def hooks(system: str) -> dict[str, Any]:
    """Client keyword arguments that time each request of an Azure SDK client."""

    def on_request(request: Any) -> None:
        request.context[_STARTED] = time.perf_counter()

    def on_response(response: Any) -> None:
        started = response.context.get(_STARTED)
        if started is None:
            return
        status = response.http_response.status_code
        elapsed = (time.perf_counter() - started) * 1000
        metric.external_call(system, status, elapsed, failed=status >= 400 and status != 404)

    return {"raw_request_hook": on_request, "raw_response_hook": on_response}
