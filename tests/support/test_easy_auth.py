"""In Azure mode the identity comes from App Service authentication's X-MS-CLIENT-PRINCIPAL
(Entra ID app roles), and development tokens are refused."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.stack import SupportStack, easy_auth_principal, support_stack

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def azure_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SupportStack]:
    with support_stack(
        tmp_path_factory.mktemp("easyauth"), seed=20, SUPPORT_AUTH_MODE="easyauth"
    ) as s:
        yield s


def test_app_roles_from_the_clienteasy_auth_principal(azure_stack):
    me = azure_stack.host.get(
        "/api/support/me", headers=easy_auth_principal("ann@contoso.com", "Support.Read")
    )
    denied = azure_stack.host.post(
        "/api/support/retries",
        json={"failureReason": "x", "reason": "y"},
        headers=easy_auth_principal("ann@contoso.com", "Support.Read"),
    )
    operator = azure_stack.host.post(
        "/api/support/retries",
        json={"failureReason": "x", "reason": "y"},
        headers=easy_auth_principal("bo@contoso.com", "Support.Operate"),
    )

    assert me.status == 200 and me.json()["principal"]["name"] == "ann@contoso.com"
    assert denied.status == 403
    assert operator.status == 200 and operator.json()["count"] == 0
    audit = azure_stack.host.get(
        "/api/support/audit", headers=easy_auth_principal("c@contoso.com", "Support.Read")
    )
    assert audit.json()["items"][0]["actor"] == "bo@contoso.com"


def test_development_tokens_and_missing_principals_are_401(azure_stack):
    token = azure_stack.auth("Support.Read")

    assert azure_stack.host.get("/api/support/me", headers=token).status == 401
    assert azure_stack.host.get("/api/support/me").status == 401
    garbage = azure_stack.host.get("/api/support/me", headers={"X-MS-CLIENT-PRINCIPAL": "!!"})
    assert garbage.status == 401 and garbage.json()["error"]["code"] == "unauthenticated"
