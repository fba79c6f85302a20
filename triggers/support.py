"""Support API, read side: `/api/support/...` records, lists, approvals inbox, reports, audit.

Every handler checks the caller's role before it reads its input, so a caller without one
learns nothing (not even whether their input was valid).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta

import azure.durable_functions as df
import azure.functions as func

from crosswalk.clients.durable_gateway import DurableGateway, RejectedCursor
from crosswalk.services import services
from crosswalk.support import lookup, views
from crosswalk.support.auth import ANY_ROLE
from crosswalk.support.schemas import AuditQuery, RecordsQuery, ReportsQuery
from triggers import bp
from triggers.responses import BadRequest, HttpError, query_model, translated
from triggers.support_digest import health_now
from triggers.support_http import audit_store, authorize, sources, view

ANON = func.AuthLevel.ANONYMOUS  # App Service authentication and the roles guard these routes


@bp.route(route="support/me", methods=["GET"], auth_level=ANON)
@translated
async def support_me(req: func.HttpRequest) -> func.HttpResponse:
    """Who the console is talking as, and whether they see personal data."""
    principal = authorize(req, ANY_ROLE)
    return view(principal, {"principal": principal.as_dict()})


@bp.route(route="support/records/{key}", methods=["GET"], auth_level=ANON)
@bp.durable_client_input(client_name="client")
@translated
async def support_record(
    req: func.HttpRequest, client: df.DurableOrchestrationClient
) -> func.HttpResponse:
    """One record by Salesforce Account Id, D2C customer id or email: state, profile,
    instances (newest first), merged timeline and compensation ledger."""
    principal = authorize(req, ANY_ROLE)
    key = req.route_params.get("key", "")
    svc = services()
    resolved = await asyncio.to_thread(  # an unknown, bad or ambiguous key: triggers.responses
        lookup.resolve,
        key,
        by_d2c_customer=svc.profiles.find_by_d2c_customer,
        by_email=svc.profiles.find_by_email,
        d2c_external_ref=_d2c_external_ref,
    )
    async with DurableGateway(client) as gateway:
        record = await views.record_view(sources(gateway), resolved.account_id)
    if record is None:
        raise HttpError(404, "not_found", f"Crosswalk has no record of {resolved.account_id}")
    return view(principal, {**record, "key": {"value": key, "kind": resolved.kind}})


def _d2c_external_ref(customer_id: str) -> str | None:
    from crosswalk.errors import IntegrationError

    try:
        return services().d2c.get_customer(customer_id).external_ref
    except IntegrationError:
        return None


@bp.route(route="support/records", methods=["GET"], auth_level=ANON)
@bp.durable_client_input(client_name="client")
@translated
async def support_records(
    req: func.HttpRequest, client: df.DurableOrchestrationClient
) -> func.HttpResponse:
    """Records in one state (`stale`: onboarding or awaiting approval, unchanged for long)."""
    principal = authorize(req, ANY_ROLE)
    query = query_model(RecordsQuery, req)
    now = datetime.now(UTC)
    try:
        cutoff = views.parse_older_than(query.older_than, now)
    except ValueError as exc:
        raise BadRequest([{"field": "olderThan", "message": str(exc)}]) from None
    stale_hours = services().settings.reconcile.stuck_after_hours
    async with DurableGateway(client) as gateway:
        try:
            page = await views.list_records(
                sources(gateway),
                wanted=query.state,
                cutoff=cutoff,
                stale_before=now - timedelta(hours=stale_hours),
                limit=query.limit,
                cursor=query.cursor,
            )
        except RejectedCursor as exc:
            raise BadRequest([{"field": "cursor", "message": str(exc)}]) from None
    return view(principal, {"state": query.state, **page})


@bp.route(route="support/failures", methods=["GET"], auth_level=ANON)
@bp.durable_client_input(client_name="client")
@translated
async def support_failures(
    req: func.HttpRequest, client: df.DurableOrchestrationClient
) -> func.HttpResponse:
    """Failed records grouped by failure reason: what a bulk retry can target."""
    principal = authorize(req, ANY_ROLE)
    async with DurableGateway(client) as gateway:
        failed = await views.failed_records(sources(gateway), reason=None, limit=10_000)
    counts = Counter(r["failureReason"] or "unknown" for r in failed)
    reasons = [{"failureReason": k, "count": n} for k, n in counts.most_common()]
    return view(principal, {"reasons": reasons, "total": len(failed)})


@bp.route(route="support/approvals", methods=["GET"], auth_level=ANON)
@bp.durable_client_input(client_name="client")
@translated
async def support_approvals(
    req: func.HttpRequest, client: df.DurableOrchestrationClient
) -> func.HttpResponse:
    """Pending approvals, oldest first: reasons, waiting time, SLA, automatic rejection time."""
    principal = authorize(req, ANY_ROLE)
    settings = services().settings
    async with DurableGateway(client) as gateway:
        items = await views.pending_approvals(
            sources(gateway),
            sla_hours=settings.support.approval_sla_hours,
            timeout_hours=settings.approval.timeout_hours,
            escalations=settings.approval.escalations,
        )
    return view(principal, {"items": items})


@bp.route(route="support/health", methods=["GET"], auth_level=ANON)
@bp.durable_client_input(client_name="client")
@translated
async def support_health(
    req: func.HttpRequest, client: df.DurableOrchestrationClient
) -> func.HttpResponse:
    """What waits for a person: records per state, overdue approvals, the last reconciliation,
    and `attention`, worst first, each with a console page."""
    principal = authorize(req, ANY_ROLE)
    return view(principal, await health_now(client))


@bp.route(route="support/reconciliations", methods=["GET"], auth_level=ANON)
@translated
async def support_reconciliations(req: func.HttpRequest) -> func.HttpResponse:
    """The latest reconciliation reports, newest first."""
    principal = authorize(req, ANY_ROLE)
    query = query_model(ReportsQuery, req)
    reports = await asyncio.to_thread(services().profiles.list_reports, query.limit)
    return view(principal, {"items": [r.model_dump(mode="json") for r in reports]})


@bp.route(route="support/audit", methods=["GET"], auth_level=ANON)
@translated
async def support_audit(req: func.HttpRequest) -> func.HttpResponse:
    """Every support action: who, when, what, on which record, why, and how it went."""
    principal = authorize(req, ANY_ROLE)
    q = query_model(AuditQuery, req)
    entries = await asyncio.to_thread(
        audit_store().list,
        limit=q.limit,
        before=q.before,
        target=q.target,
        actor=q.actor,
        action=q.action,
    )
    items = [e.model_dump(mode="json") for e in entries]
    next_before = items[-1]["id"] if len(items) == q.limit else None
    return view(principal, {"items": items, "nextBefore": next_before})
