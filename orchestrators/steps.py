"""Building blocks every orchestrator shares: retried steps, the saga ledger, custom status.

Durable Functions' own retry options retry every failure alike; Crosswalk must not retry a
permanent one (a 409 stays a 409), so the retry loop lives here: it reads the error kind from
the failure text (crosswalk.errors.ActivityFailure) and waits on durable timers between
attempts, which the virtual clock of devhost also drives.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import azure.durable_functions as df
from azure.durable_functions.models.history import HistoryEventType

from crosswalk.bounded import within
from crosswalk.errors import ActivityFailure
from crosswalk.telemetry import TRACE_KEY, metric

Step = Generator[Any, Any, Any]

ALLOWANCE_WAIT_SECONDS = 900.0  # when a failure does not say how long (Salesforce's own 403)
ALLOWANCE_PATIENCE = timedelta(hours=48)  # two rolling windows: then it is not a budget
WAITING_FOR_ALLOWANCE = "salesforce_allowance"


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    first_interval_seconds: float = 5
    backoff_coefficient: float = 2.0
    max_interval_seconds: float = 300
    max_attempts: int = 5

    @classmethod
    def from_input(cls, raw: dict[str, Any] | None) -> RetryPolicy:
        return cls(**(raw or {}))


class StepFailed(Exception):
    """A step failed for good: permanent, or transient with every attempt spent."""

    def __init__(self, step: str, failure: ActivityFailure, attempts: int) -> None:
        self.step = step
        self.failure = failure
        self.attempts = attempts
        super().__init__(f"{step} failed after {attempts} attempt(s): {failure.detail}")

    def as_dict(self) -> dict[str, Any]:
        return {"step": self.step, "attempts": self.attempts, **self.failure.as_dict()}


def workflow_name(context: df.DurableOrchestrationContext) -> str | None:
    """The orchestrator's own name, as its history's ExecutionStarted event records it."""
    for event in context.histories:
        if event.event_type == HistoryEventType.EXECUTION_STARTED:
            return event.Name
    return None


def traced(
    context: df.DurableOrchestrationContext,
    activity: str,
    payload: Any,
    subject: Mapping[str, Any] | None,
    *,
    attempt: int = 1,
    compensation: bool = False,
) -> Any:
    """The activity's input with its workflow's correlation under `_trace` (telemetry).

    Built from the context and the orchestrator's input only, so it is the same on every
    replay; the activity's span takes it off before the activity sees its input.
    """
    if not isinstance(payload, dict):
        return payload
    info = {
        "instance_id": context.instance_id,
        "workflow": workflow_name(context),
        "attempt": attempt,
        **({"compensation": True} if compensation else {}),
        **{k: v for k, v in (subject or {}).items() if v is not None},
    }
    return {**payload, TRACE_KEY: info}


def count(context: df.DurableOrchestrationContext, record: Callable[..., None], *args: Any) -> None:
    """Record a metric from an orchestrator once: never while it replays what already ran."""
    if not context.is_replaying:
        record(*args)


def call_with_retry(
    context: df.DurableOrchestrationContext,
    activity: str,
    payload: Any,
    policy: RetryPolicy,
    *,
    subject: Mapping[str, Any] | None = None,
    compensation: bool = False,
) -> Step:
    """Call an activity; retry transient failures with back-off, never permanent ones.

    `subject` names what the workflow is about (`sf_account_id`, `d2c_customer_id`,
    `traceparent`) for the activity's span and logs.
    """
    delay = policy.first_interval_seconds
    attempt = 0
    waited = timedelta(0)
    while True:
        attempt += 1
        sent = traced(
            context, activity, payload, subject, attempt=attempt, compensation=compensation
        )
        try:
            return (yield context.call_activity(activity, sent))
        except Exception as exc:  # the SDK raises a plain Exception carrying the failure text
            failure = ActivityFailure.parse(exc)
            if failure.waits_for_allowance and waited < ALLOWANCE_PATIENCE:
                attempt -= 1  # a budget, not a fault: it spends no attempt
                waited += yield from wait_for_allowance(context, activity, failure)
                continue
            if not failure.retryable or attempt >= policy.max_attempts:
                raise StepFailed(activity, failure, attempt) from None
        yield context.create_timer(context.current_utc_datetime + timedelta(seconds=delay))
        delay = min(delay * policy.backoff_coefficient, policy.max_interval_seconds)


def wait_for_allowance(
    context: df.DurableOrchestrationContext, step: str, failure: ActivityFailure
) -> Step:
    """Wait on a durable timer until Salesforce's daily allowance may have recovered, with
    `waiting_for: salesforce_allowance` in the custom status meanwhile (then the status the
    workflow had before). Returns how long it waited."""
    pause = timedelta(seconds=failure.after or ALLOWANCE_WAIT_SECONDS)
    until = context.current_utc_datetime + pause
    before = context.custom_status
    status = dict(before) if isinstance(before, dict) else custom_status("waiting")
    status.update(
        waiting_for=WAITING_FOR_ALLOWANCE,
        allowance={"step": step, "until": until.isoformat(), "detail": failure.detail[:300]},
    )
    context.set_custom_status(status)
    count(context, metric.allowance_waited, workflow_name(context) or "unknown")
    yield context.create_timer(until)
    context.set_custom_status(before)
    return pause


@dataclass(slots=True)
class Saga:
    """The compensation ledger: each completed step registers its undo right after it."""

    pending: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    done: list[dict[str, Any]] = field(default_factory=list)
    failed: list[dict[str, Any]] = field(default_factory=list)

    def register(self, activity: str, payload: dict[str, Any]) -> None:
        self.pending.append((activity, payload))

    def compensate(
        self,
        context: df.DurableOrchestrationContext,
        policy: RetryPolicy,
        *,
        subject: Mapping[str, Any] | None = None,
    ) -> Step:
        """Undo in reverse order; a compensation that still fails is kept, not hidden."""
        while self.pending:
            activity, payload = self.pending.pop()
            try:
                yield from call_with_retry(
                    context, activity, payload, policy, subject=subject, compensation=True
                )
                self.done.append({"step": activity})
                count(context, metric.compensation_finished, activity, "done")
            except StepFailed as exc:
                self.failed.append(exc.as_dict())
                count(context, metric.compensation_finished, activity, "failed")

    def ledger(self) -> dict[str, Any]:
        return {
            "compensated": list(self.done),
            "compensation_failed": list(self.failed),
            "pending": [activity for activity, _ in self.pending],
        }


class Run:
    """What a workflow run has at hand: its context, its record's entity, its retry policy.

    Subclasses set these in `__init__`, with `stage` (the custom status while a step runs) and
    `subject` (what the steps' spans and logs are about). Entity operations carry the instance
    id and the orchestration's own clock, so a replay sends the same bodies.
    """

    stage = "running"
    context: df.DurableOrchestrationContext
    entity: df.EntityId
    retry: RetryPolicy
    subject: dict[str, Any]

    @property
    def now(self) -> str:
        return self.context.current_utc_datetime.isoformat()

    def entity_op(self, operation: str, **payload: Any) -> Step:
        body = {"instance_id": self.context.instance_id, "at": self.now, **payload}
        return (yield self.context.call_entity(self.entity, operation, body))

    def step(self, activity: str, payload: dict[str, Any]) -> Step:
        self.context.set_custom_status(custom_status(self.stage, step=activity))
        return (
            yield from call_with_retry(
                self.context, activity, payload, self.retry, subject=self.subject
            )
        )


def custom_status(
    stage: str,
    *,
    step: str | None = None,
    waiting_for: str | None = None,
    reasons: list[Any] | None = None,
    error: dict[str, Any] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """The custom-status shape support staff read: `{stage, step, waiting_for, reasons, error}`,
    cut down to fit the extension's 16 KB limit (crosswalk.bounded)."""
    return within(
        {
            "stage": stage,
            "step": step,
            "waiting_for": waiting_for,
            "reasons": reasons or [],
            "error": error,
            **extra,
        }
    )
