"""`account_onboarding`: Salesforce Account -> D2C customer, as a saga (flow 1).

claim -> read -> validate and map -> approval (when rules ask) -> lake snapshot -> D2C
customer -> D2C user invite -> profile -> Salesforce write-back -> synced. A step that fails
for good undoes the completed ones in reverse order; the record ends `compensated`, or
`needs_attention` when an undo itself keeps failing.
"""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from typing import Any

import azure.durable_functions as df
from pydantic import ValidationError

from crosswalk.field_mapping import customer_values
from crosswalk.mapping import plan_onboarding
from crosswalk.models import ApprovalDecision, ApprovalReason, ApprovalVerdict
from crosswalk.notifications import NotificationKind
from crosswalk.onboarding import (
    APPROVAL_EVENT,
    OnboardingInput,
    made_by_this_run,
    onboarded_profile,
)
from crosswalk.rules import approval_reasons, qualifies_for_onboarding
from crosswalk.salesforce_records import SalesforceAccount
from crosswalk.sync_status import SyncStatus
from crosswalk.telemetry import metric
from orchestrators import bp
from orchestrators.onboarding_run import OnboardingRun, notify
from orchestrators.steps import Step, StepFailed, count, custom_status


@bp.orchestration_trigger(context_name="context")
def account_onboarding(context: df.DurableOrchestrationContext) -> Step:
    request = OnboardingInput.model_validate(context.get_input())
    run = OnboardingRun(context, request)
    result = yield from _claimed(run)
    count(context, metric.onboarding_finished, result["outcome"])
    return result


def _claimed(run: OnboardingRun) -> Step:
    claim = yield from run.entity_op("claim", modstamp=run.request.modstamp.isoformat())
    if not claim["granted"]:
        run.context.set_custom_status(custom_status("skipped", reasons=[claim["reason"]]))
        return {"outcome": "skipped", "reason": claim["reason"]}
    try:
        return (yield from _onboard(run))
    except StepFailed as failed:
        return (yield from _undo(run, failed.as_dict()))


def _assess(run: OnboardingRun, raw: dict[str, Any]) -> Step:
    """The Account as read, judged: ((account, plan, approval reasons), None), or (None, the
    run's end) when it no longer qualifies or cannot be mapped."""
    account = SalesforceAccount.model_validate(raw)
    run.account_name = account.Name
    if not qualifies_for_onboarding(account, run.onboarding):
        return None, (yield from _not_qualified(run, account))
    plan = plan_onboarding(account, run.onboarding)
    if not plan.ok:
        return None, (yield from _invalid(run, account, plan))
    return (account, plan, approval_reasons(account, run.approval)), None


