"""`d2c_signup_linking`: a storefront sign-up becomes a Contact of its company, or a Lead (flow 3).

registered: claim the customer's `signup_link` entity (duplicates stop here) -> match the
email's domain against synced accounts in the profile store (free-mail never matches) ->
put it on a Contact under the matched Account, or a Lead (or nothing: SYNC_UNMATCHED_SIGNUPS):
the record already keyed by the D2C user id, else an unlinked one with the same email (the
person was in Salesforce first), else a new one -> write the Salesforce ids back to
the D2C customer -> the person onto the matched account's unified profile -> linked.

updated: a storefront edit of a linked customer -> its D2C-owned fields on the Contact/Lead,
and the person's consent onto every profile that knows their D2C user id.
A Lead that sales converted refuses the write; the link then moves to the Contact it became.
An edit that arrived while the link was being made runs right after, as a `continue_as_new`.
"""

from __future__ import annotations

from typing import Any

import azure.durable_functions as df

from crosswalk.d2c_models import Customer, D2CUser
from crosswalk.errors import ActivityFailure, ErrorKind
from crosswalk.ownership import owned_by
from crosswalk.settings import FieldOwnershipSettings, SyncSettings, System, UnmatchedSignups
from crosswalk.signup_mapping import matchable_domain, plan_contact, plan_lead, signup_updates
from crosswalk.signup_state import SignupGrant
from crosswalk.telemetry import metric
from crosswalk.updates import SignupInput
from crosswalk.whole_profile import signup_person, storefront_consent
from orchestrators import bp
from orchestrators.steps import (
    RetryPolicy,
    Run,
    Step,
    StepFailed,
    count,
    custom_status,
)

MAX_CONFLICTS = 3
USER_ID = "D2C_User_Id__c"


class _Run(Run):
    stage = "linking"

    def __init__(self, context: df.DurableOrchestrationContext, signup: SignupInput) -> None:
        self.context = context
        self.signup = signup
        self.customer = Customer.model_validate(signup.customer)
        self.entity = df.EntityId("signup_link", self.customer.id)
        self.retry = RetryPolicy.from_input(signup.policy.get("retry"))
        self.ownership = FieldOwnershipSettings.from_policy(signup.policy.get("ownership", {}))
        self.sync = SyncSettings.from_policy(signup.policy.get("sync", {}))
        self.subject = {"d2c_customer_id": self.customer.id}


@bp.orchestration_trigger(context_name="context")
def d2c_signup_linking(context: df.DurableOrchestrationContext) -> Step:
    result = yield from _signup_linking(context)
    count(context, metric.signup_finished, str(result.get("outcome")))
    return result


def _signup_linking(context: df.DurableOrchestrationContext) -> Step:
    signup = SignupInput.model_validate(context.get_input())
    run = _Run(context, signup)
    claimed = yield from run.entity_op(
        "claim",
        kind=signup.kind,
        customer=signup.customer,
        changed_fields=signup.changed_fields,
    )
    grant = SignupGrant.model_validate(claimed)
    if not grant.go:
        context.set_custom_status(custom_status(grant.outcome, reasons=[grant.reason]))
        return {"outcome": grant.outcome, "reason": grant.reason}
    try:
        if signup.kind == "registered":
            result = yield from _link(run)
        else:
            result = yield from _apply_edit(run, grant)
    except StepFailed as failed:
        result = {"outcome": "failed", "note": str(failed)[:500], "error": failed.as_dict()}
    pending = yield from run.entity_op(
        "finish",
        outcome=result["outcome"],
        note=result.get("note"),
        version=run.customer.version,
        link=result.get("link"),
        error=result.get("error"),
    )
    if pending is not None:
        context.continue_as_new(
            {"kind": "updated", **pending, "policy": signup.policy, "user": None}
        )
        return result
    reasons = [result["note"]] if result.get("note") else []
    context.set_custom_status(custom_status(result["outcome"], reasons=reasons))
    return result


