"""Support API, write side: decide approvals, retry, cancel, bulk retry. Each action needs
its role, a reason, and leaves an audit entry whether it was carried out or refused.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import azure.durable_functions as df
import azure.functions as func

from crosswalk.clients.durable_gateway import DurableGateway
from crosswalk.models import ApprovalDecisionInput
from crosswalk.onboarding import SALESFORCE_CALLS_PER_ONBOARDING
from crosswalk.services import services
from crosswalk.support import actions, views
from crosswalk.support.auth import Principal, Role
from crosswalk.support.lookup import account_of_instance
from crosswalk.support.schemas import BulkRetryBody, CancelBody, DecisionBody, RetryBody
from triggers import bp
from triggers.approvals import submit_decision
from triggers.responses import BadRequest, HttpError, body_model, translated
from triggers.support_http import audit, authorize_action, sources, view
from triggers.support_instances import cancel, finish_undo, retry

ANON = func.AuthLevel.ANONYMOUS
B = TypeVar("B", RetryBody, CancelBody)


async def _audited(
    principal: Principal, action: str, target: str, reason: str | None, work: Any, **details: Any
) -> Any:
    """Run `work` (an awaitable); audit it as done, or refused with the error's code."""
    try:
        result = await work
    except actions.Refused as exc:
        await audit(
            principal, action, target, reason=reason, outcome=f"refused: {exc.code}", **details
        )
        raise HttpError(409, exc.code, exc.message) from None
    except HttpError as exc:
        await audit(
            principal, action, target, reason=reason, outcome=f"refused: {exc.code}", **details
        )
        raise
    except BadRequest:
        await audit(principal, action, target, reason=reason, outcome="refused: invalid", **details)
        raise
    await audit(principal, action, target, reason=reason, outcome="done", result=result, **details)
    return result


async def _salesforce_spend(retries: int) -> dict[str, Any]:
    """What `retries` onboardings would cost of today's Salesforce API allowance, and how
    many fit while SUPPORT_SALESFORCE_RESERVE_PERCENT of it stays for everything else."""
    svc = services()
    budget = await asyncio.to_thread(svc.salesforce.api_budget)
    reserve = svc.settings.support.salesforce_reserve_percent
    spendable = budget.spendable(reserve)
    return {
        **budget.as_dict(),
        "reservePercent": reserve,
        "spendable": spendable,
        "callsNeeded": retries * SALESFORCE_CALLS_PER_ONBOARDING,
        "retriesAllowed": spendable // SALESFORCE_CALLS_PER_ONBOARDING,
    }


async def _act_on_instance(
    req: func.HttpRequest,
    client: df.DurableOrchestrationClient,
    action: str,
    body_type: type[B],
    work: Callable[[DurableGateway, Principal, str, B], Awaitable[dict[str, Any]]],
) -> func.HttpResponse:
    """What every action on an instance shares: the Operate role before anything is read, a
    body with a reason, and an audit entry whether it was done or refused."""
    instance_id = req.route_params.get("instanceId", "")
    principal = await authorize_action(
        req, {Role.OPERATE}, action, _target(instance_id), instance_id=instance_id
    )
    body = body_model(body_type, req)
    target = body.accountId or _target(instance_id)  # a batch's record: the one named
    async with DurableGateway(client) as gateway:
        result = await _audited(
            principal,
            action,
            target,
            body.reason,
            work(gateway, principal, instance_id, body),
            instance_id=instance_id,
        )
    return view(principal, result, 202)


def _target(instance_id: str) -> str:
    return account_of_instance(instance_id) or instance_id


@bp.route(route="support/approvals/{instanceId}", methods=["POST"], auth_level=ANON)
@bp.durable_client_input(client_name="client")
@translated
async def support_decide(
    req: func.HttpRequest, client: df.DurableOrchestrationClient
) -> func.HttpResponse:
    """Approve or reject a waiting onboarding as the signed-in person (never a body field)."""
    instance_id = req.route_params.get("instanceId", "")
    principal = await authorize_action(
        req, {Role.APPROVE}, "decide", _target(instance_id), instance_id=instance_id
    )
    body = body_model(DecisionBody, req)
    decision = ApprovalDecisionInput(
        decision=body.decision, approver=principal.name, reason=body.reason
    )
    event = await _audited(
        principal,
        str(body.decision),
        _target(instance_id),
        body.reason,
        submit_decision(client, instance_id, decision),
        instance_id=instance_id,
    )
    return view(principal, {"instanceId": instance_id, "accepted": event}, 202)


