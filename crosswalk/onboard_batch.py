"""Batched onboarding: the accounts a reconciliation finds missing in D2C, many per
orchestration, with the per-account saga's guarantees (orchestrators/onboard_batch.py).

Only accounts that need no person go into a batch: they qualify, map cleanly and no approval
rule asks about them. Everything else keeps the per-account saga (`account_onboarding`),
which knows how to wait days for an approval and how to report invalid data.

Per account a batch keeps what the saga keeps: a claim on the record's `record_sync` entity
(held by the batch's instance; a second onboarding is refused), idempotency keys derived from
the batch's instance id and the account (a retried activity gets the first answer back),
an undo ledger (what was made by this run, undone in reverse order when the account fails for
good), and the same final entity states and failure record.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict

from crosswalk.ids import SalesforceAccountId
from crosswalk.mapping import plan_onboarding
from crosswalk.rules import approval_reasons, qualifies_for_onboarding
from crosswalk.salesforce_records import SalesforceAccount
from crosswalk.settings import ApprovalSettings, OnboardingSettings

BATCH_WORKFLOW = "onboard_batch"
BATCH_ACTIVITY = "onboard_batch_d2c"
UNDO_ACTIVITY = "onboard_batch_undo"
FAILURE_ACTIVITY = "onboard_batch_failures"


class BatchAccount(BaseModel):
    model_config = ConfigDict(extra="forbid")

    account_id: SalesforceAccountId
    modstamp: AwareDatetime
    account: dict[str, Any]
    """The Account with its Contacts as the scan read it (the batch never reads it again)."""
    read_at: AwareDatetime | None = None
    """When the scan's read began (the profile's people are written only if no later read
    wrote them)."""


class BatchInput(BaseModel):
    """What the starter (a reconciliation chunk) hands an `onboard_batch` instance."""

    model_config = ConfigDict(extra="forbid")

    accounts: list[BatchAccount]
    policy: dict[str, Any]
    """approval, onboarding and retry, snapshotted by the starter like the saga's input."""


def batchable(account: dict[str, Any], policy: dict[str, Any]) -> bool:
    """Can this account be onboarded in a batch: it qualifies, maps cleanly, and no approval
    rule asks a person about it? (Every other account keeps the per-account saga.)

    Remembered per Account (with its Contacts) and policy: the starter's orchestration asks
    again on every replay."""
    return _batchable(json.dumps(account), json.dumps(policy, sort_keys=True))


@functools.lru_cache(maxsize=4096)
def _batchable(account_json: str, policy_json: str) -> bool:
    policy = json.loads(policy_json)
    onboarding = OnboardingSettings.from_policy(policy.get("onboarding"))
    approval = ApprovalSettings.from_policy(policy.get("approval"))
    parsed = SalesforceAccount.model_validate_json(account_json)
    if not qualifies_for_onboarding(parsed, onboarding):
        return False
    if not plan_onboarding(parsed, onboarding).ok:
        return False
    return not approval_reasons(parsed, approval)


def idempotency_key(instance_id: str, account_id: str, step: str) -> str:
    """Deterministic per batch instance, account and step: a retry gets the first answer."""
    return f"{instance_id}:{account_id}:{step}"


@dataclass(slots=True)
class AccountRun:
    """Where one account of a batch stands, as the orchestrator tracks it."""

    account_id: str
    attempts: int = 0
    result: dict[str, Any] | None = None
    """The D2C side's answer once it succeeded (ids, versions, the plan's write-back)."""
    undo: list[list[Any]] = field(default_factory=list)
    """[activity, payload] pairs in the order the steps completed (undone in reverse)."""
    error: dict[str, Any] | None = None
    outcome: str | None = None
