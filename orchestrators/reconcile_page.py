"""One execution of a reconciliation run: the context, the run's input and the shortcuts every
step of the orchestrator and its `reconcile_repairs` chunks uses."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import azure.durable_functions as df

from crosswalk.reconcile_run import WATERMARK_ENTITY, WATERMARK_KEY, RunInput
from orchestrators.steps import RetryPolicy, Step, call_with_retry, custom_status


class Page:
    """One execution: the context, the run's input and the shortcuts every step uses."""

    def __init__(self, context: df.DurableOrchestrationContext, run: RunInput) -> None:
        self.context = context
        self.run = run
        self.retry = RetryPolicy.from_input(run.policy.get("retry"))
        reconcile = run.policy.get("reconcile") or {}
        self.reconcile = reconcile
        self.page_size = int(reconcile.get("page_size", 2000))
        self.fanout = int(reconcile.get("fanout", 50))
        self.stuck_after = timedelta(hours=float(reconcile.get("stuck_after_hours", 24)))
        self.bulk_threshold = int(reconcile.get("bulk_threshold", 2000))
        self.bulk_scan_threshold = int(reconcile.get("bulk_scan_threshold", 10_000))
        self.results_page = int(reconcile.get("bulk_results_page", 50_000))
        self.watermark = df.EntityId(WATERMARK_ENTITY, WATERMARK_KEY)

    @property
    def now(self) -> datetime:
        return self.context.current_utc_datetime

    def step(self, activity: str, payload: dict[str, Any]) -> Step:
        return (yield from call_with_retry(self.context, activity, payload, self.retry))

    def status(self, stage: str, **extra: Any) -> None:
        self.context.set_custom_status(
            custom_status(stage, run_id=self.run.run_id, page=self.run.page, **extra)
        )