@bp.route(route="support/instances/{instanceId}/retry", methods=["POST"], auth_level=ANON)
@bp.durable_client_input(client_name="client")
@translated
async def support_retry(
    req: func.HttpRequest, client: df.DurableOrchestrationClient
) -> func.HttpResponse:
    """Rewind a Failed instance, or restart a finished one as `<id>-r<N>`."""
    return await _act_on_instance(
        req,
        client,
        "retry",
        RetryBody,
        lambda gateway, who, iid, body: retry(
            client, gateway, who, iid, body.mode, body.reason, body.accountId
        ),
    )


@bp.route(route="support/instances/{instanceId}/cancel", methods=["POST"], auth_level=ANON)
@bp.durable_client_input(client_name="client")
@translated
async def support_cancel_instance(
    req: func.HttpRequest, client: df.DurableOrchestrationClient
) -> func.HttpResponse:
    """Terminate a running onboarding, then undo what it had done (`support_cancel`)."""
    return await _act_on_instance(
        req,
        client,
        "cancel",
        CancelBody,
        lambda gateway, who, iid, body: cancel(client, gateway, who, iid, body),
    )


@bp.route(route="support/instances/{instanceId}/undo", methods=["POST"], auth_level=ANON)
@bp.durable_client_input(client_name="client")
@translated
async def support_finish_undo(
    req: func.HttpRequest, client: df.DurableOrchestrationClient
) -> func.HttpResponse:
    """Finish the undo an onboarding left half done (it ended `needs_attention`): the
    compensations that never succeeded run again (`support_cancel`, finishing)."""
    return await _act_on_instance(
        req,
        client,
        "finish_undo",
        CancelBody,
        lambda gateway, who, iid, body: finish_undo(client, gateway, who, iid, body),
    )


@bp.route(route="support/retries", methods=["POST"], auth_level=ANON)
@bp.durable_client_input(client_name="client")
@translated
async def support_bulk_retry(
    req: func.HttpRequest, client: df.DurableOrchestrationClient
) -> func.HttpResponse:
    """Retry every failed record of one failure reason; `dryRun` (the default) only counts."""
    principal = await authorize_action(req, {Role.OPERATE}, "bulk_retry", "bulk")
    body = body_model(BulkRetryBody, req)
    cap = services().settings.support.bulk_retry_max
    limit = min(body.limit or cap, cap)

    async def audit_bulk(action: str, outcome: str, **details: Any) -> None:
        target = f"bulk:{body.failureReason}"
        await audit(principal, action, target, reason=body.reason, outcome=outcome, **details)

    async with DurableGateway(client) as gateway:
        candidates = await views.failed_records(
            sources(gateway), reason=body.failureReason, limit=limit
        )
        spend = await _salesforce_spend(len(candidates))
        if body.dryRun:
            await audit_bulk("bulk_retry_dry_run", "done", count=len(candidates))
            return view(
                principal,
                {
                    "dryRun": True,
                    "failureReason": body.failureReason,
                    "count": len(candidates),
                    "items": candidates,
                    "salesforce": spend,
                },
            )
        if len(candidates) > spend["retriesAllowed"]:
            await audit_bulk(
                "bulk_retry", "refused: salesforce_budget", count=len(candidates), salesforce=spend
            )
            raise HttpError(
                409,
                "salesforce_budget",
                f"{len(candidates)} retries need up to {spend['callsNeeded']} Salesforce API "
                f"calls; {spend['spendable']} may be spent today keeping "
                f"{spend['reservePercent']:g}% of the org's allowance in reserve. "
                f"Retry at most {spend['retriesAllowed']} (limit), or later.",
            )
        started, refused = [], []
        for record in candidates:
            instance_id = record["instanceId"]
            try:
                result = await _audited(
                    principal,
                    "retry",
                    record["accountId"],
                    body.reason,
                    retry(
                        client,
                        gateway,
                        principal,
                        instance_id,
                        "auto",
                        body.reason,
                        record["accountId"],
                    ),
                    instance_id=instance_id,
                    bulk=body.failureReason,
                )
                started.append(result)
            except HttpError as exc:
                refused.append(
                    {"instanceId": instance_id, "code": exc.code, "message": exc.message}
                )
    await audit_bulk("bulk_retry", "done", started=len(started), refused=len(refused))
    return view(
        principal,
        {
            "dryRun": False,
            "failureReason": body.failureReason,
            "count": len(candidates),
            "started": started,
            "refused": refused,
        },
        202,
    )
