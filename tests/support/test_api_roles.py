"""The support API end to end, authentication and roles: who may read and act, and what a
refusal shows. The real app on devhost + sandbox, called as support staff. One stack
for the module; each test takes its own seeded accounts.
"""

from __future__ import annotations

import pytest

from tests.support.stack import APPROVE, OPERATE, READ, SupportStack

pytestmark = pytest.mark.slow

ALL = (READ, OPERATE, APPROVE)

READS = [
    "me",
    "records/001dL0000004C92QAE",
    "records?state=failed",
    "failures",
    "approvals",
    "health",
    "reconciliations",
    "audit",
    "deadletters",
]
ACTIONS = [
    ("approvals/onboard-001dL0000004C92QAE-20240130T114106850Z", APPROVE),
    ("instances/onboard-001dL0000004C92QAE-20240130T114106850Z/retry", OPERATE),
    ("instances/onboard-001dL0000004C92QAE-20240130T114106850Z/cancel", OPERATE),
    ("instances/onboard-001dL0000004C92QAE-20240130T114106850Z/undo", OPERATE),
    ("retries", OPERATE),
    ("deadletters/replay", APPROVE),
]


# ------------------------------------------------------------------ authentication and roles


@pytest.mark.parametrize("path", READS)
def test_reads_without_credentials_are_401_json_and_leak_nothing(stack, path):
    response = stack.host.get(f"/api/support/{path}")

    assert response.status == 401
    assert response.json()["error"]["code"] == "unauthenticated"
    assert "001dL" not in response.text


@pytest.mark.parametrize(("path", "role"), ACTIONS)
def test_actions_without_credentials_are_401(stack, path, role):
    response = stack.host.post(f"/api/support/{path}", json={"reason": "x"})

    assert response.status == 401


@pytest.mark.parametrize(
    "header",
    [
        "Bearer not-a-token",
        "Basic a2ltOnB3",
        "Bearer " + SupportStack.token(READ)[:-3] + "abc",  # signature tampered
    ],
    ids=["garbage", "wrong-scheme", "tampered"],
)
def test_bad_tokens_are_401(stack, header):
    response = stack.host.get("/api/support/me", headers={"Authorization": header})

    assert response.status == 401
    assert header.split(" ")[-1] not in response.text


def test_a_token_signed_with_another_key_is_401(stack):
    from crosswalk.support.auth import make_dev_token

    forged = make_dev_token("x" * 40, "mallory", ALL)
    response = stack.host.get("/api/support/me", headers={"Authorization": f"Bearer {forged}"})

    assert response.status == 401


def test_a_token_without_support_roles_is_403(stack):
    response = stack.get("approvals", "Sales.Read")

    assert response.status == 403
    assert response.json()["error"]["code"] == "forbidden"


@pytest.mark.parametrize("role", ALL)
@pytest.mark.parametrize("path", [p for p in READS if "/" not in p or p.startswith("records?")])
def test_every_support_role_may_read(stack, role, path):
    assert stack.get(path, role).status == 200


@pytest.mark.parametrize(("path", "role"), ACTIONS)
def test_actions_refuse_the_other_roles_before_reading_the_body(stack, path, role):
    for other in set(ALL) - {role}:
        response = stack.post(path, {"not": "valid"}, other)
        assert response.status == 403, (other, response.text)
        assert role in response.json()["error"]["message"]


def test_me_names_the_caller_and_their_roles(stack):
    body = stack.get("me", READ, OPERATE).json()

    assert body["principal"] == {
        "name": "kim@support.example",
        "roles": [OPERATE, READ],
        "provider": "dev",
    }
    assert body["masked"] is True
