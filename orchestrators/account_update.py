"""`account_update`: keep a synced Account and its D2C customer in step, both ways (flow 2).

begin (the record's entity grants the update lease; a stale change, or one another run will
pick up, ends here without a call) -> read only what the change needs (the Account when a
Salesforce-owned field changed; the D2C customer only when nothing is known of it yet) ->
plan per field owner (crosswalk.ownership) -> PATCH the Salesforce-owned fields to D2C with
If-Match (a 412 re-reads and re-plans from the fresh customer) -> write the D2C-owned fields
to the Account -> profile -> end (the entity records the agreed values, the modstamp and the
version; changes that arrived meanwhile come back and run as a `continue_as_new`).

An Account gone from Salesforce deactivates the D2C organisation (SYNC_DEACTIVATE_ON_DELETE)
and marks the profile.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import azure.durable_functions as df

from crosswalk.field_mapping import account_fields, customer_values, event_values, touched_fields
from crosswalk.models import ProfileStatus
from crosswalk.ownership import SyncPlan, owned_by, plan_sync
from crosswalk.salesforce_records import SalesforceAccount
from crosswalk.settings import FieldOwnershipSettings, OnboardingSettings, SyncSettings, System
from crosswalk.sync_changes import ChangeRequest, UpdateGrant
from crosswalk.telemetry import metric
from crosswalk.updates import UpdateInput
from orchestrators import bp
from orchestrators.steps import (
    RetryPolicy,
    Run,
    Step,
    StepFailed,
    count,
    custom_status,
)

log = logging.getLogger("crosswalk.updates")

FIRST_WAIT = timedelta(seconds=30)
LONGEST_WAIT = timedelta(hours=1)
WAITS_PER_EXECUTION = 10
GIVE_UP_WAITING = timedelta(days=14)
"""While the record is being onboarded (an approval can take days), one update instance asks
again after 30 s, doubling to hourly, and continues as new every 10 waits to keep its history
small; after 14 days the change stays pending on the entity for the next update or for
reconciliation."""
MAX_CONFLICTS = 3


class _Run(Run):
    stage = "updating"

    def __init__(self, context: df.DurableOrchestrationContext, update: UpdateInput) -> None:
        self.context = context
        self.update = update
        self.entity = df.EntityId("record_sync", update.account_id)
        policy = update.policy
        self.retry = RetryPolicy.from_input(policy.get("retry"))
        self.ownership = FieldOwnershipSettings.from_policy(policy.get("ownership", {}))
        self.sync = SyncSettings.from_policy(policy.get("sync", {}))
        self.onboarding = OnboardingSettings.from_policy(policy.get("onboarding", {}))
        self.subject = {"sf_account_id": update.account_id}

    def begin(self) -> Step:
        request = self.update.request.model_dump(mode="json")
        return UpdateGrant.model_validate(
            (yield from self.entity_op("update_begin", request=request))
        )

    def log(self, message: str, *args: Any) -> None:
        if not self.context.is_replaying:
            log.info("%s %s: " + message, self.context.instance_id, self.update.account_id, *args)


@dataclass(slots=True)
class _Result:
    outcome: str
    note: str | None = None
    agreed: dict[str, Any] | None = None
    modstamp: datetime | None = None
    d2c_version: int | None = None
    deleted: bool = False
    error: dict[str, Any] | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def for_entity(self) -> dict[str, Any]:
        return {
            "outcome": self.outcome,
            "note": self.note,
            "agreed": self.agreed,
            "modstamp": self.modstamp.isoformat() if self.modstamp else None,
            "d2c_version": self.d2c_version,
            "deleted": self.deleted,
            "error": self.error,
        }

    def output(self) -> dict[str, Any]:
        return {"outcome": self.outcome, "note": self.note, "error": self.error, **self.details}


@bp.orchestration_trigger(context_name="context")
def account_update(context: df.DurableOrchestrationContext) -> Step:
    result = yield from _account_update(context)
    if result.get("outcome") != "waiting":  # a wait continues as new: not an end yet
        count(context, metric.update_finished, str(result.get("outcome")))
    return result


def _account_update(context: df.DurableOrchestrationContext) -> Step:
    update = UpdateInput.model_validate(context.get_input())
    run = _Run(context, update)
    grant = yield from run.begin()
    if not grant.go and grant.wait:
        since = update.waiting_since or context.current_utc_datetime
        delay = FIRST_WAIT
        for _ in range(WAITS_PER_EXECUTION):
            if grant.go or not grant.wait:
                break
            if context.current_utc_datetime - since > GIVE_UP_WAITING:
                break
            waited = context.current_utc_datetime - since
            delay = max(FIRST_WAIT, min(LONGEST_WAIT, waited))  # doubling: wait as long again
            context.set_custom_status(
                custom_status("waiting", waiting_for="onboarding", reasons=[grant.reason])
            )
            yield context.create_timer(context.current_utc_datetime + delay)
            grant = yield from run.begin()
        else:
            if not grant.go and grant.wait:
                context.continue_as_new(
                    update.model_copy(update={"waiting_since": since}).model_dump(
                        mode="json", exclude_none=True
                    )
                )
                return {"outcome": "waiting", "reason": grant.reason}
    if not grant.go:
        run.log("%s: %s", grant.outcome, grant.reason)
        context.set_custom_status(custom_status(grant.outcome, reasons=[grant.reason]))
        return {"outcome": grant.outcome, "reason": grant.reason}

    assert grant.request is not None  # a granted lease always carries the request
    try:
        result = yield from _apply(run, grant)
    except StepFailed as failed:
        result = _Result("failed", note=str(failed)[:500], error=failed.as_dict())
    request = grant.request.model_dump(mode="json")
    ended = yield from run.entity_op("update_end", request=request, **result.for_entity())
    if ended["pending"] is not None:
        run.log("more changes arrived meanwhile; continuing")
        context.continue_as_new(
            update.model_copy(
                update={"request": ChangeRequest.model_validate(ended["pending"]), "account": None}
            ).model_dump(mode="json", exclude_none=True)
        )
        return result.output()
    context.set_custom_status(
        custom_status(
            result.outcome, reasons=[result.note] if result.note else [], error=result.error
        )
    )
    return result.output()


def _apply(run: _Run, grant: UpdateGrant) -> Step:
    request = grant.request
    assert request is not None
    agreed = grant.agreed
    touched = None if request.changed_fields is None else touched_fields(request.changed_fields)
    salesforce_owned = owned_by(System.SALESFORCE, run.ownership)
    must_read = (
        request.deleted
        or request.full
        or touched is None
        or agreed is None
        or bool(touched & salesforce_owned)
    )
    carried = event_values(request.values)
    if (
        agreed is not None
        and touched
        and request.customer is None
        and not (request.deleted or request.full)
        and touched <= carried.keys()
        and all(agreed.get(name) == carried[name] for name in touched)
    ):  # the event's new values are what both systems already agreed on: nothing to do
        note = "the changed values already equal the agreed ones (an earlier run applied them)"
        return _Result("no_change", note=note)
    account: SalesforceAccount | None = None
    if must_read:
        raw = run.update.account
        if raw is not None and _older(raw, grant.last_modstamp):
            raw = None  # the starter's copy may predate what was applied since: read it again
        if raw is None:
            read = yield from run.step(
                "sf_read_account_fields", {"account_id": run.update.account_id}
            )
            raw = read["account"]
        if raw is None or raw.get("IsDeleted"):
            return (yield from _deleted(run, grant))
        account = SalesforceAccount.model_validate(raw)

    customer = request.customer
    if customer is None and (agreed is None or request.full):
        customer = yield from run.step("d2c_get_customer", {"customer_id": grant.d2c_customer_id})
    if customer is not None and customer["status"] != "active":
        note = f"D2C customer {customer['id']} is {customer['status']}; nothing applied"
        return _Result("d2c_deactivated", note=note, d2c_version=customer["version"])

    mapped = account_fields(account, run.onboarding) if account is not None else None
    unread = (
        frozenset() if account is not None else frozenset((touched or set()) - salesforce_owned)
    )
    version = grant.d2c_version
    plan: SyncPlan | None = None
    for _ in range(MAX_CONFLICTS + 1):
        plan = plan_sync(
            agreed=agreed,
            ownership=run.ownership,
            restore=run.sync.restore_owner_values,
            salesforce=mapped,
            salesforce_touched=unread,
            d2c=customer_values(customer) if customer is not None else None,
        )
        if not plan.d2c_patch:
            break
        base = customer["version"] if customer is not None else version
        if base is None:
            customer = yield from run.step(
                "d2c_get_customer", {"customer_id": grant.d2c_customer_id}
            )
            continue
        patched = yield from run.step(
            "d2c_update_customer",
            {"customer_id": grant.d2c_customer_id, "patch": plan.d2c_patch, "version": base},
        )
        customer = patched["customer"]
        if patched["status"] == "updated":
            break
        run.log("D2C changed under us (412); re-planning from version %s", customer["version"])
    else:
        detail = f"the D2C customer changed {MAX_CONFLICTS} times while applying; retry later"
        error = {"kind": "transient", "system": "d2c", "code": "conflict", "detail": detail}
        return _Result("failed", note=detail, error=error)
    assert plan is not None

    if plan.account_patch:
        yield from run.step(
            "sf_update_account", {"account_id": run.update.account_id, "fields": plan.account_patch}
        )
    modstamp = account.SystemModstamp if account is not None else None
    yield from _profile(run, grant, plan, modstamp)

    for line in plan.ignored:
        run.log("%s", line)
    outcome = "applied" if plan.writes or plan.propagated else "no_change"
    if plan.ignored and not plan.propagated:
        outcome = "ignored"
    error = None
    if plan.problems:
        detail = "; ".join(plan.problems)
        error = {
            "kind": "permanent",
            "system": "salesforce",
            "code": "INVALID_DATA",
            "detail": detail,
        }
    return _Result(
        outcome,
        note="; ".join([*plan.propagated, *plan.ignored, *plan.problems]) or None,
        agreed=plan.agreed,
        modstamp=modstamp,
        d2c_version=customer["version"] if customer is not None else version,
        error=error,
        details={
            "propagated": plan.propagated,
            "ignored": plan.ignored,
            "problems": plan.problems,
            "d2c_fields": sorted(plan.d2c_patch),
            "salesforce_fields": sorted(plan.account_patch),
        },
    )


def _older(raw: dict[str, Any], applied: datetime | None) -> bool:
    """Stamped at or before what was applied: Salesforce stamps whole seconds, so a copy
    with the applied stamp may come from an earlier write in that same second."""
    return applied is not None and SalesforceAccount.model_validate(raw).SystemModstamp <= applied


def _profile(run: _Run, grant: UpdateGrant, plan: SyncPlan, modstamp: datetime | None) -> Step:
    """The profile follows the agreed name, domain and country, and the applied modstamp."""
    before, after = grant.agreed or {}, plan.agreed
    changes: dict[str, Any] = {
        name: after[name]
        for name in ("name", "email_domain")
        if name in after and after[name] != before.get(name)
    }
    country = (after.get("billing_address") or {}).get("country")
    if country != (before.get("billing_address") or {}).get("country"):
        changes["country"] = country
    if modstamp is not None and (grant.last_modstamp is None or modstamp > grant.last_modstamp):
        changes["last_modstamp"] = modstamp.isoformat()
    if changes:
        yield from run.step(
            "profile_apply_update",
            {"sf_account_id": run.update.account_id, "changes": changes, "at": run.now},
        )


def _deleted(run: _Run, grant: UpdateGrant) -> Step:
    account_id = run.update.account_id
    note = f"Account {account_id} was deleted in Salesforce"
    if run.sync.deactivate_on_delete and grant.d2c_customer_id:
        yield from run.step(
            "d2c_deactivate_customer", {"customer_id": grant.d2c_customer_id, "reason": note}
        )
        note += f"; D2C customer {grant.d2c_customer_id} deactivated"
    yield from run.step(
        "profile_apply_update",
        {
            "sf_account_id": account_id,
            "changes": {"status": ProfileStatus.DELETED_IN_SALESFORCE.value},
            "at": run.now,
        },
    )
    run.log("%s", note)
    return _Result("deleted", note=note, deleted=True)
