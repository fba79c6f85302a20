"""`lookup_repair`: reconciliation's last step on a real run, as a sub-orchestration: the
lookup entries of every profile written since the run's window began are made to agree with
the profile, a page of the change feed per activity call (activities/lookup_repair.py).

`repair_lookups` is the call site reconciliation uses: a failure here is logged and reported
in the run's totals, never the run's failure (the entries are repaired again next run).
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

import azure.durable_functions as df

from orchestrators import bp
from orchestrators.steps import RetryPolicy, Step, call_with_retry, custom_status

log = logging.getLogger("crosswalk.reconciliation")


@bp.orchestration_trigger(context_name="context")
def lookup_repair(context: df.DurableOrchestrationContext) -> Step:
    request: dict[str, Any] = context.get_input()
    retry = RetryPolicy.from_input(request.get("retry"))
    cursor: str | None = None
    profiles = changed = 0
    while True:
        context.set_custom_status(custom_status("repairing", step="profile_repair_lookups"))
        done = yield from call_with_retry(
            context,
            "profile_repair_lookups",
            {"since": request["since"], **({"cursor": cursor} if cursor else {})},
            retry,
        )
        profiles += done["profiles"]
        changed += done["entries_changed"]
        cursor = done["cursor"]
        if not done["more"]:
            break
    context.set_custom_status(custom_status("completed"))
    return {"profiles": profiles, "entries_changed": changed}


def repair_lookups(
    context: df.DurableOrchestrationContext, since: datetime, retry: dict[str, Any] | None
) -> Step:
    """Run `lookup_repair` for the window from `since`; the entries it changed, or None."""
    try:
        done = yield context.call_sub_orchestrator(
            "lookup_repair",
            {"since": since.isoformat(), "retry": retry},
            f"{context.instance_id}:lookups",
        )
    except Exception as exc:  # the SDK raises a plain Exception for a failed sub-orchestration
        if not context.is_replaying:
            log.warning("%s: lookup repair failed: %s", context.instance_id, str(exc)[:300])
        return None
    return int(done["entries_changed"])
