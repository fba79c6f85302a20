"""`person_erasure`: erase one person everywhere Crosswalk keeps them, as a saga.

begin (tombstone first, then find their profiles, Salesforce records and D2C users) -> D2C ->
Salesforce -> profile store and lookups, and their sign-up's `signup_link` entity state ->
raw zone, snapshots and dead letters -> curated tables and their older versions ->
reconciliation reports -> the task hub history of the finished onboarding, update and sign-up
instances that held them (running ones are left to the purge timer) -> receipt. An erasure
cannot be undone, so a step that keeps failing
is not compensated: the steps are each safe to run again, transient failures are retried
with back-off, and a step that fails for good ends the run `needs_attention` with a receipt
naming the step; a new request for the same person finishes the rest. The input, history
and status hold ids only: who to erase is in the request document the activities read
(crosswalk/erasure/requests.py).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import azure.durable_functions as df

from crosswalk.telemetry import metric
from orchestrators import bp
from orchestrators.steps import RetryPolicy, Step, StepFailed, call_with_retry, count, custom_status

PREFIX = "erase-"


def instance_id(request_id: str) -> str:
    return f"{PREFIX}{request_id}"


@bp.orchestration_trigger(context_name="context")
def person_erasure(context: df.DurableOrchestrationContext) -> Step:
    request: dict[str, Any] = context.get_input()
    request_id = request["request_id"]
    retry = RetryPolicy.from_input(request.get("policy", {}).get("retry"))
    steps: dict[str, dict[str, Any]] = {}
    accounts: list[str] = []
    subject = {"erasure_request": request_id}

    def step(activity: str, payload: dict[str, Any]) -> Step:
        context.set_custom_status(custom_status("erasing", step=activity))
        result = yield from call_with_retry(
            context, activity, {"request_id": request_id, **payload}, retry, subject=subject
        )
        steps[activity.removeprefix("erasure_")] = result
        return result

    failed: StepFailed | None = None
    purge: list[str] = []
    try:
        found = yield from step("erasure_begin", {})
        accounts = found["accounts"]
        steps["begin"] = {
            "accounts": len(accounts),
            "d2c_users": len(found["d2c_users"]),
            "salesforce_records": len(found["salesforce"]),
        }
        yield from step("erasure_d2c", {"d2c_users": found["d2c_users"]})
        yield from step("erasure_salesforce", {"records": found["salesforce"]})
        yield from step("erasure_profiles", {"accounts": accounts})
        for customer_id in found.get("signup_customers", []):  # the sign-up's entity state
            yield context.call_entity(df.EntityId("signup_link", customer_id), "forget", {})
        steps["signup_links"] = {"forgotten": len(found.get("signup_customers", []))}
        yield from step("erasure_lake", {"accounts": accounts})
        # Events of theirs still in some instance's landing buffer are written within one
        # flush interval: wait two, then rewrite again (cheap: the index finds nothing new).
        settle = float(request.get("policy", {}).get("raw_flush_seconds", 5.0)) * 2 + 1
        yield context.create_timer(context.current_utc_datetime + timedelta(seconds=settle))
        first = steps["lake"]
        second = yield from step("erasure_lake", {"accounts": accounts})
        steps["lake"] = {**first, "second_pass_events_removed": second["events_removed"]}
        yield from step("erasure_curated", {})
        yield from step("erasure_reports", {})
        held = yield from step(
            "erasure_task_hub",
            {
                "accounts": found.get("task_hub_accounts", accounts),
                "signup_customers": found.get("signup_customers", []),
            },
        )
        purge = held["waiting"]  # still running: the purge timer takes them once finished
        steps["task_hub"] = {k: v for k, v in held.items() if k != "waiting"}
    except StepFailed as exc:
        failed = exc
    outcome = "erased" if failed is None else "needs_attention"
    receipt = {
        "request_id": request_id,
        "source": request["source"],
        "outcome": outcome,
        "requested_at": request["requested_at"],
        "finished_at": context.current_utc_datetime.isoformat(),
        "accounts": accounts,
        "steps": steps,
        "failed_step": failed.step if failed else None,
        "purge": purge,
    }
    yield from call_with_retry(context, "erasure_finish", {"receipt": receipt}, retry)
    count(context, metric.erasure_finished, outcome)
    error = failed.as_dict() if failed else None
    context.set_custom_status(custom_status(outcome, step=receipt["failed_step"], error=error))
    return {"outcome": outcome, "receipt": receipt, "error": error}
