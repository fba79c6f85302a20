"""`onboard_batch`: many accounts missing in D2C onboarded by one orchestration (flow 1 in
bulk, for reconciliation's repairs; crosswalk/onboard_batch.py says which accounts qualify).

claim every record (one entity call each, side by side) -> one activity does the D2C side of
all claimed accounts, side by side -> accounts that failed transiently go again after a
durable back-off (same idempotency keys), up to the retry policy's attempts -> each account
that failed for good is undone in reverse order (one activity for all of them) and its record
ends `compensated` (or `needs_attention` when an undo keeps failing), with its failure in the
profile store -> every synced record marked synced (one entity call each, side by side).

The Salesforce write-back is the starter's (reconciliation sends them in collections or
Bulk API 2.0 jobs), so a batch spends nothing of the org's API allowance. Each account's
result has the saga's shape (`outcome`, `write_back`, ...), so the starter judges both alike.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import azure.durable_functions as df

from crosswalk.errors import ActivityFailure
from crosswalk.notifications import NotificationKind
from crosswalk.onboard_batch import (
    BATCH_ACTIVITY,
    BATCH_WORKFLOW,
    FAILURE_ACTIVITY,
    UNDO_ACTIVITY,
    AccountRun,
    BatchAccount,
    BatchInput,
    batchable,
)
from crosswalk.onboarding import OnboardingInput
from crosswalk.sync_status import SyncStatus
from crosswalk.telemetry import metric
from orchestrators import bp
from orchestrators.steps import RetryPolicy, Step, StepFailed, call_with_retry, count, custom_status

BATCH_KEY = -1
"""The batch's key among a reconciliation chunk's repair jobs (the others are indexes)."""


class _Batch:
    def __init__(self, context: df.DurableOrchestrationContext, request: BatchInput) -> None:
        self.context = context
        self.request = request
        self.retry = RetryPolicy.from_input(request.policy.get("retry"))
        self.by_id = {a.account_id: a for a in request.accounts}

    @property
    def now(self) -> str:
        return self.context.current_utc_datetime.isoformat()

    def entities(self, operation: str, bodies: dict[str, dict[str, Any]]) -> Step:
        """One entity operation per account, all side by side; {account_id: result}."""
        ids = list(bodies)
        if not ids:
            return {}
        tasks = [
            self.context.call_entity(
                df.EntityId("record_sync", account_id),
                operation,
                {"instance_id": self.context.instance_id, "at": self.now, **bodies[account_id]},
            )
            for account_id in ids
        ]
        results = yield self.context.task_all(tasks)
        return dict(zip(ids, results, strict=True))

    def step(self, activity: str, payload: dict[str, Any]) -> Step:
        self.context.set_custom_status(
            custom_status("onboarding", step=activity, accounts=len(self.request.accounts))
        )
        return (yield from call_with_retry(self.context, activity, payload, self.retry))


@bp.orchestration_trigger(context_name="context")
def onboard_batch(context: df.DurableOrchestrationContext) -> Step:
    request = BatchInput.model_validate(context.get_input())
    batch = _Batch(context, request)
    claims = yield from batch.entities(
        "claim", {a.account_id: {"modstamp": a.modstamp.isoformat()} for a in request.accounts}
    )
    results: dict[str, dict[str, Any]] = {
        account_id: {"outcome": "skipped", "reason": claim["reason"]}
        for account_id, claim in claims.items()
        if not claim["granted"]
    }
    runs = {
        a.account_id: AccountRun(a.account_id)
        for a in request.accounts
        if a.account_id not in results
    }
    yield from _d2c_side(batch, runs)
    failed = [run for run in runs.values() if run.result is None]
    if failed:
        yield from _undo(batch, failed, results)
    synced = {run.account_id: run for run in runs.values() if run.result is not None}
    yield from batch.entities(
        "synced",
        {
            account_id: {
                "modstamp": batch.by_id[account_id].modstamp.isoformat(),
                "d2c_customer_id": run.result["d2c_customer_id"],
                "d2c_primary_user_id": run.result["d2c_primary_user_id"],
                "fields": run.result["agreed"],
                "d2c_version": run.result["d2c_version"],
            }
            for account_id, run in synced.items()
            if run.result is not None
        },
    )
    for account_id, run in synced.items():
        assert run.result is not None
        kept = {k: v for k, v in run.result.items() if k not in ("agreed", "d2c_version")}
        results[account_id] = {"outcome": "synced", "approval": None, **kept}
    for result in results.values():
        count(context, metric.onboarding_finished, result["outcome"])
    tally: dict[str, int] = {}
    for result in results.values():
        tally[result["outcome"]] = tally.get(result["outcome"], 0) + 1
    context.set_custom_status(custom_status("finished", accounts=len(results), outcomes=tally))
    return {"accounts": results}


def _d2c_side(batch: _Batch, runs: dict[str, AccountRun]) -> Step:
    """The D2C side of every claimed account; transient failures go again after a back-off."""
    context, retry = batch.context, batch.retry
    pending = list(runs)
    delay = retry.first_interval_seconds
    for attempt in range(1, retry.max_attempts + 1):
        if not pending:
            return
        payload = {
            "instance_id": context.instance_id,
            "at": batch.now,
            "policy": {"onboarding": batch.request.policy.get("onboarding") or {}},
            "accounts": [
                {
                    "account_id": a,
                    "account": batch.by_id[a].account,
                    "read_at": _iso(batch.by_id[a].read_at),
                }
                for a in pending
            ],
        }
        try:
            answer = yield from batch.step(BATCH_ACTIVITY, payload)
        except StepFailed as failed:  # the activity itself (not an account) kept failing
            for account_id in pending:
                runs[account_id].error = failed.as_dict()
            return
        again = []
        for entry in answer["accounts"]:
            run = runs[entry["account_id"]]
            run.attempts = attempt
            run.undo = entry["undo"]
            if "result" in entry:
                run.result, run.error = entry["result"], None
                continue
            run.error = {**entry["error"], "attempts": attempt}
            if entry["retryable"]:
                again.append(run.account_id)
        pending = again
        if pending and attempt < retry.max_attempts:
            yield context.create_timer(context.current_utc_datetime + timedelta(seconds=delay))
            delay = min(delay * retry.backoff_coefficient, retry.max_interval_seconds)


def _undo(batch: _Batch, failed: list[AccountRun], results: dict[str, dict[str, Any]]) -> Step:
    """Compensate each failed account as the saga does, then record where it ended."""
    context, retry = batch.context, batch.retry
    ledgers = {run.account_id: list(run.undo) for run in failed}
    done: dict[str, list[dict[str, Any]]] = {run.account_id: [] for run in failed}
    undo_failed: dict[str, dict[str, Any]] = {}
    pending = [run.account_id for run in failed if run.undo]
    delay = retry.first_interval_seconds
    for attempt in range(1, retry.max_attempts + 1):
        if not pending:
            break
        context.set_custom_status(
            custom_status("compensating", accounts=len(pending), attempt=attempt)
        )
        payload = {"accounts": [{"account_id": a, "undo": ledgers[a]} for a in pending]}
        try:
            answer = yield context.call_activity(UNDO_ACTIVITY, payload)
        except Exception as exc:  # the activity itself failed: every pending undo stays owed
            failure = ActivityFailure.parse(exc)
            for account_id in pending:
                undo_failed[account_id] = {"step": UNDO_ACTIVITY, **failure.as_dict()}
            if not failure.retryable:
                break
            answer = {"accounts": []}
        again = []
        for entry in answer["accounts"]:
            account_id = entry["account_id"]
            done[account_id].extend(entry["done"])
            ledgers[account_id] = entry["left"]
            undo_failed.pop(account_id, None)
            if entry["failed"] is not None:
                undo_failed[account_id] = entry["failed"]
                if entry.get("retryable"):
                    again.append(account_id)
        pending = again if answer["accounts"] else pending
        if pending and attempt < retry.max_attempts:
            yield context.create_timer(context.current_utc_datetime + timedelta(seconds=delay))
            delay = min(delay * retry.backoff_coefficient, retry.max_interval_seconds)

    finals: dict[str, dict[str, Any]] = {}
    for run in failed:
        error = run.error or {"step": BATCH_ACTIVITY, "kind": "permanent", "detail": "failed"}
        ledger = {
            "compensated": done[run.account_id],
            "compensation_failed": [undo_failed[run.account_id]]
            if run.account_id in undo_failed
            else [],
            "pending": [step for step, _ in ledgers[run.account_id]]
            if run.account_id in undo_failed
            else [],
            # what is left to undo, with its payloads (ids only): support finishes it
            "left": ledgers[run.account_id] if run.account_id in undo_failed else [],
        }
        if run.account_id in undo_failed:
            final = SyncStatus.NEEDS_ATTENTION
        elif done[run.account_id]:
            final = SyncStatus.COMPENSATED
        else:
            final = SyncStatus.FAILED
        finals[run.account_id] = {
            "status": str(final),
            "error": error,
            "note": str(error.get("detail", ""))[:200],
        }
        results[run.account_id] = {"outcome": str(final), "error": error, "ledger": ledger}
    yield from batch.entities("advance", finals)
    for account_id, final in finals.items():
        if final["status"] == SyncStatus.NEEDS_ATTENTION:
            yield from _notify(batch, account_id, final["error"])
    failures = [
        {
            "sf_account_id": account_id,
            "name": batch.by_id[account_id].account.get("Name"),
            "failure": {**final["error"], "instance_id": context.instance_id},
            "at": batch.now,
        }
        for account_id, final in finals.items()
    ]
    try:
        yield from batch.step(FAILURE_ACTIVITY, {"failures": failures})
    except StepFailed as exc:
        for account_id in finals:
            results[account_id]["ledger"]["failure_record"] = exc.as_dict()


def _notify(batch: _Batch, account_id: str, error: dict[str, Any]) -> Step:
    """Tell people an undo kept failing; a notification that fails never fails the batch."""
    payload = {
        "kind": str(NotificationKind.NEEDS_ATTENTION),
        "account_id": account_id,
        "instance_id": batch.context.instance_id,
        "account_name": batch.by_id[account_id].account.get("Name"),
        "detail": error.get("detail"),
    }
    with contextlib.suppress(StepFailed):
        yield from call_with_retry(batch.context, "notify_people", payload, batch.retry)


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


# ---------------------------------------------------------------- for the starter


def batch_job(
    context: df.DurableOrchestrationContext,
    requests: dict[int, OnboardingInput],
    instance_id: Callable[[], str],
) -> tuple[list[int], Callable[[], Any]] | None:
    """Of a reconciliation chunk's onboardings (by repair index), the ones a batch takes, and
    how to start it; None when fewer than two would go (a saga costs no more then)."""
    taken = [
        index
        for index, request in requests.items()
        if request.account is not None and batchable(request.account, request.policy)
    ]
    if len(taken) < 2:
        return None
    first = requests[taken[0]]
    body = BatchInput(
        accounts=[
            BatchAccount(
                account_id=requests[i].account_id,
                modstamp=requests[i].modstamp,
                account=requests[i].account or {},
                read_at=requests[i].read_at,
            )
            for i in taken
        ],
        policy=first.policy,
    ).model_dump(mode="json")
    child = instance_id()  # named only when there is a batch: replays name the same children
    return taken, lambda: context.call_sub_orchestrator(BATCH_WORKFLOW, body, child)


def spread(
    outcome: tuple[str, Any], taken: list[int], requests: dict[int, OnboardingInput]
) -> dict[int, tuple[str, Any]]:
    """The batch's outcome as each account's, keyed like the chunk's other repairs."""
    kind, value = outcome
    if kind == "error":
        return {index: outcome for index in taken}
    accounts = value["accounts"]
    return {index: ("ok", accounts[requests[index].account_id]) for index in taken}
