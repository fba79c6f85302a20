"""In Azure mode the identity comes from App Service authentication's X-MS-CLIENT-PRINCIPAL
(Entra ID app roles), and development tokens are refused."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator

import pytest

from tests.support.stack import SupportStack, support_stack

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def azure_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SupportStack]:
    with support_stack(
        tmp_path_factory.mktemp("easyauth"), seed=20, SUPPORT_AUTH_MODE="easyauth"
    ) as s:
        yield s


def _principal(name: str, *roles: str) -> dict[str, str]:
    claims = [{"typ": "preferred_username", "val": name}]
    claims += [{"typ": "roles", "val": role} for role in roles]
    body = {
        "auth_typ": "aad",
        "name_typ": "preferred_username",
        "role_typ": "roles",
        "claims": claims,
    }
    return {"X-MS-CLIENT-PRINCIPAL": base64.b64encode(json.dumps(body).encode()).decode()}


def test_app_roles_from_the_client_principal(azure_stack):
    me = azure_stack.host.get(
        "/api/support/me", headers=_principal("ann@contoso.com", "Support.Read")
    )
    denied = azure_stack.host.post(
        "/api/support/retries",
        json={"failureReason": "x", "reason": "y"},
        headers=_principal("ann@contoso.com", "Support.Read"),
    )
    operator = azure_stack.host.post(
        "/api/support/retries",
        json={"failureReason": "x", "reason": "y"},
        headers=_principal("bo@contoso.com", "Support.Operate"),
    )

    assert me.status == 200 and me.json()["principal"]["name"] == "ann@contoso.com"
    assert denied.status == 403
    assert operator.status == 200 and operator.json()["count"] == 0
    audit = azure_stack.host.get(
        "/api/support/audit", headers=_principal("c@contoso.com", "Support.Read")
    )
    assert audit.json()["items"][0]["actor"] == "bo@contoso.com"


def test_development_tokens_and_missing_principals_are_401(azure_stack):
    token = azure_stack.auth("Support.Read")

    assert azure_stack.host.get("/api/support/me", headers=token).status == 401
    assert azure_stack.host.get("/api/support/me").status == 401
    garbage = azure_stack.host.get("/api/support/me", headers={"X-MS-CLIENT-PRINCIPAL": "!!"})
    assert garbage.status == 401 and garbage.json()["error"]["code"] == "unauthenticated"