def _link(run: _Run) -> Step:
    customer = run.customer
    if run.signup.user is None:
        detail = "customer.registered without its user"
        error = {"kind": "permanent", "system": "d2c", "code": "INVALID_DATA", "detail": detail}
        return {"outcome": "invalid", "note": detail, "error": error}
    user = D2CUser.model_validate(run.signup.user)
    erased = yield from run.step("erasure_check", {"values": [user.email, user.id]})
    if erased["erased"]:  # a person who asked to be forgotten: nothing links them again
        return {"outcome": "erased", "note": "this person was erased; nothing was linked"}
    domain = matchable_domain(user.email)
    matches: list[str] = []
    if domain is not None:
        found = yield from run.step("profile_match_domain", {"domain": domain})
        matches = found["account_ids"]
    notes: list[str] = []
    account_id: str | None = None
    if matches:
        account_id = matches[0]
        if len(matches) > 1:
            notes.append(f"{len(matches)} synced accounts use {domain}; linked to {account_id}")
        plan = plan_contact(user, customer, account_id)
    elif run.sync.unmatched_signups is UnmatchedSignups.IGNORE:
        why = f"domain {domain}" if domain else "a free-mail or invalid address"
        note = f"no synced account matches {why}; left alone (SYNC_UNMATCHED_SIGNUPS=ignore)"
        return {"outcome": "unmatched", "note": note}
    else:
        plan = plan_lead(user, customer)
    if not plan.ok:
        detail = "; ".join(str(p) for p in plan.problems)
        error = {"kind": "permanent", "system": "d2c", "code": "INVALID_DATA", "detail": detail}
        return {"outcome": "invalid", "note": detail, "error": error}

    upserted = yield from run.step(
        "sf_upsert_signup", {"sobject": plan.sobject, "user_id": user.id, "fields": plan.fields}
    )
    record_id = upserted["id"]
    link = (
        {"account_id": account_id, "contact_id": record_id}
        if plan.sobject == "Contact"
        else {"lead_id": record_id}
    )
    yield from _write_link(run, link)
    if account_id is not None:
        person = signup_person(user, customer, contact_id=record_id)
        yield from run.step(
            "profile_put_person",
            {"sf_account_id": account_id, "person": person.model_dump(mode="json")},
        )
    notes.append(
        f"{plan.sobject} {record_id}" + (f" of Account {account_id}" if account_id else "")
    )
    if upserted.get("adopted"):
        notes.append(f"the {plan.sobject} existed before the sign-up; matched by email")
    return {
        "outcome": "linked",
        "note": "; ".join([*notes, *plan.notes]),
        "sobject": plan.sobject,
        "id": record_id,
        "account_id": account_id,
        "link": {
            "sobject": plan.sobject,
            "sf_id": record_id,
            "account_id": account_id,
            "user_id": user.id,
            "email": user.email,
        },
    }


def _write_link(run: _Run, link: dict[str, Any]) -> Step:
    """The Salesforce ids onto the D2C customer; only Crosswalk writes `salesforce`, so a 412
    just means "take the newer version and write again"."""
    customer = run.customer.model_dump(mode="json")
    for _ in range(MAX_CONFLICTS + 1):
        current = customer.get("salesforce") or {}
        if all(current.get(key) == value for key, value in link.items()):
            return customer
        patched = yield from run.step(
            "d2c_update_customer",
            {
                "customer_id": run.customer.id,
                "patch": {"salesforce": link},
                "version": customer["version"],
            },
        )
        customer = patched["customer"]
        if patched["status"] == "updated":
            return customer
    raise StepFailed(
        "d2c_update_customer",
        _conflict(f"customer {run.customer.id} kept changing while its link was written"),
        MAX_CONFLICTS,
    )


def _apply_edit(run: _Run, grant: SignupGrant) -> Step:
    assert grant.sobject is not None and grant.sf_id is not None
    d2c_owned = owned_by(System.D2C, run.ownership)
    fields = signup_updates(grant.sobject, run.customer, grant.changed_fields, d2c_owned)
    if "marketing_consent" in grant.changed_fields and grant.user_id:
        person = {"d2c_user_id": grant.user_id, "email": grant.email}
        consent = storefront_consent(run.customer).model_dump(mode="json")
        yield from run.step("profile_put_person", {"person": {**person, "consent": consent}})
    if not fields:
        note = f"no field of the {grant.sobject} follows {', '.join(grant.changed_fields) or '-'}"
        return {"outcome": "no_change", "note": note}
    updated = yield from run.step(
        "sf_update_signup", {"sobject": grant.sobject, "id": grant.sf_id, "fields": fields}
    )
    if updated.get("converted"):
        return (yield from _follow_conversion(run, grant, updated["converted"], d2c_owned))
    return {"outcome": "applied", "note": f"{grant.sobject} {grant.sf_id}: {', '.join(fields)}"}


def _follow_conversion(
    run: _Run, grant: SignupGrant, converted: dict[str, str], d2c_owned: set[str]
) -> Step:
    """Sales converted the sign-up's Lead: the person now lives on the Contact it became.

    That Contact gets the D2C user id and this edit, the D2C customer learns the new ids, and
    the link moves, so later edits go straight to the Contact.
    """
    contact_id, account_id = converted["contact_id"], converted["account_id"]
    fields = signup_updates("Contact", run.customer, grant.changed_fields, d2c_owned)
    yield from run.step(
        "sf_update_signup",
        {"sobject": "Contact", "id": contact_id, "fields": {**fields, USER_ID: grant.user_id}},
    )
    yield from _write_link(
        run, {"account_id": account_id, "contact_id": contact_id, "lead_id": None}
    )
    note = f"Lead {grant.sf_id} was converted; now Contact {contact_id} of Account {account_id}"
    return {
        "outcome": "moved",
        "note": note,
        "link": {
            "sobject": "Contact",
            "sf_id": contact_id,
            "account_id": account_id,
            "user_id": grant.user_id,
            "email": grant.email,
        },
    }


def _conflict(detail: str) -> ActivityFailure:
    return ActivityFailure(ErrorKind.TRANSIENT, "d2c", 412, "conflict", detail)
