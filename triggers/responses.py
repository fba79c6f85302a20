"""The one boundary where exceptions become HTTP responses, walked by the exception's MRO.

Every error body has the same shape: `{"error": {"code", "message", "fields": [{field,
message}]}}`. Nothing from settings or credentials ever reaches a body.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, TypeVar

import azure.functions as func
from pydantic import BaseModel, ValidationError

from crosswalk.errors import (
    AuthenticationFailed,
    ConfigurationError,
    Conflict,
    IntegrationError,
    InvalidData,
    NotFound,
    TransientError,
)
from crosswalk.support import lookup

log = logging.getLogger("crosswalk.http")
M = TypeVar("M", bound=BaseModel)


class BadRequest(Exception):
    """Input at a trigger is unusable; `fields` names each problem."""

    def __init__(
        self, fields: list[dict[str, str]], message: str = "the request is invalid"
    ) -> None:
        self.fields = fields
        super().__init__(message)


class HttpError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        self.status, self.code, self.message = status, code, message
        super().__init__(message)


def json_response(
    body: Any, status: int = 200, headers: dict[str, str] | None = None
) -> func.HttpResponse:
    return func.HttpResponse(
        json.dumps(body, default=str),
        status_code=status,
        mimetype="application/json",
        headers=headers,
    )


def error_response(
    status: int, code: str, message: str, fields: list[dict[str, str]] | None = None
) -> func.HttpResponse:
    return json_response(
        {"error": {"code": code, "message": message, "fields": fields or []}}, status
    )


def problem_response(
    status: int,
    code: str,
    detail: str,
    fields: list[dict[str, str]] | None = None,
    headers: dict[str, str] | None = None,
) -> func.HttpResponse:
    """RFC 9457 problem details (the profile API's error shape); `code` is machine-readable."""
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "code": code,
    }
    if fields:
        body["errors"] = fields
    return func.HttpResponse(
        json.dumps(body),
        status_code=status,
        mimetype="application/problem+json",
        headers={"Cache-Control": "no-store", **(headers or {})},
    )


def fields_of(exc: ValidationError, prefix: str = "") -> list[dict[str, str]]:
    return [
        {
            "field": prefix + ".".join(str(p) for p in err["loc"])
            if err["loc"]
            else prefix.rstrip(".") or "body",
            "message": err["msg"],
        }
        for err in exc.errors()
    ]


@dataclass(frozen=True, slots=True)
class ErrorInfo:
    """What an error means at the HTTP edge, before it is written in one API's shape."""

    status: int
    code: str
    message: str
    fields: list[dict[str, str]] | None = None


def _bad_request(exc: BadRequest) -> ErrorInfo:
    return ErrorInfo(400, "invalid_request", str(exc), exc.fields)


def _validation(exc: ValidationError) -> ErrorInfo:
    return ErrorInfo(400, "invalid_request", "the request body is invalid", fields_of(exc))


def _http_error(exc: HttpError) -> ErrorInfo:
    return ErrorInfo(exc.status, exc.code, exc.message)


def _upstream(exc: IntegrationError) -> ErrorInfo:
    status = {NotFound: 404, Conflict: 409, InvalidData: 422}.get(type(exc), 502)
    if isinstance(exc, TransientError):
        status = 503
    if isinstance(exc, AuthenticationFailed):
        status = 502
    return ErrorInfo(status, f"{exc.system}_{exc.kind}", exc.detail)


def _bad_key(exc: lookup.BadKey) -> ErrorInfo:
    fields = [{"field": "key", "message": str(exc)}]
    return ErrorInfo(400, "invalid_request", "the request is invalid", fields)


def _configuration(exc: ConfigurationError) -> ErrorInfo:
    log.error("configuration error: %s", exc)
    return ErrorInfo(500, "configuration", str(exc))


HANDLERS: dict[type[BaseException], Callable[[Any], ErrorInfo]] = {
    BadRequest: _bad_request,
    ValidationError: _validation,
    HttpError: _http_error,
    IntegrationError: _upstream,
    ConfigurationError: _configuration,
    # a lookup by key (support's records, the profile API): what the key named
    lookup.BadKey: _bad_key,
    lookup.NoRecord: lambda exc: ErrorInfo(404, "not_found", str(exc)),
    lookup.Ambiguous: lambda exc: ErrorInfo(409, "ambiguous", str(exc)),
}
UNEXPECTED = ErrorInfo(500, "internal", "unexpected error; see the host log")

Renderer = Callable[[ErrorInfo], func.HttpResponse]


def _as_error_json(info: ErrorInfo) -> func.HttpResponse:
    return error_response(info.status, info.code, info.message, info.fields)


def translated_with(
    render: Renderer,
) -> Callable[
    [Callable[..., Awaitable[func.HttpResponse]]], Callable[..., Awaitable[func.HttpResponse]]
]:
    """Wrap an async HTTP function so known errors become responses written by `render`."""

    def decorate(
        handler: Callable[..., Awaitable[func.HttpResponse]],
    ) -> Callable[..., Awaitable[func.HttpResponse]]:
        @functools.wraps(handler)
        async def wrapper(*args: Any, **kwargs: Any) -> func.HttpResponse:
            try:
                return await handler(*args, **kwargs)
            except Exception as exc:
                for cls in type(exc).__mro__:
                    if cls in HANDLERS:
                        return render(HANDLERS[cls](exc))
                log.exception("unhandled error in %s", handler.__name__)
                return render(UNEXPECTED)

        return wrapper

    return decorate


translated = translated_with(_as_error_json)
"""The support and workflow APIs' shape: `{"error": {"code", "message", "fields"}}`."""


def read_json(req: func.HttpRequest, *, required: bool = True) -> Any:
    body = req.get_body()
    if not body:
        if required:
            raise BadRequest([{"field": "body", "message": "a JSON body is required"}])
        return None
    try:
        return json.loads(body)
    except (ValueError, RecursionError):  # RecursionError: nested deeper than Python parses
        raise BadRequest([{"field": "body", "message": "not valid JSON"}]) from None


def body_model(model: type[M], req: func.HttpRequest, *, required: bool = True) -> M:
    """The request body as `model`, validated strictly from the JSON text itself: booleans
    are JSON booleans, numbers JSON numbers, instants ISO 8601 strings with an offset; no
    coercion from strings or numbers. Anything else is a 400 naming the field.

    An empty body is a 400 when `required`, else the model's defaults.
    """
    raw = req.get_body() or b""
    if not raw.strip():
        if required:
            raise BadRequest([{"field": "body", "message": "a JSON body is required"}])
        raw = b"{}"
    try:
        # pydantic's own JSON parser: a depth limit instead of recursion, errors per field
        return model.model_validate_json(raw, strict=True)
    except ValidationError as exc:
        raise BadRequest(fields_of(exc)) from None


def query_model(model: type[M], req: func.HttpRequest) -> M:
    """The query string as `model` (parameters it does not name are ignored); 400 naming the
    parameter. A repeated key arrives joined with `,` (as Azure does), so it fails a number."""
    known = {n for name, f in model.model_fields.items() for n in (name, f.alias) if n}
    try:
        return model.model_validate({k: v for k, v in req.params.items() if k in known})
    except ValidationError as exc:
        raise BadRequest(fields_of(exc)) from None
