"""`contact_change`: Contacts changed in Salesforce; the profiles they belong to follow.

A Contact change event names Contact ids and, when it carries it (a create, an undelete, a
move to another Account), the Account. The accounts with a profile that the change concerns
are found in the profile store (lookup entries by Contact id, and the Account named), so a
Contact of an account Crosswalk does not sync costs no Salesforce call. Each of them then
refreshes its people from one read of the Account with its Contacts, in one activity (the
Contacts' personal data never enters this history). A deleted Contact, or one that moved
to another Account, leaves the profile it was in, sign-up or not; an erased person is left
out by every profile write.
"""

from __future__ import annotations

import azure.durable_functions as df

from crosswalk.telemetry import metric
from crosswalk.updates import ContactChangeInput
from orchestrators import bp
from orchestrators.steps import (
    RetryPolicy,
    Step,
    StepFailed,
    call_with_retry,
    count,
    custom_status,
)


@bp.orchestration_trigger(context_name="context")
def contact_change(context: df.DurableOrchestrationContext) -> Step:
    result = yield from _contact_change(context)
    count(context, metric.contact_change_finished, str(result["outcome"]))
    return result


def _contact_change(context: df.DurableOrchestrationContext) -> Step:
    change = ContactChangeInput.model_validate(context.get_input())
    retry = RetryPolicy.from_input(change.policy.get("retry"))
    context.set_custom_status(custom_status("refreshing", step="profile_accounts_of_contacts"))
    refreshed: list[str] = []
    try:
        found = yield from call_with_retry(
            context,
            "profile_accounts_of_contacts",
            {"contact_ids": change.contact_ids, "account_id": change.account_id},
            retry,
        )
        for account_id in found["account_ids"]:
            context.set_custom_status(custom_status("refreshing", step="profile_refresh_people"))
            result = yield from call_with_retry(
                context,
                "profile_refresh_people",
                {"account_id": account_id, "gone": change.gone_from(account_id)},
                retry,
                subject={"sf_account_id": account_id},
            )
            if result.get("refreshed"):
                refreshed.append(account_id)
    except StepFailed as failed:
        error = failed.as_dict()
        context.set_custom_status(custom_status("failed", error=error))
        return {"outcome": "failed", "refreshed": refreshed, "error": error}
    outcome = "refreshed" if refreshed else "no_change"
    if not found["account_ids"]:
        outcome = "not_synced"
    context.set_custom_status(custom_status(outcome))
    return {"outcome": outcome, "accounts": found["account_ids"], "refreshed": refreshed}
