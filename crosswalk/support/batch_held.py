"""Support's actions on a record a batched onboarding (`onboard_batch`, reconciliation's
RECONCILE_ONBOARD_IN_BATCHES) holds or held. A batch is one instance for many accounts, so
an action names the account too (`accountId`), and what it may do differs from a saga's:

- *Retry*: a batch that ended restarts this account alone as its own `account_onboarding`
  (`onboard-<Account>-<modstamp>-r<N>`, fresh D2C idempotency keys); a Failed batch is
  rewound whole (it resumes where it broke, every account with it, the same keys); a running
  one is refused: it ends on its own.
- *Cancel*: refused. Terminating a batch would stop every account in it, and its undo ledger
  is per account; it ends on its own, then Retry or Finish the undo act on this account.
- *Finish the undo*: the steps the batch could not undo for this account (its output keeps
  them) run again, as a saga's do.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from crosswalk.support.actions import BATCH_PREFIX, RUNNING, Refused
from crosswalk.support.history import decoded
from crosswalk.sync_state import SyncStatus

BATCH = "onboard_batch"


def is_batch(status: dict[str, Any]) -> bool:
    return status.get("name") == BATCH


def batch_ids(entity: dict[str, Any] | None) -> list[str]:
    """The batches a record's entity names (holding it, or in its transitions)."""
    if not isinstance(entity, dict):
        return []
    named = [t.get("instance_id") for t in entity.get("transitions") or [] if isinstance(t, dict)]
    named += [entity.get("last_instance_id"), entity.get("current_instance_id")]
    return list(
        dict.fromkeys(n for n in named if isinstance(n, str) and n.startswith(BATCH_PREFIX))
    )


def batch_instance(status: dict[str, Any], account_id: str) -> dict[str, Any]:
    """A batch as one record's page shows it: this account's outcome and undo ledger only
    (the other accounts are theirs), and `accountId`, which its actions send."""
    output = decoded(status.get("output"))
    results = output.get("accounts") if isinstance(output, dict) else None
    result = (results or {}).get(account_id) or {}
    own = result.get("ledger") or {}
    return {
        "instanceId": status.get("instanceId"),
        "name": status.get("name"),
        "accountId": account_id,
        "runtimeStatus": status.get("runtimeStatus"),
        "createdTime": status.get("createdTime"),
        "lastUpdatedTime": status.get("lastUpdatedTime"),
        "customStatus": decoded(status.get("customStatus")),
        "output": {k: v for k, v in result.items() if k != "ledger"} or None,
        "ledger": {
            "steps_done": [],
            "compensated": [c.get("step") for c in own.get("compensated", [])],
            "compensation_failed": own.get("compensation_failed", []),
            "pending": list(own.get("pending", [])),
            "in_flight": [],
        },
    }


def _accounts_in(status: dict[str, Any]) -> dict[str, dict[str, Any]]:
    data = decoded(status.get("input"))
    listed = data.get("accounts") if isinstance(data, dict) else None
    return {a["account_id"]: a for a in listed or [] if isinstance(a, dict)}


def batch_account(status: dict[str, Any], account_id: str) -> tuple[datetime, dict | None]:
    """This account's modstamp in the batch and its result (None while the batch runs);
    refused when the batch never had it."""
    accounts = _accounts_in(status)
    if account_id not in accounts:
        raise Refused(
            "not_in_batch",
            f"batch onboarding {status.get('instanceId')} has no account {account_id} "
            f"({len(accounts)} accounts)",
        )
    output = decoded(status.get("output"))
    results = output.get("accounts") if isinstance(output, dict) else None
    result = (results or {}).get(account_id)
    return datetime.fromisoformat(accounts[account_id]["modstamp"]), result


def still_running(status: dict[str, Any]) -> Refused:
    return Refused(
        "held_by_batch",
        f"batch onboarding {status.get('instanceId')} holds this record with "
        f"{len(_accounts_in(status)) - 1} other accounts and is {status.get('runtimeStatus')}; "
        "a batch cannot be cancelled or retried for one account. It ends on its own (its "
        "retries included): then Retry or Finish the undo on this record act on it alone.",
    )


def cancel_refusal(status: dict[str, Any]) -> Refused:
    """A batch is never cancelled from support: why, and what to do instead."""
    if status.get("runtimeStatus") in RUNNING:
        return still_running(status)
    return Refused(
        "not_running",
        f"batch onboarding {status.get('instanceId')} is {status.get('runtimeStatus')}; "
        "nothing to cancel. Retry or Finish the undo act on this record alone.",
    )


def batch_retry_mode(status: dict[str, Any], account_id: str, requested: str) -> str:
    """`rewind` (a Failed batch resumes, every account with it) or `restart` (this account
    alone, as its own saga)."""
    runtime = status.get("runtimeStatus")
    if runtime in RUNNING:
        raise still_running(status)
    _, result = batch_account(status, account_id)
    if runtime == "Failed":
        if requested == "restart":
            raise Refused(
                "batch_failed",
                f"batch onboarding {status.get('instanceId')} failed and still holds its "
                "records; rewind it (mode rewind or auto) so it finishes every account",
            )
        return "rewind"
    if requested == "rewind":
        raise Refused(
            "not_failed",
            f"only a Failed batch is rewound (this one is {runtime}); mode restart or auto "
            "starts this account's own onboarding",
        )
    if isinstance(result, dict) and result.get("outcome") == "synced":
        raise Refused("already_synced", "the batch synced this account; nothing to retry")
    return "restart"


def batch_undo_plan(status: dict[str, Any], account_id: str) -> list[dict[str, Any]]:
    """What the batch could not undo for this account, newest first (support_cancel's plan)."""
    runtime = status.get("runtimeStatus")
    if runtime in RUNNING:
        raise still_running(status)
    _, result = batch_account(status, account_id)
    outcome = result.get("outcome") if isinstance(result, dict) else None
    if runtime != "Completed" or outcome != SyncStatus.NEEDS_ATTENTION:
        raise Refused(
            "nothing_to_undo",
            f"the batch is {runtime} and this account {outcome or 'has no outcome'}; only an "
            "account it left needs_attention has an undo to finish",
        )
    assert isinstance(result, dict)
    left = (result.get("ledger") or {}).get("left")
    if not left:
        pending = ", ".join((result.get("ledger") or {}).get("pending") or []) or "unknown"
        raise Refused(
            "undo_not_recorded",
            f"this batch ran before batches kept what was left to undo (pending: {pending}); "
            "undo those steps in D2C and the profile store by hand",
        )
    return [{"activity": step, "payload": payload} for step, payload in reversed(left)]


def batch_undo_base(instance_id: str, account_id: str) -> str:
    """`support-undo-onboard-<Account>-<batch id>`: listed with the record's instances."""
    return f"support-undo-onboard-{account_id}-{instance_id}"
