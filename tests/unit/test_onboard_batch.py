"""Which missing accounts a reconciliation chunk onboards in a batch, and how the batch's
answer becomes each account's (orchestrators/onboard_batch.py, crosswalk/onboard_batch.py)."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from crosswalk.onboard_batch import BatchInput, batchable
from crosswalk.onboarding import OnboardingInput
from crosswalk.settings import ApprovalSettings
from orchestrators.onboard_batch import batch_job, spread

PAYLOAD = Path(__file__).parent.parent / "payloads" / "account_with_contacts.json"
POLICY: dict[str, Any] = {"approval": {}, "onboarding": {}, "retry": {}}


def _account(account_id: str, **changes: Any) -> dict[str, Any]:
    raw = json.loads(PAYLOAD.read_text())
    for contact in raw["Contacts"]["records"]:
        contact["AccountId"] = account_id
    return {**raw, "Id": account_id, **changes}


def _request(account: dict[str, Any]) -> OnboardingInput:
    return OnboardingInput(
        account_id=account["Id"],
        modstamp=datetime.fromisoformat("2024-05-02T08:00:01+00:00"),
        source="reconciliation",
        policy=POLICY,
        account=account,
        defer_write_back=True,
    )


class _Context:
    """Records the sub-orchestration a batch job would start (a test double of the SDK's
    orchestration context: the start is what is checked, not the Durable host)."""

    def __init__(self) -> None:
        self.started: list[tuple[str, dict[str, Any], str]] = []

    def call_sub_orchestrator(self, name: str, body: dict[str, Any], instance_id: str) -> str:
        self.started.append((name, body, instance_id))
        return "task"


def test_only_accounts_that_qualify_map_and_need_no_approval_are_batchable():
    plain = _account("001RM000004UF9sYAG")

    assert batchable(plain, POLICY)
    assert not batchable({**plain, "Type": "Prospect"}, POLICY)  # does not qualify
    assert not batchable({**plain, "Name": ""}, POLICY)  # cannot map
    assert not batchable({**plain, "Credit_Limit__c": 900_000.0}, POLICY)  # asks a person


def test_a_chunk_batches_its_plain_accounts_and_leaves_the_rest_to_their_sagas():
    accounts = {
        0: _account("001RM000004UF9aYAG"),
        2: _account("001RM000004UF9bYAG", Credit_Limit__c=900_000.0),
        3: _account("001RM000004UF9cYAG"),
    }
    requests = {index: _request(account) for index, account in accounts.items()}
    context = _Context()

    job = batch_job(context, requests, lambda: "onboard-batch-run-p1-x1")  # type: ignore[arg-type]

    assert job is not None
    taken, start = job
    assert taken == [0, 3]
    assert start() == "task"
    ((name, body, instance_id),) = context.started
    assert (name, instance_id) == ("onboard_batch", "onboard-batch-run-p1-x1")
    batch = BatchInput.model_validate(body)
    assert [a.account_id for a in batch.accounts] == ["001RM000004UF9aYAG", "001RM000004UF9cYAG"]


def test_each_batched_account_keeps_when_the_scan_read_it():
    read_at = datetime.fromisoformat("2024-05-02T09:15:00+00:00")
    requests = {
        i: _request(_account(a)).model_copy(update={"read_at": read_at})
        for i, a in enumerate(["001RM000004UF9aYAG", "001RM000004UF9cYAG"])
    }
    context = _Context()

    job = batch_job(context, requests, lambda: "onboard-batch-run-p1-x1")  # type: ignore[arg-type]

    assert job is not None
    job[1]()
    batch = BatchInput.model_validate(context.started[0][1])
    assert [a.read_at for a in batch.accounts] == [read_at, read_at]


def test_a_single_plain_account_keeps_its_saga():
    requests = {0: _request(_account("001RM000004UF9aYAG"))}

    assert batch_job(_Context(), requests, lambda: "unused") is None  # type: ignore[arg-type]


def test_the_batch_answer_becomes_each_accounts_outcome_and_its_failure_everyones():
    requests = {i: _request(_account(f"001RM000004UF9{c}YAG")) for i, c in ((0, "a"), (3, "c"))}
    answer = {
        "accounts": {
            "001RM000004UF9aYAG": {"outcome": "synced"},
            "001RM000004UF9cYAG": {"outcome": "compensated"},
        }
    }

    assert spread(("ok", answer), [0, 3], requests) == {
        0: ("ok", {"outcome": "synced"}),
        3: ("ok", {"outcome": "compensated"}),
    }
    assert spread(("error", "boom"), [0, 3], requests) == {
        0: ("error", "boom"),
        3: ("error", "boom"),
    }


def test_a_policy_snapshot_wins_over_the_environment_and_is_validated_once(monkeypatch):
    monkeypatch.setenv("APPROVAL_CREDIT_LIMIT_THRESHOLD", "5")
    snapshot = {"credit_limit_threshold": 123.0}

    first = ApprovalSettings.from_policy(snapshot)

    assert first.credit_limit_threshold == 123.0
    assert ApprovalSettings.from_policy(dict(snapshot)) is first
    with pytest.raises(ValueError):
        ApprovalSettings.from_policy({"credit_limit_threshold": -1})
