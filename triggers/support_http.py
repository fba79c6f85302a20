"""What every support endpoint shares: the role check first (so nothing leaks to a caller
without one), masking by role, query validation that names the field, and the audit entry.
"""

from __future__ import annotations

import asyncio
from typing import Any

import azure.functions as func

from crosswalk.clients.durable_gateway import DurableGateway
from crosswalk.services import services
from crosswalk.support.audit import AuditEntry, AuditStore
from crosswalk.support.auth import AuthError, Principal, authenticate, require
from crosswalk.support.masking import mask
from crosswalk.support.views import Sources
from triggers.responses import HttpError, json_response

NO_STORE = {"Cache-Control": "no-store"}


def authorize(req: func.HttpRequest, roles: frozenset[str] | set[str]) -> Principal:
    """The caller with one of `roles`, else 401/403 as an HttpError (JSON, nothing more)."""
    try:
        return require(authenticate(dict(req.headers), services().settings.support), roles)
    except AuthError as exc:
        raise HttpError(exc.status, exc.code, exc.message) from None


async def authorize_action(
    req: func.HttpRequest,
    roles: frozenset[str] | set[str],
    action: str,
    target: str,
    **details: Any,
) -> Principal:
    """`authorize` for an action: a signed-in caller without the role is refused (403) and
    the refusal is audited like any other, before the body is read. A caller nobody could
    identify (401) is not: there is no one to name, and no one may fill the log."""
    try:
        principal = authenticate(dict(req.headers), services().settings.support)
    except AuthError as exc:
        raise HttpError(exc.status, exc.code, exc.message) from None
    try:
        return require(principal, roles)
    except AuthError as exc:
        await audit(
            principal, action, target, reason=None, outcome=f"refused: {exc.code}", **details
        )
        raise HttpError(exc.status, exc.code, exc.message) from None


def sees_pii(principal: Principal) -> bool:
    return services().settings.support.pii_role in principal.roles


def view(principal: Principal, body: dict[str, Any], status: int = 200) -> func.HttpResponse:
    """A support view as JSON, personal data masked unless the caller's role allows it."""
    unmasked = sees_pii(principal)
    payload = body if unmasked else mask(body)
    return json_response({**payload, "masked": not unmasked}, status, NO_STORE)


def audit_store() -> AuditStore:
    return services().audit


async def audit(
    principal: Principal,
    action: str,
    target: str,
    *,
    reason: str | None,
    outcome: str,
    **details: Any,
) -> AuditEntry:
    # The WORM log is never erased, so it never takes a customer's e-mail or phone: what
    # staff typed (the reason, a key they searched by) and what an action returned are masked.
    entry = AuditEntry(
        actor=principal.name,
        roles=sorted(principal.roles),
        action=action,
        target=mask(target),
        reason=mask(reason),
        outcome=outcome,
        details=mask({k: v for k, v in details.items() if v is not None}),
    )
    return await asyncio.to_thread(audit_store().append, entry)


def sources(gateway: DurableGateway) -> Sources:
    svc = services()
    return Sources(
        durable=gateway,
        profiles=svc.profiles,
        lake=svc.lake,
        audit=audit_store(),
        trace_url=svc.settings.support.trace_url,
        dead_letters=svc.eventgrid_deadletters,
    )
