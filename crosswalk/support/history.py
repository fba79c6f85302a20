"""Reading an onboarding's Durable history (`showHistory` + `showHistoryOutput`) as steps.

The orchestrator registers one compensation per forward step (orchestrators/account_onboarding
.py); `COMPENSATION_OF` mirrors that so support can say what was done, what was undone, and
what a cancellation still has to undo.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from crosswalk.onboarding import made_by_this_run

COMPENSATION_OF = {
    "d2c_create_customer": "d2c_deactivate_customer",
    "d2c_invite_user": "d2c_remove_user",
    "profile_upsert": "profile_remove",
    "sf_write_back_d2c_ids": "sf_clear_d2c_ids",
}
COMPENSATIONS = frozenset(COMPENSATION_OF.values())


@dataclass(slots=True)
class StepRun:
    """One activity call: scheduled, then completed, failed, or still in flight."""

    name: str
    scheduled_at: str | None
    ended_at: str | None = None
    outcome: str = "in_flight"
    result: Any = None
    error: str | None = None
    attempts: int = 1
    extra: dict[str, Any] = field(default_factory=dict)


def decoded(value: Any) -> Any:
    """History payloads can arrive as JSON text (sometimes twice encoded); undo that."""
    for _ in range(2):
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                return value
    return value


def step_runs(history: list[dict[str, Any]]) -> list[StepRun]:
    """Activity calls in the order they ended, from `historyEvents` as the extension shows them.

    The Durable extension folds a finished task's `TaskScheduled` into its `TaskCompleted` /
    `TaskFailed` (`FunctionName`, `ScheduledTime`) and removes it, so a completion is a whole
    run and a `TaskScheduled` that is left is a step still in flight. A completion that only
    closes an earlier `TaskScheduled` of the same name and time (a host that keeps both) is
    paired with it instead of counted twice.
    """
    runs: list[StepRun] = []
    open_runs: list[StepRun] = []
    for event in history:
        kind = event.get("EventType")
        name = event.get("FunctionName") or event.get("Name") or ""
        if kind == "TaskScheduled":
            run = StepRun(name=name, scheduled_at=event.get("Timestamp"))
            runs.append(run)
            open_runs.append(run)
        elif kind in ("TaskCompleted", "TaskFailed"):
            scheduled_at = event.get("ScheduledTime")
            match = next(
                (r for r in open_runs if r.name == name and r.scheduled_at == scheduled_at), None
            )
            if match is None:
                match = StepRun(name=name, scheduled_at=scheduled_at)
                runs.append(match)
            else:
                open_runs.remove(match)
            match.ended_at = event.get("Timestamp")
            if kind == "TaskCompleted":
                match.outcome, match.result = "completed", decoded(event.get("Result"))
            else:
                match.outcome = "failed"
                match.error = str(event.get("Reason") or event.get("Details") or "")[:2000]
    return _fold_retries(runs)


def _fold_retries(runs: list[StepRun]) -> list[StepRun]:
    """Failed attempts followed by another call of the same step become one run with a count."""
    folded: list[StepRun] = []
    for run in runs:
        last = folded[-1] if folded else None
        if last is not None and last.name == run.name and last.outcome == "failed":
            run.attempts = last.attempts + 1
            folded[-1] = run
        else:
            folded.append(run)
    return folded


def ledger(status: dict[str, Any]) -> dict[str, Any]:
    """Steps done, compensations run / failed / still pending, for any instance state.

    A finished saga reports its own ledger in the output; for a running, failed or
    terminated one it is worked out from the history.
    """
    runs = step_runs(status.get("historyEvents") or [])
    done = [r.name for r in runs if r.outcome == "completed" and r.name not in COMPENSATIONS]
    output = decoded(status.get("output"))
    own = output.get("ledger") if isinstance(output, dict) else None
    if isinstance(own, dict):
        return {
            "steps_done": done,
            "compensated": [c.get("step") for c in own.get("compensated", [])],
            "compensation_failed": own.get("compensation_failed", []),
            "pending": list(own.get("pending", [])),
            "in_flight": [],
        }
    compensated = [r.name for r in runs if r.outcome == "completed" and r.name in COMPENSATIONS]
    failed = [
        {"step": r.name, "attempts": r.attempts, "detail": r.error}
        for r in runs
        if r.outcome == "failed" and r.name in COMPENSATIONS
    ]
    owed = [COMPENSATION_OF[name] for name in reversed(done) if name in COMPENSATION_OF]
    pending = [c for c in owed if c not in compensated]
    synced = isinstance(output, dict) and output.get("outcome") == "synced"
    return {
        "steps_done": done,
        "compensated": compensated,
        "compensation_failed": failed,
        "pending": [] if synced else pending,
        "in_flight": [r.name for r in runs if r.outcome == "in_flight"],
    }


def compensation_plan(
    history: list[dict[str, Any]], account_id: str, reason: str
) -> tuple[list[dict[str, Any]], list[str]]:
    """What a cancellation must undo, newest first, and the steps left in flight.

    A step still in flight when the instance was terminated may yet take effect; it cannot be
    undone from here (its result is unknown), so the caller treats it as needing a person.
    """
    runs = step_runs(history)
    already = {r.name for r in runs if r.outcome == "completed" and r.name in COMPENSATIONS}
    results = {r.name: r.result for r in runs if r.outcome == "completed"}
    customer_id = (results.get("d2c_create_customer") or {}).get("customer_id")
    plan: list[dict[str, Any]] = []
    for run in reversed(runs):
        if run.outcome != "completed" or run.name not in COMPENSATION_OF:
            continue
        undo = COMPENSATION_OF[run.name]
        if undo in already:
            continue
        result = run.result or {}
        if not made_by_this_run(result):
            continue  # adopted as found: the undo leaves it as it was
        if run.name == "d2c_create_customer":
            payload = {"customer_id": result.get("customer_id"), "reason": reason[:500]}
        elif run.name == "d2c_invite_user":
            payload = {"customer_id": customer_id, "user_id": result.get("user_id")}
        elif run.name == "profile_upsert":
            payload = {"sf_account_id": account_id}
        else:
            payload = {"account_id": account_id}
        plan.append({"activity": undo, "payload": payload})
    in_flight = [r.name for r in runs if r.outcome == "in_flight"]
    return plan, in_flight
