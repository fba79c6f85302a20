"""Cosmos DB and azure-core failures sorted into Crosswalk's error taxonomy."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from azure.core.exceptions import (
    AzureError,
    ClientAuthenticationError,
    ServiceRequestError,
    ServiceResponseError,
)
from azure.cosmos.exceptions import CosmosClientTimeoutError, CosmosHttpResponseError

from crosswalk.errors import (
    AuthenticationFailed,
    IntegrationError,
    RateLimited,
    TransientError,
    error_for_status,
)
from crosswalk.profiles.base import SYSTEM

P = ParamSpec("P")
R = TypeVar("R")


def cosmos_error(exc: Exception, action: str) -> IntegrationError:
    """Sort a Cosmos / azure-core failure into the taxonomy, without secrets in the text."""
    if isinstance(exc, IntegrationError):
        return exc
    if isinstance(exc, CosmosHttpResponseError):
        status = int(exc.status_code or 0)
        sub = getattr(exc, "sub_status", None)
        detail = f"{action}: cosmos {status}" + (f"/{sub}" if sub else "")
        headers = getattr(exc, "headers", None) or {}
        if status == 429:
            wait_ms = headers.get("x-ms-retry-after-ms")
            retry_after = float(wait_ms) / 1000 if wait_ms else None
            return RateLimited(
                detail, system=SYSTEM, status=429, code="TooManyRequests", retry_after=retry_after
            )
        if status == 449:  # "retry with": a concurrent write conflict inside Cosmos
            return TransientError(detail, system=SYSTEM, status=449, code="RetryWith")
        if status == 0:
            return TransientError(detail, system=SYSTEM)
        return error_for_status(SYSTEM, status, detail, code=str(sub) if sub else None)
    name = type(exc).__name__
    if isinstance(exc, CosmosClientTimeoutError):
        return TransientError(f"{action}: {name}", system=SYSTEM, code="TIMEOUT")
    if isinstance(exc, ClientAuthenticationError):
        return AuthenticationFailed(f"{action}: {name}", system=SYSTEM, code="CREDENTIAL")
    if isinstance(exc, ServiceRequestError | ServiceResponseError):
        return TransientError(f"{action}: {name}", system=SYSTEM, code="NETWORK")
    return TransientError(f"{action}: {name}", system=SYSTEM)


def mapped(action: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    def decorate(method: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(method)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            try:
                return method(*args, **kwargs)
            except AzureError as exc:
                raise cosmos_error(exc, action) from exc

        return wrapper

    return decorate
