"""The rules for acting on an onboarding safely: when to rewind, when to restart, under which
instance id, and when to refuse. The HTTP layer carries them out; this decides.
"""

from __future__ import annotations

import re
from typing import Any

from crosswalk.support.history import decoded
from crosswalk.sync_status import ACTIVE, SyncStatus

RUNNING = frozenset({"Running", "Pending", "Suspended", "ContinuedAsNew"})
ONBOARDING = "account_onboarding"
BATCH_PREFIX = "onboard-batch-"  # orchestrators/onboard_batch.py's instances (reconciliation's)
_RETRY_SUFFIX = re.compile(r"-r(\d+)$")


class Refused(Exception):
    """The action would be unsafe or pointless; a 409 with a code and a reason."""

    def __init__(self, code: str, message: str) -> None:
        self.code, self.message = code, message
        super().__init__(message)


def retry_mode(status: dict[str, Any], requested: str) -> str:
    """`rewind` (a Failed instance resumes where it broke) or `restart` (a new instance)."""
    runtime = status.get("runtimeStatus")
    if status.get("name") != ONBOARDING:
        raise Refused("not_an_onboarding", "only onboardings can be retried")
    if runtime in RUNNING:
        raise Refused("still_running", f"the instance is {runtime}; cancel it first")
    output = decoded(status.get("output"))
    if isinstance(output, dict) and output.get("outcome") == "synced":
        raise Refused("already_synced", "the onboarding completed; nothing to retry")
    if requested == "rewind" and runtime != "Failed":
        raise Refused("not_failed", f"only Failed instances can be rewound (this is {runtime})")
    if requested == "auto":
        return "rewind" if runtime == "Failed" else "restart"
    return requested


def rewind_refusal(error: Exception) -> Refused:
    """The task hub refused a rewind: Azure answers 500 when its storage provider has no
    rewind (a preview feature; the extension's Azure Storage provider has it) or the instance
    is no longer Failed, 410 when it finished otherwise, 404 when it is gone."""
    detail = str(error).replace("\n", " ")[:300]
    return Refused("rewind_unavailable", f"the task hub would not rewind it: {detail}")


def check_record_free(entity: dict[str, Any] | None) -> None:
    """A restart needs the record unclaimed and not already synced."""
    if not entity:
        return
    status = entity.get("status")
    if status == SyncStatus.SYNCED:
        raise Refused("already_synced", "the record is already synced")
    holder = entity.get("current_instance_id")
    if status in ACTIVE and holder and holder.startswith(BATCH_PREFIX):
        raise Refused(
            "held_by_batch",
            f"batch onboarding {holder} holds the record ({status}); it ends on its own (its "
            "retries included): retry after it",
        )
    if status in ACTIVE and holder:
        raise Refused("record_busy", f"instance {holder} holds the record ({status})")


def base_instance_id(instance_id: str) -> str:
    return _RETRY_SUFFIX.sub("", instance_id)


def next_retry_id(instance_id: str, existing: list[str]) -> str:
    """`onboard-<Account>-<stamp>-r<N>`: keeps the record's prefix, so it lists with the rest,
    and the new D2C idempotency keys (derived from the id) are fresh."""
    base = base_instance_id(instance_id)
    numbers = [0]
    for other in existing:
        if other.startswith(base):
            match = _RETRY_SUFFIX.search(other[len(base) :])
            if match:
                numbers.append(int(match.group(1)))
    return f"{base}-r{max(numbers) + 1}"


def cancellable(status: dict[str, Any]) -> None:
    if status.get("name") != ONBOARDING:
        raise Refused("not_an_onboarding", "only onboardings can be cancelled")
    if status.get("runtimeStatus") not in RUNNING:
        raise Refused(
            "not_running", f"the instance is {status.get('runtimeStatus')}; nothing to cancel"
        )


def cancel_instance_id(instance_id: str) -> str:
    return f"support-cancel-{instance_id}"


def undo_finishable(status: dict[str, Any]) -> None:
    """Only an onboarding that ended `needs_attention` (an undo step kept failing) has an
    undo left to finish."""
    if status.get("name") != ONBOARDING:
        raise Refused("not_an_onboarding", "only onboardings have an undo to finish")
    output = decoded(status.get("output"))
    outcome = output.get("outcome") if isinstance(output, dict) else None
    if status.get("runtimeStatus") != "Completed" or outcome != SyncStatus.NEEDS_ATTENTION:
        raise Refused(
            "nothing_to_undo",
            f"the instance is {status.get('runtimeStatus')} ({outcome or 'no outcome'}); "
            "only one that ended needs_attention has an undo to finish",
        )


def next_undo_id(instance_id: str, existing: list[str]) -> str:
    """`support-undo-<instance>[-<N>]`: a new id for each attempt, so each keeps its history."""
    return next_undo_id_from(f"support-undo-{instance_id}", existing)


def next_undo_id_from(base: str, existing: list[str]) -> str:
    taken = set(existing)
    if base not in taken:
        return base
    n = 2
    while f"{base}-{n}" in taken:
        n += 1
    return f"{base}-{n}"
