"""Building blocks every orchestrator shares: retried steps, the saga ledger, custom status.

Durable Functions' own retry options retry every failure alike; Crosswalk must not retry a
permanent one (a 409 stays a 409), so the retry loop lives here: it reads the error kind from
the failure text (crosswalk.errors.ActivityFailure) and waits on durable timers between
attempts, which the virtual clock of devhost also drives.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import azure.durable_functions as df

from crosswalk.bounded import within
from crosswalk.errors import ActivityFailure

Step = Generator[Any, Any, Any]


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


def call_with_retry(
    context: df.DurableOrchestrationContext, activity: str, payload: Any, policy: RetryPolicy
) -> Step:
    """Call an activity; retry transient failures with back-off, never permanent ones."""
    delay = policy.first_interval_seconds
    attempt = 0
    while True:
        attempt += 1
        try:
            return (yield context.call_activity(activity, payload))
        except Exception as exc:  # the SDK raises a plain Exception carrying the failure text
            failure = ActivityFailure.parse(exc)
            if not failure.retryable or attempt >= policy.max_attempts:
                raise StepFailed(activity, failure, attempt) from None
        yield context.create_timer(context.current_utc_datetime + timedelta(seconds=delay))
        delay = min(delay * policy.backoff_coefficient, policy.max_interval_seconds)


@dataclass(slots=True)
class Saga:
    """The compensation ledger: each completed step registers its undo right after it."""

    pending: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    done: list[dict[str, Any]] = field(default_factory=list)
    failed: list[dict[str, Any]] = field(default_factory=list)

    def register(self, activity: str, payload: dict[str, Any]) -> None:
        self.pending.append((activity, payload))

    def compensate(self, context: df.DurableOrchestrationContext, policy: RetryPolicy) -> Step:
        """Undo in reverse order; a compensation that still fails is kept, not hidden."""
        while self.pending:
            activity, payload = self.pending.pop()
            try:
                yield from call_with_retry(context, activity, payload, policy)
                self.done.append({"step": activity})
            except StepFailed as exc:
                self.failed.append(exc.as_dict())

    def ledger(self) -> dict[str, Any]:
        return {
            "compensated": list(self.done),
            "compensation_failed": list(self.failed),
            "pending": [activity for activity, _ in self.pending],
        }


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
