"""Microsoft's own token libraries against the Entra ID stand-in, as a storefront backend
(MSAL for Python) and the relay's publisher (azure-identity) use them: HTTPS with the
sandbox's CA trusted, instance discovery off (the authority is not a Microsoft host)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import msal
import pytest
from azure.identity import ClientSecretCredential

from sandbox.entra.directory import STOREFRONT_CLIENT_ID, STOREFRONT_CLIENT_SECRET
from tests.profile_api.conftest import ProfileStack

_PROJECT = Path(__file__).resolve().parents[2]
_MSAL_NODE = _PROJECT / "node_modules/@azure/msal-node/package.json"


@pytest.fixture(autouse=True)
def _session_verify_counts(monkeypatch: pytest.MonkeyPatch) -> None:
    """MSAL hands `verify` to a requests Session, and requests lets REQUESTS_CA_BUNDLE /
    CURL_CA_BUNDLE (set on many machines, this one too) override a Session's verify: without
    them, `verify=<the sandbox CA>` is what MSAL trusts (README, "Profile API")."""
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)


def test_msal_gets_a_token_from_the_stand_in_and_reads_a_profile_with_it(
    stack: ProfileStack,
) -> None:
    sb = stack.sb
    app = msal.ConfidentialClientApplication(
        STOREFRONT_CLIENT_ID,
        client_credential=STOREFRONT_CLIENT_SECRET,
        authority=f"{sb.entra_url}/{sb.entra.tenant_id}",
        instance_discovery=False,
        verify=sb.ca_bundle,
    )

    result = app.acquire_token_for_client(scopes=[f"{sb.entra.api_identifier_uri}/.default"])
    response = stack.get("profiles?limit=1", token=result.get("access_token"))

    assert "access_token" in result, result
    assert result["token_type"] == "Bearer"
    assert response.status == 200, response.text
    assert set(response.json()) >= {"profiles", "cursor", "has_more"}


def test_msal_reads_the_openid_metadata_it_needs(stack: ProfileStack) -> None:
    sb = stack.sb
    app = msal.ConfidentialClientApplication(
        STOREFRONT_CLIENT_ID,
        client_credential="wrong-secret",
        authority=f"{sb.entra_url}/{sb.entra.tenant_id}",
        instance_discovery=False,
        verify=sb.ca_bundle,
    )

    result = app.acquire_token_for_client(scopes=[f"{sb.entra.api_identifier_uri}/.default"])

    # the metadata resolved (authorization and token endpoints), then Entra's refusal came back
    assert result["error"] == "invalid_client"
    assert "AADSTS7000215" in result["error_description"]


def test_azure_identity_gets_an_event_grid_token_from_the_stand_in(stack: ProfileStack) -> None:
    sb = stack.sb
    client = sb.entra.register_client(roles=[])
    credential = ClientSecretCredential(
        sb.entra.tenant_id,
        client.client_id,
        client.secret,
        authority=sb.entra_url,
        disable_instance_discovery=True,
        connection_verify=sb.ca_bundle,
    )

    token = credential.get_token("https://eventgrid.azure.net/.default")

    claims = sb.entra.verify(token.token, "https://eventgrid.azure.net")
    assert claims["azp"] == client.client_id and "roles" not in claims


def _msal_node(stack: ProfileStack, secret: str) -> tuple[int, dict[str, object]]:
    """Run the README's Node.js snippet (tests/profile_api/msal_node_token.mjs) with real
    `@azure/msal-node`, trusting the sandbox CA as the README says (NODE_EXTRA_CA_CERTS)."""
    sb = stack.sb
    env = {
        "PATH": os.environ.get("PATH", ""),
        "NODE_EXTRA_CA_CERTS": str(sb.ca_bundle),
        "ENTRA_AUTHORITY": sb.entra_url,
        "ENTRA_TENANT_ID": sb.entra.tenant_id,
        "PROFILE_CLIENT_ID": STOREFRONT_CLIENT_ID,
        "PROFILE_CLIENT_SECRET": secret,
        "PROFILE_API_SCOPE": f"{sb.entra.api_identifier_uri}/.default",
    }
    done = subprocess.run(
        ["node", str(_PROJECT / "tests/profile_api/msal_node_token.mjs")],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return done.returncode, json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(
    not _MSAL_NODE.exists(), reason="npm install has not put @azure/msal-node in node_modules"
)
def test_msal_node_gets_a_token_from_the_stand_in_and_reads_a_profile_with_it(
    stack: ProfileStack,
) -> None:
    code, result = _msal_node(stack, STOREFRONT_CLIENT_SECRET)
    response = stack.get("profiles?limit=1", token=str(result.get("access_token")))

    assert code == 0, result
    assert result["token_type"] == "Bearer"
    assert response.status == 200, response.text


@pytest.mark.skipif(
    not _MSAL_NODE.exists(), reason="npm install has not put @azure/msal-node in node_modules"
)
def test_msal_node_reports_entra_s_refusal_of_a_wrong_secret(stack: ProfileStack) -> None:
    code, result = _msal_node(stack, "wrong-secret")

    assert code == 1
    assert result["error"] == "invalid_client", result
    assert "AADSTS7000215" in str(result["message"])
