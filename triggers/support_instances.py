"""Support's actions on one instance, carried out (triggers/support_actions.py routes and
audits them): Retry, Cancel and Finish the undo of an onboarding saga, and of a record a
batched onboarding (`onboard_batch`) held, whose account the body names (`accountId`; the
rules are crosswalk/support/batch_held.py's: a batch's Cancel is refused there)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import azure.durable_functions as df

from crosswalk.clients.durable import start_once
from crosswalk.clients.durable_gateway import DurableGateway
from crosswalk.onboarding import OnboardingInput, onboarding_input, onboarding_instance_id
from crosswalk.services import services
from crosswalk.support import actions, batch_held
from crosswalk.support.auth import Principal
from crosswalk.support.history import compensation_plan, decoded
from crosswalk.support.lookup import account_of_instance
from crosswalk.support.schemas import CancelBody
from triggers.responses import BadRequest, HttpError


def account_named(status: dict[str, Any], account_id: str | None) -> str:
    """The body's `accountId`; a batch is many accounts, so an action on it must name one."""
    if account_id is None:
        raise BadRequest(
            [
                {
                    "field": "accountId",
                    "message": f"required: {status.get('instanceId')} is a batch onboarding of "
                    "many accounts; name the record's Account Id",
                }
            ]
        )
    return account_id


async def retry_batch_account(
    client: df.DurableOrchestrationClient,
    gateway: DurableGateway,
    principal: Principal,
    status: dict[str, Any],
    account_id: str,
    mode: str,
    reason: str,
) -> dict[str, Any]:
    """Rewind a Failed batch (whole), or restart this account alone as its own saga."""
    instance_id = str(status.get("instanceId"))
    chosen = batch_held.batch_retry_mode(status, account_id, mode)
    if chosen == "rewind":
        try:
            await client.rewind(instance_id, quote(f"retried by {principal.name}: {reason}"[:300]))
        except Exception as exc:  # the SDK raises a bare Exception for every refusal
            raise actions.rewind_refusal(exc) from None
        return {"mode": "rewind", "instanceId": instance_id, "accountId": account_id}
    actions.check_record_free(await gateway.entity(account_id))
    modstamp, _ = batch_held.batch_account(status, account_id)
    base = onboarding_instance_id(account_id, modstamp)
    siblings = await gateway.instances(base)
    new_id = actions.next_retry_id(base, [s["instanceId"] for s in siblings])
    taken = await start_once(
        client,
        "account_onboarding",
        new_id,
        onboarding_input(services().settings, account_id, modstamp, "support"),
    )
    if taken is not None:  # another retry took the id between the listing and now
        raise actions.Refused("retry_in_progress", f"{new_id} already exists ({taken})")
    return {"mode": "restart", "instanceId": new_id, "retryOf": instance_id}


async def finish_batch_undo(
    client: df.DurableOrchestrationClient,
    gateway: DurableGateway,
    principal: Principal,
    status: dict[str, Any],
    account_id: str,
    reason: str,
) -> dict[str, Any]:
    """Run again what the batch could not undo for this account (`support_cancel`)."""
    instance_id = str(status.get("instanceId"))
    plan = batch_held.batch_undo_plan(status, account_id)
    record = await gateway.entity(account_id) or {}
    if record.get("status") != "needs_attention" or record.get("last_instance_id") != instance_id:
        raise actions.Refused(
            "record_moved_on",
            f"the record is {record.get('status')} after {record.get('last_instance_id')}",
        )
    base = batch_held.batch_undo_base(instance_id, account_id)
    earlier = await gateway.instances(base)
    undo_id = actions.next_undo_id_from(base, [s["instanceId"] for s in earlier])
    started = await _start_finishing_undo(
        client, undo_id, instance_id, account_id, plan, principal.name, reason
    )
    return {**started, "accountId": account_id}


def _own_account(instance_id: str, named: str | None) -> None:
    """An `accountId` sent for a saga's instance must be the one it onboards."""
    own = account_of_instance(instance_id)
    if named is not None and own is not None and named != own:
        message = f"{instance_id} onboards {own}, not {named}"
        raise BadRequest([{"field": "accountId", "message": message}])


