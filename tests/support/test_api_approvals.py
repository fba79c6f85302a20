"""The support API end to end, approvals: the inbox and deciding a waiting onboarding. The
real app on devhost + sandbox, called as support staff. One stack
for the module; each test takes its own seeded accounts.
"""

from __future__ import annotations

import pytest

from tests.support.stack import APPROVE, READ, audit_items, synced_account

pytestmark = pytest.mark.slow


# ------------------------------------------------------------------ approvals


def test_the_inbox_lists_a_waiting_onboarding_and_approval_completes_it(stack):
    account = next(stack.needing_approval)
    instance_id = stack.onboard(account["Id"])
    stack.waiting_for_approval(instance_id)

    inbox = stack.get("approvals", READ).json()["items"]
    pending = next(a for a in inbox if a["instanceId"] == instance_id)
    decided = stack.post(
        f"approvals/{instance_id}", {"decision": "approve", "reason": "known customer"}, APPROVE
    )
    status = stack.finished(instance_id)

    assert pending["accountId"] == account["Id"]
    assert pending["reasons"] and pending["reasons"][0]["code"]
    assert pending["waitingHours"] >= 0 and pending["overdue"] is False
    assert pending["slaHours"] == 24 and pending["deadline"]
    assert decided.status == 202, decided.text
    assert decided.json()["accepted"]["approver"] == "kim@support.example"
    assert status["output"]["outcome"] == "synced"
    assert stack.entity(account["Id"])["approval"]["approver"] == "kim@support.example"
    entry = audit_items(stack, target=account["Id"])[0]
    assert entry["action"] == "approve" and entry["actor"] == "kim@support.example"
    assert entry["reason"] == "known customer" and entry["outcome"] == "done"
    record = stack.get(f"records/{account['Id']}", READ).json()
    assert any(e["source"] == "approval" for e in record["timeline"])
    assert any(e["source"] == "support" for e in record["timeline"])


def test_a_rejection_through_support_ends_the_onboarding(stack):
    account = next(stack.needing_approval)
    instance_id = stack.onboard(account["Id"])
    stack.waiting_for_approval(instance_id)

    stack.post(f"approvals/{instance_id}", {"decision": "reject", "reason": "sanctions"}, APPROVE)

    assert stack.finished(instance_id)["output"] == {"outcome": "rejected", "reason": "sanctions"}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"decision": "approve"}, "reason"),
        ({"decision": "approve", "reason": ""}, "reason"),
        ({"decision": "maybe", "reason": "x"}, "decision"),
        ({"decision": "approve", "reason": "x", "approver": "someone@else"}, "approver"),
    ],
)
def test_a_bad_decision_is_a_400_naming_the_field(stack, body, field):
    response = stack.post("approvals/onboard-x", body, APPROVE)

    assert response.status == 400
    assert [f["field"] for f in response.json()["error"]["fields"]] == [field]


def test_deciding_an_instance_that_is_not_waiting_is_409_and_audited(stack):
    account = synced_account(stack)
    instance_id = stack.get(f"records/{account['Id']}", READ).json()["instances"][0]["instanceId"]

    response = stack.post(
        f"approvals/{instance_id}", {"decision": "approve", "reason": "x"}, APPROVE
    )
    unknown = stack.post("approvals/onboard-nope", {"decision": "approve", "reason": "x"}, APPROVE)

    assert response.status == 409 and unknown.status == 404
    assert audit_items(stack, target=account["Id"])[0]["outcome"] == "refused: not_waiting"