def _onboard(run: OnboardingRun) -> Step:
    context, request = run.context, run.request
    # the starter may have read it already (HTTP, reconciliation)
    raw = request.account if request.account is not None else (yield from run.read())
    judged, ended = yield from _assess(run, raw)
    if judged is None:
        return ended
    account, plan, reasons = judged
    decision: ApprovalDecision | None = None
    approved: set[ApprovalReason] = set()
    while not set(reasons) <= approved:  # some reason nobody has approved yet
        changed = [r for r in reasons if r not in approved] if approved else []
        decision = yield from _await_approval(run, reasons, changed)
        if decision is None or decision.decision is ApprovalVerdict.REJECT:
            why = (
                decision.reason if decision else "no decision before the last escalation timed out"
            )
            yield from run.entity_op(
                "advance",
                status=SyncStatus.REJECTED,
                note=why,
                approval=decision.model_dump(mode="json") if decision else {"decision": "timeout"},
            )
            context.set_custom_status(custom_status("rejected", reasons=[why]))
            return {"outcome": "rejected", "reason": why}
        approved = set(reasons)
        # The read before the wait may be days old: decide again on what Salesforce has now.
        raw = yield from run.read()
        judged, ended = yield from _assess(run, raw)
        if judged is None:
            return ended
        account, plan, reasons = judged

    snapshot = yield from run.step("lake_put_account_snapshot", {"account": raw})

    created = yield from run.step(
        "d2c_create_customer",
        {
            "customer": plan.customer.model_dump(mode="json"),
            "idempotency_key": run.key("d2c-customer"),
        },
    )
    customer_id = created["customer_id"]
    run.subject["d2c_customer_id"] = customer_id
    if made_by_this_run(created):
        run.saga.register(
            "d2c_deactivate_customer",
            {"customer_id": customer_id, "reason": f"onboarding {context.instance_id} compensated"},
        )
    if created.get("reactivate"):  # Crosswalk's own deactivated organisation: bring it back
        reactivated = yield from run.step(
            "d2c_reactivate_customer",
            {"customer_id": customer_id, "reason": f"onboarding {context.instance_id}"},
        )
        created = {**created, "version": reactivated["version"]}

    invited = yield from run.step(
        "d2c_invite_user",
        {
            "customer_id": customer_id,
            "invite": plan.primary_user.model_dump(mode="json"),
            "idempotency_key": run.key("d2c-user"),
        },
    )
    user_id = invited["user_id"]
    if made_by_this_run(invited):
        run.saga.register("d2c_remove_user", {"customer_id": customer_id, "user_id": user_id})

    profile = onboarded_profile(
        account,
        plan,
        customer_id=customer_id,
        user_id=user_id,
        invited=invited.get("status") == "invited",
        at=context.current_utc_datetime,
        read_at=run.read_at,
        approval=decision,
    )
    yield from run.step("profile_upsert", {"profile": profile.model_dump(mode="json")})
    run.saga.register("profile_remove", {"sf_account_id": account.Id})

    write_back = {
        "account_id": account.Id,
        "contact_id": plan.primary_contact_id,
        "d2c_customer_id": customer_id,
        "d2c_primary_user_id": user_id,
    }
    if not request.defer_write_back:
        yield from run.step("sf_write_back_d2c_ids", write_back)

    # What D2C was created with seeds the agreed values of the two-way sync (account_update);
    # an adopted customer may hold other values, so its first update reads it instead.
    agreed = None if created["adopted"] else customer_values(plan.customer.model_dump(mode="json"))
    yield from run.entity_op(
        "synced",
        modstamp=account.SystemModstamp.isoformat(),
        d2c_customer_id=customer_id,
        d2c_primary_user_id=user_id,
        fields=agreed,
        d2c_version=created["version"],
    )
    context.set_custom_status(custom_status("synced"))
    return {
        "outcome": "synced",
        "d2c_customer_id": customer_id,
        "d2c_primary_user_id": user_id,
        "adopted_existing_customer": created["adopted"],
        "reactivated_customer": bool(created.get("reactivate")),
        "snapshot": snapshot["path"],
        "approval": decision.model_dump(mode="json") if decision else None,
        "notes": plan.notes,
        "write_back": write_back if request.defer_write_back else None,
    }


def _invalid(run: OnboardingRun, account: SalesforceAccount, plan: Any) -> Step:
    """The Account cannot be mapped: the record fails with each problem named."""
    problems = [str(p) for p in plan.problems]
    error = {
        "kind": "permanent",
        "system": "salesforce",
        "code": "INVALID_DATA",
        "detail": "; ".join(problems),
        "step": "map",
    }
    yield from run.entity_op("advance", status=SyncStatus.FAILED, error=error, note="invalid data")
    yield from run.step("profile_record_failure", _failure_payload(run, account.Name, error))
    run.context.set_custom_status(
        custom_status("failed", step="map", reasons=problems, error=error)
    )
    return {"outcome": "invalid", "problems": problems, "notes": plan.notes}


def _not_qualified(run: OnboardingRun, account: SalesforceAccount) -> Step:
    """The Account's Type is not one that becomes a customer: release the record, end."""
    note = f"Type {account.Type!r} is not one of {run.onboarding.account_types}"
    yield from run.entity_op("release", note=note)
    run.context.set_custom_status(custom_status("not_qualified", reasons=[note]))
    return {"outcome": "not_qualified", "reason": note}