async def retry(
    client: df.DurableOrchestrationClient,
    gateway: DurableGateway,
    principal: Principal,
    instance_id: str,
    mode: str,
    reason: str,
    named: str | None = None,
) -> dict[str, Any]:
    status = await gateway.instance(instance_id)
    if status is None:
        raise HttpError(404, "not_found", f"no instance {instance_id}")
    if batch_held.is_batch(status):
        account = account_named(status, named)
        return await retry_batch_account(client, gateway, principal, status, account, mode, reason)
    _own_account(instance_id, named)
    chosen = actions.retry_mode(status, mode)
    rewind_failed = None
    if chosen == "rewind":
        try:
            await client.rewind(instance_id, quote(f"retried by {principal.name}: {reason}"[:300]))
            return {"mode": "rewind", "instanceId": instance_id}
        except Exception as exc:  # the SDK raises a bare Exception for every refusal
            # Azure answers 500 for a rewind its storage provider lacks (rewind is a preview
            # feature) or when the instance is no longer Failed; a restart still helps
            rewind_failed = actions.rewind_refusal(exc)
            if mode == "rewind":
                raise rewind_failed from None
    account_id = account_of_instance(instance_id)
    if account_id is None:
        raise actions.Refused("not_an_onboarding", "only onboardings can be retried")
    actions.check_record_free(await gateway.entity(account_id))
    original = OnboardingInput.model_validate(decoded(status.get("input")))
    siblings = await gateway.instances(actions.base_instance_id(instance_id))
    new_id = actions.next_retry_id(instance_id, [s["instanceId"] for s in siblings])
    settings = services().settings
    taken = await start_once(
        client,
        "account_onboarding",
        new_id,
        onboarding_input(settings, account_id, original.modstamp, "support"),
    )
    if taken is not None:  # another retry took the id between the listing and now
        raise actions.Refused("retry_in_progress", f"{new_id} already exists ({taken})")
    result = {"mode": "restart", "instanceId": new_id, "retryOf": instance_id}
    if rewind_failed is not None:
        result["rewindRefused"] = rewind_failed.message
    return result


async def finish_undo(
    client: df.DurableOrchestrationClient,
    gateway: DurableGateway,
    principal: Principal,
    instance_id: str,
    body: CancelBody,
) -> dict[str, Any]:
    reason = body.reason
    status = await gateway.instance(instance_id, history=True)
    if status is None:
        raise HttpError(404, "not_found", f"no instance {instance_id}")
    if batch_held.is_batch(status):
        account = account_named(status, body.accountId)
        return await finish_batch_undo(client, gateway, principal, status, account, reason)
    _own_account(instance_id, body.accountId)
    actions.undo_finishable(status)
    account_id = account_of_instance(instance_id)
    if account_id is None:
        raise actions.Refused("not_an_onboarding", "only onboardings have an undo to finish")
    record = await gateway.entity(account_id) or {}
    if record.get("status") != "needs_attention" or record.get("last_instance_id") != instance_id:
        raise actions.Refused(
            "record_moved_on",
            f"the record is {record.get('status')} after {record.get('last_instance_id')}",
        )
    note = f"undo finished by {principal.name}: {reason}"[:500]
    plan, _ = compensation_plan(status.get("historyEvents") or [], account_id, note)
    if not plan:
        raise actions.Refused("nothing_to_undo", "every undo step has succeeded already")
    earlier = await gateway.instances(f"support-undo-{instance_id}")
    undo_id = actions.next_undo_id(instance_id, [s["instanceId"] for s in earlier])
    return await _start_finishing_undo(
        client, undo_id, instance_id, account_id, plan, principal.name, reason
    )


async def _start_finishing_undo(
    client: df.DurableOrchestrationClient,
    undo_id: str,
    instance_id: str,
    account_id: str,
    plan: list[dict[str, Any]],
    actor: str,
    reason: str,
) -> dict[str, Any]:
    """Start `support_cancel` to run the undo steps left in `plan`, once under `undo_id`."""
    taken = await start_once(
        client,
        "support_cancel",
        undo_id,
        {
            "instance_id": instance_id,
            "account_id": account_id,
            "plan": plan,
            "in_flight": [],
            "actor": actor,
            "reason": reason,
            "retry": services().settings.retry.model_dump(mode="json"),
            "finishing": True,
        },
    )
    if taken is not None:  # another finish took the id between the listing and now
        raise actions.Refused("undo_in_progress", f"{undo_id} already exists ({taken})")
    return {
        "instanceId": instance_id,
        "undoInstanceId": undo_id,
        "compensations": [step["activity"] for step in plan],
    }


async def cancel(
    client: df.DurableOrchestrationClient,
    gateway: DurableGateway,
    principal: Principal,
    instance_id: str,
    body: CancelBody,
) -> dict[str, Any]:
    reason = body.reason
    status = await gateway.instance(instance_id)
    if status is None:
        raise HttpError(404, "not_found", f"no instance {instance_id}")
    if batch_held.is_batch(status):
        raise batch_held.cancel_refusal(status)
    _own_account(instance_id, body.accountId)
    actions.cancellable(status)
    account_id = account_of_instance(instance_id)
    if account_id is None:
        raise actions.Refused("not_an_onboarding", "only onboardings can be cancelled")
    cancel_id = actions.cancel_instance_id(instance_id)
    note = f"cancelled by {principal.name}: {reason}"[:500]
    try:
        await client.terminate(instance_id, note)
    except Exception as exc:  # 410: it finished between the read above and now
        raise actions.Refused("not_running", f"the task hub refused to terminate: {exc}") from None
    # The terminate may land much later (Azure Storage); support_cancel waits for it and
    # then undoes once. A second cancel before it lands finds the same undo and starts none.
    earlier = await start_once(
        client,
        "support_cancel",
        cancel_id,
        {
            "instance_id": instance_id,
            "account_id": account_id,
            "actor": principal.name,
            "reason": reason,
            "retry": services().settings.retry.model_dump(mode="json"),
        },
    )
    return {
        "instanceId": instance_id,
        "cancelInstanceId": cancel_id,
        "alreadyRequested": earlier is not None,
        "undo": "runs once the termination has landed; see the cancel instance",
    }
