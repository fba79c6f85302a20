"""Key Vault secrets read with the app's identity: the real azure-identity
ManagedIdentityCredential (App Service's identity endpoint) and the real azure-keyvault-secrets
SecretClient, against the sandbox's Key Vault and identity stand-ins over HTTPS. Then the
Salesforce JWT bearer flow signing with a key from the vault, rotation included."""

from __future__ import annotations

from pathlib import Path

import pytest
from azure.identity import DefaultAzureCredential, ManagedIdentityCredential
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

import sandbox
from crosswalk.clients.keyvault import KeyVaultSecret, split_secret_uri
from crosswalk.clients.salesforce import SalesforceClient
from crosswalk.errors import AuthenticationFailed, ConfigurationError, NotFound
from crosswalk.settings import SalesforceSettings
from sandbox.keyvault import KeyVaultStandIn
from sandbox.tls import load_key_material

KEY_NAME = "salesforce-jwt-key"


class Clock:
    """A clock the test moves: the cache's age without waiting."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def sb():
    with sandbox.run(seed=7) as running:
        yield running


@pytest.fixture
def vault(sb, monkeypatch):
    keys = load_key_material(Path(sb.data_dir))
    with KeyVaultStandIn(sb.entra, keys.server_ssl) as stand_in:
        stand_in.vault.readers.add(stand_in.app_object_id)  # Key Vault Secrets User
        for name, value in stand_in.identity_environment().items():
            monkeypatch.setenv(name, value)  # what App Service sets for the app's identity
        yield stand_in


def _secret(sb, vault, name=KEY_NAME, credential=None, **options) -> KeyVaultSecret:
    # The stand-in's vault is https://127.0.0.1:<port>: the SDK's check that the challenge's
    # resource is a parent domain of the vault's host (vault.azure.net in Azure) cannot hold
    # for an IP address, so only the tests turn it off. The app keeps it on.
    return KeyVaultSecret(
        vault.secret_uri(name),
        credential=credential or ManagedIdentityCredential(),
        connection_verify=sb.ca_bundle,
        verify_challenge_resource=False,
        **options,
    )


def test_a_secret_is_read_with_the_apps_identity_and_cached(sb, vault):
    vault.vault.set(KEY_NAME, "first")
    clock = Clock()
    secret = _secret(sb, vault, clock=clock, cache_seconds=300)

    assert secret.value() == "first"
    vault.vault.set(KEY_NAME, "second")  # rotated in the vault
    assert secret.value() == "first"  # still cached
    assert vault.vault.reads == 1

    clock.now += 300
    assert secret.value() == "second"  # the cache expired: the latest version
    assert vault.vault.reads == 2


def test_refresh_reads_the_latest_version_at_once(sb, vault):
    vault.vault.set(KEY_NAME, "first")
    secret = _secret(sb, vault)
    secret.value()
    vault.vault.set(KEY_NAME, "second")

    assert secret.refresh() == "second"
    assert secret.value() == "second"


def test_an_identity_without_a_role_on_the_vault_is_an_authentication_failure(sb, vault):
    vault.vault.set(KEY_NAME, "the-secret-value")
    vault.vault.readers.clear()

    with pytest.raises(AuthenticationFailed) as caught:
        _secret(sb, vault).value()

    assert caught.value.status == 403 and caught.value.system == "keyvault"
    assert "the-secret-value" not in str(caught.value)


def test_a_secret_that_does_not_exist_is_not_found(sb, vault):
    with pytest.raises(NotFound, match="secret no-such-secret"):
        _secret(sb, vault, name="no-such-secret").value()


@pytest.mark.parametrize(
    "uri",
    [
        "http://kv.vault.azure.net/secrets/a",
        "https://kv.vault.azure.net/keys/a",
        "https://kv.vault.azure.net/secrets/a/v/extra",
    ],
)
def test_a_uri_that_names_no_secret_is_a_configuration_error(uri):
    with pytest.raises(ConfigurationError):
        split_secret_uri(uri)
    with pytest.raises(ValueError, match="private_key_secret_uri"):
        SalesforceSettings(client_id="x", auth_mode="jwt", username="u", private_key_secret_uri=uri)


def test_the_jwt_key_comes_from_one_source_only(tmp_path):
    both = {
        "private_key_path": tmp_path / "k.pem",
        "private_key_secret_uri": "https://kv/secrets/k",
    }

    with pytest.raises(ValueError, match="give it or private_key_path, not both"):
        SalesforceSettings(client_id="x", auth_mode="jwt", username="u", **both)
    with pytest.raises(ValueError, match="private_key_path: required when auth_mode is jwt"):
        SalesforceSettings(client_id="x", auth_mode="jwt", username="u")


def _jwt_settings(sb, vault) -> SalesforceSettings:
    return SalesforceSettings(
        login_url=sb.salesforce_url,
        client_id=sb.salesforce_client_id,
        auth_mode="jwt",
        username=sb.jwt_username,
        private_key_secret_uri=vault.secret_uri(KEY_NAME),
        ca_bundle=sb.ca_bundle,
    )


def _any_account_id(sb) -> str:
    return sb.salesforce_records("Account")[0]["Id"]


def _other_key() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def test_settings_alone_give_the_client_the_vaults_key():
    settings = SalesforceSettings(
        client_id="x",
        auth_mode="jwt",
        username="u",
        private_key_secret_uri="https://kv-example.vault.azure.net/secrets/salesforce-jwt-key",
    )

    key = SalesforceClient(settings)._login._private_key

    assert isinstance(key, KeyVaultSecret) and key.name == "salesforce-jwt-key"


def test_the_jwt_bearer_flow_signs_with_the_key_from_the_vault(sb, vault):
    vault.vault.set(KEY_NAME, Path(sb.jwt_private_key_path).read_text())
    # As in Azure: DefaultAzureCredential, which finds the app's identity endpoint
    key = _secret(sb, vault, credential=DefaultAzureCredential())
    client = SalesforceClient(_jwt_settings(sb, vault), private_key=key)

    assert client.get_account_with_contacts(_any_account_id(sb)) is not None
    assert vault.vault.reads == 1


def test_a_rotated_key_is_picked_up_when_salesforce_refuses_the_cached_one(sb, vault):
    vault.vault.set(KEY_NAME, _other_key())  # not the connected app's certificate
    key = _secret(sb, vault)
    client = SalesforceClient(_jwt_settings(sb, vault), private_key=key)

    with pytest.raises(AuthenticationFailed):
        client.get_account_with_contacts(_any_account_id(sb))
    assert vault.vault.reads == 2  # refused, read again, still refused

    vault.vault.set(KEY_NAME, Path(sb.jwt_private_key_path).read_text())  # the rotation

    assert client.get_account_with_contacts(_any_account_id(sb)) is not None
    assert vault.vault.reads == 3