def _await_approval(
    run: OnboardingRun, asked: list[ApprovalReason], changed: list[ApprovalReason]
) -> Step:
    """Race ApprovalDecision against a durable timer; escalate, then give up.

    Returns the decision, or None when the last escalation timed out. A malformed decision
    event is recorded and ignored: the wait goes on until a valid one or the deadline.
    `changed`: the reasons an earlier approval did not cover (the Account changed during the
    wait), said in the status and to the approvers so they know why they are asked again.
    """
    context = run.context
    began = context.current_utc_datetime
    reasons = [r.model_dump() for r in asked]
    again: dict[str, Any] = {}
    if changed:
        again = {
            "asked_again": "the Account changed after it was approved: "
            + "; ".join(r.message for r in changed),
            "changed": [r.model_dump() for r in changed],
        }
    yield from run.entity_op(
        "advance",
        status=SyncStatus.AWAITING_APPROVAL,
        note=("asked again: " if changed else "") + "; ".join(r.code for r in asked),
    )
    for escalation in range(run.approval.escalations + 1):
        deadline = context.current_utc_datetime + timedelta(hours=run.approval.timeout_hours)
        yield from notify(
            run,
            NotificationKind.APPROVAL_ESCALATED
            if escalation
            else NotificationKind.APPROVAL_REQUESTED,
            reasons=reasons,
            deadline=deadline.isoformat(),
            escalation=escalation,
            detail=again.get("asked_again"),
        )
        context.set_custom_status(
            custom_status(
                "awaiting_approval",
                waiting_for=APPROVAL_EVENT,
                reasons=reasons,
                deadline=deadline.isoformat(),
                escalation=escalation,
                **again,
            )
        )
        while True:
            # A fresh timer for every wait: the SDK leaves an already-scheduled timer out of a
            # new task_any, and the host would then wait for the event alone, past the
            # deadline. The losing timer is cancelled, so it holds nothing open.
            timer = context.create_timer(deadline)
            event = context.wait_for_external_event(APPROVAL_EVENT)
            winner = yield context.task_any([event, timer])
            if winner is timer:
                break
            timer.cancel()
            try:
                decision = ApprovalDecision.model_validate(_event_data(winner.result))
            except (ValidationError, ValueError):
                continue
            waited = (context.current_utc_datetime - began).total_seconds()
            count(context, metric.approval_waited, waited, str(decision.decision))
            if not context.is_replaying:
                logging.getLogger("crosswalk.approvals").info(
                    "approval_decided %s by %s after %.0f s",
                    decision.decision,
                    decision.approver,
                    waited,
                    extra={
                        "crosswalk.instance_id": context.instance_id,
                        "crosswalk.sf_account_id": run.request.account_id,
                        "crosswalk.workflow": "account_onboarding",
                    },
                )
            if decision.decision is ApprovalVerdict.APPROVE:
                yield from run.entity_op(
                    "advance",
                    status=SyncStatus.ONBOARDING,
                    note=f"approved by {decision.approver}",
                    approval=decision.model_dump(mode="json"),
                )
            return decision
    waited = (context.current_utc_datetime - began).total_seconds()
    count(context, metric.approval_waited, waited, "timeout")
    yield from notify(run, NotificationKind.APPROVAL_TIMED_OUT, reasons=reasons)
    return None


def _event_data(data: Any) -> Any:
    """Events raised through the Python client arrive JSON-encoded twice (SDK issue #295)."""
    return json.loads(data) if isinstance(data, str) else data


def _undo(run: OnboardingRun, error: dict[str, Any]) -> Step:
    context = run.context
    context.set_custom_status(custom_status("compensating", step=error["step"], error=error))
    yield from run.saga.compensate(context, run.retry, subject=run.subject)
    ledger = run.saga.ledger()
    if run.saga.failed:
        final = SyncStatus.NEEDS_ATTENTION
        yield from notify(run, NotificationKind.NEEDS_ATTENTION, detail=error["detail"])
    elif run.saga.done:
        final = SyncStatus.COMPENSATED
    else:
        final = SyncStatus.FAILED
    yield from run.entity_op("advance", status=final, error=error, note=error["detail"][:200])
    try:
        yield from run.step("profile_record_failure", _failure_payload(run, None, error))
    except StepFailed as exc:
        ledger["failure_record"] = exc.as_dict()
    context.set_custom_status(
        custom_status(str(final), step=error["step"], error=error, ledger=ledger)
    )
    return {"outcome": str(final), "error": error, "ledger": ledger}


def _failure_payload(run: OnboardingRun, name: str | None, error: dict[str, Any]) -> dict[str, Any]:
    return {
        "sf_account_id": run.request.account_id,
        "name": name,
        "failure": {**error, "instance_id": run.context.instance_id},
        "at": run.now,
    }
