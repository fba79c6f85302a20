"""Only a valid Entra ID token with the Profiles.Read app role reads profiles; every other
caller gets 401 or 403 as problem+json, with a Bearer challenge, and never data."""

from __future__ import annotations

import base64
import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from sandbox.entra.directory import Directory

from .conftest import ProfileStack

ACCOUNT = "001000000000001AAA"


@pytest.fixture(scope="module", autouse=True)
def one_profile(stack: ProfileStack) -> None:
    from tests.storage.factories import profile

    stack.store.upsert(profile(1, primary_email="buyer@acme.example"))


def _claims(stack: ProfileStack, **overrides):
    client = stack.entra.register_client(roles=["Profiles.Read"])
    return stack.entra.claims_for(client, **overrides)


def _assert_refused(response, status: int, error: str) -> dict:
    assert response.status == status, response.text
    assert response.headers["Content-Type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status and body["code"] == error
    assert "salesforce_account_id" not in response.text and "acme" not in response.text
    if status in (401, 403):
        assert response.headers["WWW-Authenticate"].startswith(f'Bearer error="{error}"')
    return body


def test_a_token_from_the_token_endpoint_with_the_role_reads_the_profile(stack, reader_token):
    response = stack.get(f"profiles/{ACCOUNT}", reader_token)

    assert response.status == 200
    assert response.json()["salesforce_account_id"] == ACCOUNT


def test_no_token_is_401_invalid_request(stack):
    _assert_refused(stack.get(f"profiles/{ACCOUNT}"), 401, "invalid_request")


@pytest.mark.parametrize("header", ["Basic dXNlcjpwYXNz", "Bearer", "Bearer    ", "token abc"])
def test_a_header_that_is_not_a_bearer_token_is_401(stack, header):
    response = stack.host.get(f"/api/profiles/{ACCOUNT}", headers={"Authorization": header})
    _assert_refused(response, 401, "invalid_request")


@pytest.mark.parametrize("garbage", ["garbage", "a.b.c", "eyJhbGciOiJSUzI1NiJ9.e30.AAAA"])
def test_garbage_is_401_invalid_token(stack, garbage):
    _assert_refused(stack.get(f"profiles/{ACCOUNT}", garbage), 401, "invalid_token")


def test_an_expired_token_is_401(stack):
    past = int(time.time()) - 3600
    token = stack.entra.sign(_claims(stack, iat=past - 3600, nbf=past - 3600, exp=past))

    body = _assert_refused(stack.get(f"profiles/{ACCOUNT}", token), 401, "invalid_token")
    assert "expired" in body["detail"]


def test_a_token_not_valid_yet_beyond_the_clock_skew_is_401(stack):
    later = int(time.time()) + 600
    token = stack.entra.sign(_claims(stack, nbf=later, iat=later))

    _assert_refused(stack.get(f"profiles/{ACCOUNT}", token), 401, "invalid_token")


def test_a_token_a_little_ahead_of_our_clock_is_accepted(stack):
    soon = int(time.time()) + 20  # within the 60 s default skew
    token = stack.entra.sign(_claims(stack, nbf=soon, iat=soon))

    assert stack.get(f"profiles/{ACCOUNT}", token).status == 200


def test_a_token_for_another_audience_is_401(stack):
    token = stack.entra.sign(_claims(stack, aud="00000003-0000-0000-c000-000000000000"))

    body = _assert_refused(stack.get(f"profiles/{ACCOUNT}", token), 401, "invalid_token")
    assert "audience" in body["detail"]


def test_a_token_from_another_issuer_is_401(stack):
    other = "https://login.microsoftonline.com/11111111-2222-3333-4444-555555555555/v2.0"
    token = stack.entra.sign(_claims(stack, iss=other))

    body = _assert_refused(stack.get(f"profiles/{ACCOUNT}", token), 401, "invalid_token")
    assert "issuer" in body["detail"]


@pytest.mark.parametrize("missing", ["exp", "nbf", "iat", "aud", "iss"])
def test_a_token_without_a_required_claim_is_401(stack, missing):
    token = stack.entra.sign(_claims(stack, **{missing: None}))

    _assert_refused(stack.get(f"profiles/{ACCOUNT}", token), 401, "invalid_token")


def test_a_token_signed_by_a_key_the_tenant_does_not_publish_is_401(stack):
    impostor = Directory(tenant_id=stack.entra.tenant_id)
    impostor.authority = stack.entra.authority
    token = impostor.sign(_claims(stack))

    _assert_refused(stack.get(f"profiles/{ACCOUNT}", token), 401, "invalid_token")


def test_a_token_with_a_known_key_id_but_a_foreign_signature_is_401(stack):
    kid = stack.entra.jwks()["keys"][0]["kid"]
    impostor = Directory()
    forged = jwt.encode(
        _claims(stack), impostor._keys[0].private, algorithm="RS256", headers={"kid": kid}
    )

    _assert_refused(stack.get(f"profiles/{ACCOUNT}", forged), 401, "invalid_token")


def test_alg_none_is_401(stack):
    kid = stack.entra.jwks()["keys"][0]["kid"]
    header = _b64({"alg": "none", "typ": "JWT", "kid": kid})
    token = f"{header}.{_b64(_claims(stack))}."

    _assert_refused(stack.get(f"profiles/{ACCOUNT}", token), 401, "invalid_token")


def test_hs256_signed_with_the_tenants_public_key_is_401(stack):
    """Algorithm confusion: the public key (which anyone can fetch) used as an HMAC secret."""
    key = stack.entra._keys[0]
    public_pem = key.private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header = _b64({"alg": "HS256", "typ": "JWT", "kid": key.kid})
    body = _b64(_claims(stack))
    import hashlib
    import hmac

    signature = hmac.new(public_pem, f"{header}.{body}".encode(), hashlib.sha256).digest()
    token = f"{header}.{body}.{base64.urlsafe_b64encode(signature).rstrip(b'=').decode()}"

    _assert_refused(stack.get(f"profiles/{ACCOUNT}", token), 401, "invalid_token")


def test_a_valid_token_without_the_app_role_is_403(stack, roleless_client):
    token = stack.token(*roleless_client)

    body = _assert_refused(stack.get(f"profiles/{ACCOUNT}", token), 403, "insufficient_scope")
    assert "Profiles.Read" in body["detail"]


def test_a_valid_token_with_other_roles_only_is_403(stack):
    client = stack.entra.register_client(roles=["Profiles.Write", "Support.Read"])

    token = stack.token(client.client_id, client.secret)

    _assert_refused(stack.get(f"profiles/{ACCOUNT}", token), 403, "insufficient_scope")


def test_the_feed_is_guarded_the_same_way(stack, roleless_client):
    _assert_refused(stack.get("profiles"), 401, "invalid_request")
    _assert_refused(stack.get("profiles", stack.token(*roleless_client)), 403, "insufficient_scope")


def test_a_refused_caller_learns_nothing_about_its_input(stack):
    """Bad input with no token is 401, not 400: nothing is validated before the caller is."""
    response = stack.get("profiles?limit=0&updatedSince=5")

    _assert_refused(response, 401, "invalid_request")


def test_after_the_tenant_rotates_its_key_new_tokens_are_accepted(stack):
    """The cached key set is fetched again when a token names a key id it does not hold."""
    assert stack.get(f"profiles/{ACCOUNT}", stack.token()).status == 200  # keys cached

    stack.entra.rotate_keys()
    fresh = stack.token()

    assert jwt.get_unverified_header(fresh)["kid"] in {k["kid"] for k in stack.entra.jwks()["keys"]}
    assert stack.get(f"profiles/{ACCOUNT}", fresh).status == 200


def test_the_token_endpoint_refuses_a_wrong_secret(stack):
    import urllib.error

    with pytest.raises(urllib.error.HTTPError) as refused:
        stack.token(secret="not-the-secret")

    assert refused.value.code == 401
    assert json.load(refused.value)["error"] == "invalid_client"


def _b64(data: dict) -> str:
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def test_without_tenant_and_audience_the_api_is_off_with_503_naming_the_settings(
    stack, reader_token, tmp_path
):
    from devhost.testing import run
    from scripts.localstack import APP_DIR, app_env

    env = app_env(stack.sb, tmp_path, PROFILE_API_TENANT_ID="", PROFILE_API_AUDIENCE="")
    with run(APP_DIR, env=env, time_skipping=False) as unconfigured:
        response = unconfigured.get(
            f"/api/profiles/{ACCOUNT}", headers={"Authorization": f"Bearer {reader_token}"}
        )

    assert response.status == 503
    assert "PROFILE_API_TENANT_ID" in response.json()["detail"]


# ---------------------------------------------------------------- remembered tokens


def _verifier(stack: ProfileStack, clock=time.time):
    from crosswalk.profile_api.auth import TokenVerifier
    from crosswalk.settings import ProfileApiSettings

    settings = ProfileApiSettings(
        authority=stack.sb.entra_url,
        tenant_id=stack.entra.tenant_id,
        audience=stack.entra.api_app_id,
        ca_bundle=stack.sb.ca_bundle,
    )
    return TokenVerifier(settings, clock=clock)


def test_a_verified_token_is_remembered_until_it_expires_and_no_longer(stack):
    now = int(time.time())
    clock = [float(now)]
    verifier = _verifier(stack, clock=lambda: clock[0])
    token = stack.entra.sign(_claims(stack, iat=now, nbf=now, exp=now + 120))
    assert verifier.remembered(f"Bearer {token}") is None

    caller = verifier.verify(f"Bearer {token}")

    assert verifier.remembered(f"Bearer {token}") == caller
    clock[0] = now + 121.0  # past its expiry
    assert verifier.remembered(f"Bearer {token}") is None


def test_a_token_refused_for_its_role_is_never_remembered(stack):
    from crosswalk.profile_api.auth import TokenRejected

    verifier = _verifier(stack)
    client = stack.entra.register_client(roles=[])
    token = stack.entra.sign(stack.entra.claims_for(client))

    with pytest.raises(TokenRejected):
        verifier.verify(f"Bearer {token}")

    assert verifier.remembered(f"Bearer {token}") is None
