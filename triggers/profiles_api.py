"""The profile API for the storefront's backend: `GET /api/profiles/{key}` and the change
feed `GET /api/profiles`. Services call it with Entra ID bearer tokens (through API
Management in Azure); the token is checked here as well, so the API is never open behind a
misconfigured gateway. Errors are problem+json; a caller without a valid token learns nothing
about its input.
"""

from __future__ import annotations

import asyncio
import json

import azure.functions as func

from crosswalk.errors import InvalidData
from crosswalk.profile_api import openapi
from crosswalk.profile_api.auth import Caller, TokenRejected
from crosswalk.profile_api.schemas import ChangesQuery
from crosswalk.profile_api.view import matches_if_none_match, profile_view, view_text
from crosswalk.services import services
from crosswalk.support import lookup
from triggers import bp
from triggers.responses import (
    BadRequest,
    ErrorInfo,
    HttpError,
    problem_response,
    query_model,
    translated_with,
)

ANON = func.AuthLevel.ANONYMOUS  # the bearer token guards these routes (and APIM before them)
JSON = "application/json"


def _problem(info: ErrorInfo) -> func.HttpResponse:
    return problem_response(info.status, info.code, info.message, info.fields)


problems = translated_with(_problem)


async def _caller(req: func.HttpRequest) -> Caller:
    settings = services().settings.profile_api
    if not settings.enabled:
        raise HttpError(
            503,
            "not_configured",
            "the profile API is off: set PROFILE_API_TENANT_ID and PROFILE_API_AUDIENCE",
        )
    tokens, authorization = services().profile_tokens, req.headers.get("authorization")
    caller = tokens.remembered(authorization)  # a token seen lately: no signature check again
    if caller is not None:
        return caller
    return await asyncio.to_thread(tokens.verify, authorization)


def _rejected(exc: TokenRejected) -> func.HttpResponse:
    challenge = f'Bearer error="{exc.error}", error_description="{exc.detail}"'
    headers = {"WWW-Authenticate": challenge} if exc.status in (401, 403) else {}
    return problem_response(exc.status, exc.error, exc.detail, headers=headers)


@bp.route(route="profiles/{key}", methods=["GET"], auth_level=ANON)
@problems
async def profile_by_key(req: func.HttpRequest) -> func.HttpResponse:
    """One profile by D2C customer id, Salesforce Account Id or email; ETag / 304."""
    try:
        await _caller(req)
    except TokenRejected as exc:
        return _rejected(exc)
    key = req.route_params.get("key", "")
    # one thread hop for the reads; a bad, unknown or ambiguous key: triggers.responses
    text, etag = await asyncio.to_thread(_read_view, key)
    headers = {"ETag": etag, "Cache-Control": "private, no-cache"}
    if matches_if_none_match(req.headers.get("if-none-match"), etag):
        return func.HttpResponse(status_code=304, headers=headers)
    return func.HttpResponse(text, mimetype=JSON, headers=headers)


def _read_view(key: str) -> tuple[bytes, str]:
    """The profile a key names, as the caller sees it (canonical JSON) and its ETag; at most
    two point reads (lookup entry, profile) whatever the key."""
    store = services().profiles
    resolved = lookup.resolve(
        key,
        by_d2c_customer=store.find_by_d2c_customer,
        by_email=store.find_by_email,
        d2c_external_ref=lambda _: None,  # only what the data platform holds
    )
    profile = resolved.profile or store.get(resolved.account_id)
    if profile is None:
        raise lookup.NoRecord("no profile for that key")
    return view_text(profile_view(profile).model_dump(mode="json"))


@bp.route(route="profiles", methods=["GET"], auth_level=ANON)
@problems
async def profile_changes(req: func.HttpRequest) -> func.HttpResponse:
    """Profiles changed since `updatedSince`, in write order; follow `cursor` for the rest."""
    try:
        await _caller(req)
    except TokenRejected as exc:
        return _rejected(exc)
    query = query_model(ChangesQuery, req)
    try:
        page = await asyncio.to_thread(
            services().profiles.changes,
            since=query.updated_since,
            cursor=query.cursor,
            limit=query.limit,
        )
    except InvalidData as exc:  # a cursor this feed did not issue
        raise BadRequest([{"field": exc.field or "cursor", "message": exc.detail}]) from None
    body = {
        "profiles": [profile_view(p).model_dump(mode="json") for p in page.profiles],
        "cursor": page.cursor,
        "has_more": page.more,
    }
    return func.HttpResponse(json.dumps(body), mimetype=JSON, headers={"Cache-Control": "no-store"})


@bp.route(route="profile-api/openapi.json", methods=["GET"], auth_level=ANON)
async def profile_api_openapi(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse(json.dumps(openapi.document()), mimetype=JSON)
