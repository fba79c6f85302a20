"""What one `account_onboarding` run (orchestrators/account_onboarding.py) has at hand, and
how it tells people: its context, input, entity, settings and undo ledger."""

from __future__ import annotations

import logging
from typing import Any

import azure.durable_functions as df

from crosswalk.notifications import NotificationKind
from crosswalk.onboarding import OnboardingInput
from crosswalk.settings import ApprovalSettings, OnboardingSettings
from orchestrators.steps import RetryPolicy, Run, Saga, Step, StepFailed, call_with_retry


class OnboardingRun(Run):
    """What one onboarding needs at hand: the context, its input, its entity and its ledger."""

    stage = "onboarding"

    def __init__(self, context: df.DurableOrchestrationContext, request: OnboardingInput) -> None:
        self.context = context
        self.request = request
        self.entity = df.EntityId("record_sync", request.account_id)
        self.retry = RetryPolicy.from_input(request.policy.get("retry"))
        self.approval = ApprovalSettings.from_policy(request.policy.get("approval", {}))
        self.onboarding = OnboardingSettings.from_policy(request.policy.get("onboarding", {}))
        self.saga = Saga()
        self.account_name: str | None = None  # known once the Account is read
        self.read_at = request.read_at  # when the read the profile's people come from began
        # what each step's span and logs are about (the D2C id joins once it exists)
        self.subject: dict[str, Any] = {
            "sf_account_id": request.account_id,
            "traceparent": request.traceparent,
        }

    def read(self) -> Step:
        """The Account with its Contacts, read now. `read_at` is the orchestration's clock as
        it asks for the read (deterministic, never later than the read began)."""
        self.read_at = self.context.current_utc_datetime
        return (yield from self.step("sf_read_account", {"account_id": self.request.account_id}))

    def key(self, step: str) -> str:
        return f"{self.context.instance_id}:{step}"


def notify(run: OnboardingRun, kind: NotificationKind, **fields: Any) -> Step:
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
