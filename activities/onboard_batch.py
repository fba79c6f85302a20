"""Activities of a batched onboarding (orchestrators/onboard_batch.py): the D2C side of many
accounts in one activity, their undo, their failure records.

Per account the steps and their order are the saga's: lake snapshot, D2C customer (created,
adopted or brought back), primary user, profile. The accounts run side by side on a few
threads (the D2C calls are what takes the time), and each account's failure stays its own:
it comes back as that account's error with the undo ledger of what it had done, never as the
activity's failure. A retried activity (a worker killed mid-batch) repeats every call with the
same idempotency keys and gets the first answers back.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

from activities import bp
from activities.d2c import (
    create_or_adopt_customer,
    deactivate_customer,
    invite_or_adopt_user,
    reactivate_customer,
    remove_user,
)
from activities.lake import put_account_snapshot
from activities.profiles import record_failure, remove_profile, upsert_profile
from crosswalk.errors import ActivityFailure
from crosswalk.field_mapping import customer_values
from crosswalk.mapping import plan_onboarding
from crosswalk.onboard_batch import idempotency_key
from crosswalk.onboarding import made_by_this_run, onboarded_profile
from crosswalk.salesforce_records import SalesforceAccount
from crosswalk.settings import OnboardingSettings

THREADS = 16
"""Accounts in flight at once in one worker, over all its batch activities: enough to keep D2C
busy while the worker's other threads replay orchestrations. One pool for the worker's life,
not threads made per call: the SQLite profile store opens a connection per thread and keeps
it until it closes, so a pool per call took a worker to 1 GB over a 20,000-account load."""

UNDO: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "d2c_deactivate_customer": deactivate_customer,
    "d2c_remove_user": remove_user,
    "profile_remove": remove_profile,
}

_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _side_by_side(work: Callable[[dict[str, Any]], dict[str, Any]], items: list[Any]) -> list:
    global _pool
    if len(items) <= 1:
        return [work(item) for item in items]
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=THREADS, thread_name_prefix="onboard-batch")
    return list(_pool.map(work, items))


@bp.activity_trigger(input_name="payload")
def onboard_batch_d2c(payload: dict) -> dict[str, Any]:
    """Onboard each account on the D2C side; per account its result or its error, and its
    undo ledger either way."""
    instance_id = payload["instance_id"]
    at = datetime.fromisoformat(payload["at"])
    onboarding = OnboardingSettings.from_policy(payload["policy"].get("onboarding"))

    def one(entry: dict[str, Any]) -> dict[str, Any]:
        return _onboard_one(instance_id, at, onboarding, entry)

    return {"accounts": _side_by_side(one, payload["accounts"])}


def _onboard_one(
    instance_id: str, at: datetime, onboarding: OnboardingSettings, entry: dict[str, Any]
) -> dict[str, Any]:
    raw = entry["account"]
    account = SalesforceAccount.model_validate(raw)
    undo: list[list[Any]] = []
    step = "map"
    try:
        plan = plan_onboarding(account, onboarding)
        if not plan.ok or plan.customer is None or plan.primary_user is None:
            raise ValueError("; ".join(str(p) for p in plan.problems) or "no plan")
        step = "lake_put_account_snapshot"
        snapshot = put_account_snapshot({"account": raw})
        step = "d2c_create_customer"
        customer = plan.customer.model_dump(mode="json")
        created = create_or_adopt_customer(
            {
                "customer": customer,
                "idempotency_key": idempotency_key(instance_id, account.Id, "d2c-customer"),
            }
        )
        customer_id = created["customer_id"]
        reason = f"onboarding {instance_id} compensated"
        if made_by_this_run(created):
            undo.append(["d2c_deactivate_customer", {"customer_id": customer_id, "reason": reason}])
        if created.get("reactivate"):  # the undo is in the ledger before it is brought back
            step = "d2c_reactivate_customer"
            back = reactivate_customer(
                {"customer_id": customer_id, "reason": f"onboarding {instance_id}"}
            )
            created = {**created, "version": back["version"]}
        step = "d2c_invite_user"
        invited = invite_or_adopt_user(
            {
                "customer_id": customer_id,
                "invite": plan.primary_user.model_dump(mode="json"),
                "idempotency_key": idempotency_key(instance_id, account.Id, "d2c-user"),
            }
        )
        user_id = invited["user_id"]
        if made_by_this_run(invited):
            undo.append(["d2c_remove_user", {"customer_id": customer_id, "user_id": user_id}])
        step = "profile_upsert"
        profile = onboarded_profile(
            account,
            plan,
            customer_id=customer_id,
            user_id=user_id,
            invited=invited.get("status") == "invited",
            at=at,
            read_at=datetime.fromisoformat(entry["read_at"]) if entry.get("read_at") else None,
        )
        upsert_profile({"profile": profile.model_dump(mode="json")})
        undo.append(["profile_remove", {"sf_account_id": account.Id}])
    except Exception as exc:  # this account's failure, classified; the others go on
        failure = ActivityFailure.parse(exc)
        return {
            "account_id": account.Id,
            "undo": undo,
            "error": {"step": step, "attempts": 1, **failure.as_dict()},
            "retryable": failure.retryable,
        }
    return {
        "account_id": account.Id,
        "undo": undo,
        "result": {
            "d2c_customer_id": customer_id,
            "d2c_primary_user_id": user_id,
            "d2c_version": created["version"],
            "adopted_existing_customer": created["adopted"],
            "reactivated_customer": bool(created.get("reactivate")),
            # what D2C was created with seeds the two-way sync's agreed values (as the saga)
            "agreed": None if created["adopted"] else customer_values(customer),
            "snapshot": snapshot["path"],
            "notes": plan.notes,
            "write_back": {
                "account_id": account.Id,
                "contact_id": plan.primary_contact_id,
                "d2c_customer_id": customer_id,
                "d2c_primary_user_id": user_id,
            },
        },
    }


@bp.activity_trigger(input_name="payload")
def onboard_batch_undo(payload: dict) -> dict[str, Any]:
    """Undo each account's ledger in reverse order, as the saga compensates. Per account:
    the steps undone, the first that failed (with whether a retry may help) and what is left
    (that step and the ones before it), so the orchestrator can try again later."""

    def one(entry: dict[str, Any]) -> dict[str, Any]:
        left = list(entry["undo"])
        done: list[dict[str, Any]] = []
        while left:
            activity, step_payload = left[-1]
            try:
                UNDO[activity](step_payload)
            except Exception as exc:
                failure = ActivityFailure.parse(exc)
                return {
                    "account_id": entry["account_id"],
                    "done": done,
                    "failed": {"step": activity, **failure.as_dict()},
                    "retryable": failure.retryable,
                    "left": left,
                }
            left.pop()
            done.append({"step": activity})
        return {"account_id": entry["account_id"], "done": done, "failed": None, "left": []}

    return {"accounts": _side_by_side(one, payload["accounts"])}


@bp.activity_trigger(input_name="payload")
def onboard_batch_failures(payload: dict) -> dict[str, Any]:
    """The profile store's failure record of each account that failed (never downgrading an
    active profile), as the saga's `profile_record_failure` writes it."""
    recorded = [record_failure(entry) for entry in payload["failures"]]
    return {"recorded": sum(1 for r in recorded if r["recorded"])}
