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
from crosswalk.settings import ApprovalSettings, OnboardingSettings
from crosswalk.sync_status import SyncStatus
from crosswalk.telemetry import metric
from orchestrators import bp
from orchestrators.steps import (
    RetryPolicy,
    Saga,
    Step,
    StepFailed,
    call_with_retry,
    count,
    custom_status,
)


class _Run:
    """What one onboarding needs at hand: the context, its input, its entity and its ledger."""

    def __init__(self, context: df.DurableOrchestrationContext, request: OnboardingInput) -> None:
        self.context = context
        self.request = request
        self.entity = df.EntityId("record_sync", request.account_id)
        self.retry = RetryPolicy.from_input(request.policy.get("retry"))
        self.approval = ApprovalSettings.from_policy(request.policy.get("approval", {}))
        self.onboarding = OnboardingSettings.from_policy(request.policy.get("onboarding", {}))
        self.saga = Saga()
        self.account_name: str | None = None  # known once the Account is read
        # what each step's span and logs are about (the D2C id joins once it exists)
        self.subject: dict[str, Any] = {
            "sf_account_id": request.account_id,
            "traceparent": request.traceparent,
        }

    @property
    def now(self) -> str:
        return self.context.current_utc_datetime.isoformat()

    def entity_op(self, operation: str, **payload: Any) -> Step:
        body = {"instance_id": self.context.instance_id, "at": self.now, **payload}
        return (yield self.context.call_entity(self.entity, operation, body))

    def step(self, activity: str, payload: dict[str, Any]) -> Step:
        self.context.set_custom_status(custom_status("onboarding", step=activity))
        return (
            yield from call_with_retry(
                self.context, activity, payload, self.retry, subject=self.subject
            )
        )

    def key(self, step: str) -> str:
        return f"{self.context.instance_id}:{step}"


@bp.orchestration_trigger(context_name="context")
def account_onboarding(context: df.DurableOrchestrationContext) -> Step:
    request = OnboardingInput.model_validate(context.get_input())
    run = _Run(context, request)
    result = yield from _claimed(run)
    count(context, metric.onboarding_finished, result["outcome"])
    return result


def _claimed(run: _Run) -> Step:
    claim = yield from run.entity_op("claim", modstamp=run.request.modstamp.isoformat())
    if not claim["granted"]:
        run.context.set_custom_status(custom_status("skipped", reasons=[claim["reason"]]))
        return {"outcome": "skipped", "reason": claim["reason"]}
    try:
        return (yield from _onboard(run))
    except StepFailed as failed:
        return (yield from _undo(run, failed.as_dict()))


def _onboard(run: _Run) -> Step:
    context, request = run.context, run.request
    if request.account is not None:  # the starter read it already (HTTP, reconciliation)
        raw = request.account
    else:
        raw = yield from run.step("sf_read_account", {"account_id": request.account_id})
    account = SalesforceAccount.model_validate(raw)
    run.account_name = account.Name

    if not qualifies_for_onboarding(account, run.onboarding):
        return (yield from _not_qualified(run, account))

    plan = plan_onboarding(account, run.onboarding)
    if not plan.ok:
        return (yield from _invalid(run, account, plan))

    reasons = approval_reasons(account, run.approval)
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
        raw = yield from run.step("sf_read_account", {"account_id": request.account_id})
        account = SalesforceAccount.model_validate(raw)
        run.account_name = account.Name
        if not qualifies_for_onboarding(account, run.onboarding):
            return (yield from _not_qualified(run, account))
        plan = plan_onboarding(account, run.onboarding)
        if not plan.ok:
            return (yield from _invalid(run, account, plan))
        reasons = approval_reasons(account, run.approval)

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


def _invalid(run: _Run, account: SalesforceAccount, plan: Any) -> Step:
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


def _not_qualified(run: _Run, account: SalesforceAccount) -> Step:
    """The Account's Type is not one that becomes a customer: release the record, end."""
    note = f"Type {account.Type!r} is not one of {run.onboarding.account_types}"
    yield from run.entity_op("release", note=note)
    run.context.set_custom_status(custom_status("not_qualified", reasons=[note]))
    return {"outcome": "not_qualified", "reason": note}


def _await_approval(run: _Run, asked: list[ApprovalReason], changed: list[ApprovalReason]) -> Step:
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
        yield from _notify(
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
    yield from _notify(run, NotificationKind.APPROVAL_TIMED_OUT, reasons=reasons)
    return None


def _notify(run: _Run, kind: NotificationKind, **fields: Any) -> Step:
    """Tell people (chat, log); a notification that cannot be delivered never fails the run."""
    payload = {
        "kind": str(kind),
        "account_id": run.request.account_id,
        "instance_id": run.context.instance_id,
        "account_name": run.account_name,
        **fields,
    }
    try:
        yield from call_with_retry(
            run.context, "notify_people", payload, run.retry, subject=run.subject
        )
    except StepFailed as failed:
        if not run.context.is_replaying:
            logging.getLogger("crosswalk.notify").warning("%s not delivered: %s", kind, failed)


def _event_data(data: Any) -> Any:
    """Events raised through the Python client arrive JSON-encoded twice (SDK issue #295)."""
    return json.loads(data) if isinstance(data, str) else data


def _undo(run: _Run, error: dict[str, Any]) -> Step:
    context = run.context
    context.set_custom_status(custom_status("compensating", step=error["step"], error=error))
    yield from run.saga.compensate(context, run.retry, subject=run.subject)
    ledger = run.saga.ledger()
    if run.saga.failed:
        final = SyncStatus.NEEDS_ATTENTION
        yield from _notify(run, NotificationKind.NEEDS_ATTENTION, detail=error["detail"])
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


def _failure_payload(run: _Run, name: str | None, error: dict[str, Any]) -> dict[str, Any]:
    return {
        "sf_account_id": run.request.account_id,
        "name": name,
        "failure": {**error, "instance_id": run.context.instance_id},
        "at": run.now,
    }
