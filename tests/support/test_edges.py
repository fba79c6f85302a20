"""Input at every HTTP edge, as the app really receives it: strict types (a JSON boolean is
the only boolean, an instant is ISO 8601 text with an offset, a number is a number), bodies
too deep to parse, ids a URL would resolve away, and refusals that must reach the audit log.

Every bad request is a 400 (or 404) with a JSON body naming the field, and starts nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.stack import APPROVE, DURABLE, OPERATE, READ, SupportStack, support_stack

pytestmark = pytest.mark.slow

INSTANCE = "onboard-001dL0000004C92QAE-20240130T114106850Z"
DEEP = b"[" * 1500 + b"]" * 1500
DEEP_OBJECT = b'{"reason": ' + b'{"a": ' * 1500 + b"1" + b"}" * 1501


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SupportStack]:
    with support_stack(tmp_path_factory.mktemp("edges"), seed=40) as running:
        yield running


def _fields(response: Any) -> list[str]:
    assert response.status == 400, response.text
    return [f["field"] for f in response.json()["error"]["fields"]]


def _instances(stack: SupportStack) -> list[str]:
    return [i["instanceId"] for i in stack.host.get(f"{DURABLE}/instances").json()]


# ------------------------------------------------------------------ strict types in bodies


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"failureReason": "x", "reason": "y", "dryRun": 0}, "dryRun"),
        ({"failureReason": "x", "reason": "y", "dryRun": "yes"}, "dryRun"),
        ({"failureReason": "x", "reason": "y", "dryRun": "false"}, "dryRun"),
        ({"failureReason": "x", "reason": "y", "dryRun": None}, "dryRun"),
        ({"failureReason": "x", "reason": "y", "limit": "5"}, "limit"),
        ({"failureReason": "x", "reason": "y", "limit": 5.0}, "limit"),
        ({"failureReason": "x", "reason": "y", "limit": True}, "limit"),
        ({"failureReason": 7, "reason": "y"}, "failureReason"),
    ],
)
def test_bulk_retry_takes_only_json_booleans_and_numbers(stack, body, field):
    before = stack.get("audit?action=bulk_retry", READ).json()["items"]

    response = stack.post("retries", body, OPERATE)

    assert _fields(response) == [field]
    assert stack.get("audit?action=bulk_retry", READ).json()["items"] == before


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        (f"instances/{INSTANCE}/retry", {"reason": 5}, "reason"),
        (f"instances/{INSTANCE}/retry", {"reason": "x", "mode": ["auto"]}, "mode"),
        (f"instances/{INSTANCE}/cancel", {"reason": True}, "reason"),
        (f"instances/{INSTANCE}/undo", {"reason": None}, "reason"),
        (f"approvals/{INSTANCE}", {"decision": 1, "reason": "x"}, "decision"),
    ],
)
def test_support_actions_take_only_json_strings_where_text_is_asked(stack, path, body, field):
    role = APPROVE if path.startswith("approvals/") else OPERATE
    assert _fields(stack.post(path, body, role)) == [field]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"since": 5}, "since"),  # would be Unix seconds: a full re-scan from 1970
        ({"since": 1700000000.5}, "since"),
        ({"since": "2024-05-01T08:00:00"}, "since"),  # no offset
        ({"since": "2024-05-01"}, "since"),
        ({"since": "yesterday"}, "since"),
        ({"dryRun": 0}, "dryRun"),
        ({"dryRun": "true"}, "dryRun"),
        ({"dryRun": True, "extra": 1}, "extra"),
    ],
)
def test_a_reconciliation_start_takes_iso_instants_with_an_offset_and_json_booleans(
    stack, body, field
):
    before = _instances(stack)

    response = stack.host.post("/api/reconciliations", json=body)

    assert _fields(response) == [field]
    assert _instances(stack) == before


@pytest.mark.parametrize("body", [b"[]", b'"text"', b"5", b"null"])
def test_a_body_that_is_not_a_json_object_is_a_400_naming_the_body(stack, body):
    response = stack.host.post(
        "/api/support/retries",
        data=body,
        headers={**stack.auth(OPERATE), "Content-Type": "application/json"},
    )
    assert _fields(response) == ["body"]


# ------------------------------------------------------------------ strict numbers in queries


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/api/reconciliations?limit=%C2%B2", "limit"),  # '²' is a digit to str.isdigit
        ("/api/reconciliations?limit=%D9%A3", "limit"),  # Arabic-Indic three
        ("/api/reconciliations?limit=5.0", "limit"),
        ("/api/reconciliations?limit=+5", "limit"),
        ("/api/reconciliations?limit=5,6", "limit"),  # a repeated key, as Azure joins it
        ("/api/reconciliations?limit=0", "limit"),
        ("/api/support/records?state=failed&limit=1_0", "limit"),
        ("/api/support/records?state=failed&limit=%205", "limit"),
        ("/api/support/audit?limit=true", "limit"),
        ("/api/support/reconciliations?limit=-1", "limit"),
    ],
)
def test_query_numbers_are_whole_numbers_in_ascii_digits(stack, path, field):
    response = stack.host.get(path, headers=stack.auth(READ))
    assert _fields(response) == [field]


def test_query_numbers_in_digits_are_taken(stack):
    assert stack.host.get("/api/reconciliations?limit=3").status == 200
    assert stack.get("records?state=failed&limit=7", READ).status == 200


# ------------------------------------------------------------------ bodies too deep to parse


@pytest.mark.parametrize(
    ("path", "headers"),
    [
        ("/api/support/retries", "operate"),
        (f"/api/support/instances/{INSTANCE}/cancel", "operate"),
        (f"/api/support/approvals/{INSTANCE}", "approve"),
        ("/api/reconciliations", None),
        ("/api/accounts/001dL0000004C92QAE/onboard", None),
    ],
)
@pytest.mark.parametrize("body", [DEEP, DEEP_OBJECT], ids=["array", "object"])
def test_a_body_nested_1500_levels_deep_is_a_400(stack, path, headers, body):
    auth = {"operate": stack.auth(OPERATE), "approve": stack.auth(APPROVE), None: {}}[headers]
    before = _instances(stack)

    response = stack.host.post(
        path, data=body, headers={**auth, "Content-Type": "application/json"}
    )

    assert _fields(response) == ["body"]
    assert _instances(stack) == before


# ------------------------------------------------------------------ ids a URL resolves away


@pytest.mark.parametrize("instance_id", [".", ".."])
def test_instance_ids_dot_and_dot_dot_are_404_on_every_action(stack, instance_id):
    decide = stack.post(f"approvals/{instance_id}", {"decision": "approve", "reason": "x"}, APPROVE)
    retry = stack.post(f"instances/{instance_id}/retry", {"reason": "x"}, OPERATE)
    cancel = stack.post(f"instances/{instance_id}/cancel", {"reason": "x"}, OPERATE)
    undo = stack.post(f"instances/{instance_id}/undo", {"reason": "x"}, OPERATE)

    assert [decide.status, retry.status, cancel.status, undo.status] == [404] * 4
    assert decide.json()["error"]["code"] == "not_found"


# ------------------------------------------------------------------ refusals are audited


def test_a_read_only_caller_refused_an_action_is_in_the_audit_log(stack):
    reader = "reader@support.example"
    headers = stack.auth(READ, name=reader)

    cancel = stack.host.post(
        f"/api/support/instances/{INSTANCE}/cancel", json={"reason": "x"}, headers=headers
    )
    bulk = stack.host.post(
        "/api/support/retries",
        json={"failureReason": "x", "reason": "y", "dryRun": False},
        headers=headers,
    )
    decide = stack.host.post(
        f"/api/support/approvals/{INSTANCE}",
        json={"decision": "approve", "reason": "x"},
        headers=headers,
    )
    entries = stack.get(f"audit?actor={reader}", READ).json()["items"]

    assert [cancel.status, bulk.status, decide.status] == [403, 403, 403]
    refused = {(e["action"], e["target"], e["outcome"]) for e in entries}
    assert refused == {
        ("cancel", "001dL0000004C92QAE", "refused: forbidden"),
        ("bulk_retry", "bulk", "refused: forbidden"),
        ("decide", "001dL0000004C92QAE", "refused: forbidden"),
    }
    assert all(e["roles"] == [READ] for e in entries)


def test_a_caller_nobody_identified_is_refused_and_not_audited(stack):
    before = stack.get("audit?limit=500", READ).json()["items"]

    response = stack.host.post(f"/api/support/instances/{INSTANCE}/cancel", json={"reason": "x"})

    assert response.status == 401
    assert stack.get("audit?limit=500", READ).json()["items"] == before
