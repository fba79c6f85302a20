"""Settings are read once, validated, and name the environment variable when wrong."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from crosswalk.settings import (
    ApprovalSettings,
    LakeKind,
    ProfileStoreKind,
    SalesforceAuthMode,
    SettingsError,
    load_settings,
)


def test_minimal_environment_gives_documented_defaults(minimal_env):
    settings = load_settings(minimal_env)

    assert settings.salesforce.auth_mode is SalesforceAuthMode.CLIENT_CREDENTIALS
    assert settings.salesforce.api_version == "59.0"
    assert settings.salesforce.token_url == "https://acme.my.salesforce.com/services/oauth2/token"
    assert settings.profile_store.kind is ProfileStoreKind.SQLITE
    assert settings.lake.kind is LakeKind.FOLDER
    assert settings.approval.timeout_hours == 72
    assert settings.approval.risky_countries == ["CU", "IR", "KP", "SY"]
    assert settings.onboarding.account_types == ["Customer - Direct", "Customer - Channel"]
    assert settings.reconcile.page_size == 2000
    assert settings.reconcile.schedule == "0 0 2 * * *"


def test_missing_required_settings_are_named_by_environment_variable():
    with pytest.raises(SettingsError) as caught:
        load_settings({})

    names = {name for name, _ in caught.value.problems}
    assert names == {"SALESFORCE_CLIENT_ID", "D2C_BASE_URL", "D2C_TOKEN"}
    assert "SALESFORCE_CLIENT_ID" in str(caught.value)


def test_secrets_never_appear_in_repr_or_errors(minimal_env):
    settings = load_settings(minimal_env)

    assert "dev-secret-value" not in repr(settings)
    assert "d2c-dev-token" not in repr(settings.d2c)
    assert settings.d2c.token.get_secret_value() == "d2c-dev-token"


@pytest.mark.parametrize(
    "host", ["", "https://login.salesforce.com", "https://test.salesforce.com"]
)
def test_client_credentials_need_the_orgs_my_domain(minimal_env, host):
    env = {**minimal_env, "SALESFORCE_LOGIN_URL": host}

    with pytest.raises(SettingsError) as caught:
        load_settings(env)

    (problem,) = caught.value.problems
    assert problem[0] == "SALESFORCE_LOGIN_URL" and "My Domain" in problem[1]


def test_client_credentials_ask_my_domain_for_tokens_when_only_the_instance_is_set(minimal_env):
    env = {
        **minimal_env,
        "SALESFORCE_LOGIN_URL": "",
        "SALESFORCE_INSTANCE_URL": "https://acme.my.salesforce.com",
    }

    settings = load_settings(env).salesforce

    assert settings.token_url == "https://acme.my.salesforce.com/services/oauth2/token"


def _jwt_env(minimal_env, tmp_path: Path, **more: str) -> dict[str, str]:
    key = tmp_path / "key.pem"
    key.write_text("not read by settings")
    return {
        **minimal_env,
        "SALESFORCE_AUTH_MODE": "jwt",
        "SALESFORCE_USERNAME": "integration@acme.example",
        "SALESFORCE_PRIVATE_KEY_PATH": str(key),
        **more,
    }


@pytest.mark.parametrize(
    ("login_url", "token_url", "audience"),
    [
        ("", "https://login.salesforce.com/services/oauth2/token", "https://login.salesforce.com"),
        (
            "https://acme.my.salesforce.com",
            "https://acme.my.salesforce.com/services/oauth2/token",
            "https://login.salesforce.com",
        ),
        (
            "https://acme--uat.sandbox.my.salesforce.com",
            "https://acme--uat.sandbox.my.salesforce.com/services/oauth2/token",
            "https://test.salesforce.com",
        ),
    ],
)
def test_jwt_audience_is_the_login_server_whatever_the_token_host(
    minimal_env, tmp_path, login_url, token_url, audience
):
    settings = load_settings(_jwt_env(minimal_env, tmp_path, SALESFORCE_LOGIN_URL=login_url))

    assert settings.salesforce.token_url == token_url
    assert settings.salesforce.audience == audience


def test_a_my_domain_jwt_audience_is_refused(minimal_env, tmp_path):
    env = _jwt_env(minimal_env, tmp_path, SALESFORCE_JWT_AUDIENCE="https://acme.my.salesforce.com")

    with pytest.raises(SettingsError) as caught:
        load_settings(env)

    assert caught.value.problems[0][0] == "SALESFORCE_JWT_AUDIENCE"


def test_jwt_mode_requires_key_path_and_username(minimal_env):
    env = {**minimal_env, "SALESFORCE_AUTH_MODE": "jwt"}

    with pytest.raises(SettingsError) as caught:
        load_settings(env)

    assert (
        "SALESFORCE_PRIVATE_KEY_PATH",
        "required when auth_mode is jwt",
    ) in caught.value.problems


def test_jwt_mode_with_key_and_username_loads(minimal_env, tmp_path: Path):
    env = {
        **minimal_env,
        "SALESFORCE_AUTH_MODE": "jwt",
        "SALESFORCE_PRIVATE_KEY_PATH": str(tmp_path / "key.pem"),
        "SALESFORCE_USERNAME": "integration@crosswalk.example",
    }

    settings = load_settings(env)

    assert settings.salesforce.auth_mode is SalesforceAuthMode.JWT
    assert settings.salesforce.private_key_path == tmp_path / "key.pem"


def test_comma_separated_lists_are_split_and_normalised(minimal_env):
    env = {
        **minimal_env,
        "APPROVAL_RISKY_COUNTRIES": " ir, kp ,",
        "ONBOARDING_ACCOUNT_TYPES": "A,B",
    }

    settings = load_settings(env)

    assert settings.approval.risky_countries == ["IR", "KP"]
    assert settings.onboarding.account_types == ["A", "B"]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("APPROVAL_RISKY_COUNTRIES", "Iran"),
        ("RECONCILE_PAGE_SIZE", "5000"),
        ("RECONCILE_SCHEDULE", "*/5 * * * *"),
        ("D2C_BASE_URL", "not a url"),
        ("SALESFORCE_API_VERSION", "v59"),
        ("RETRY_MAX_ATTEMPTS", "0"),
        ("PROFILE_STORE_KIND", "mongodb"),
        ("LAKE_CONTAINER", "Bad_Container"),
    ],
)
def test_invalid_values_are_refused_naming_the_variable(minimal_env, name, value):
    with pytest.raises(SettingsError) as caught:
        load_settings({**minimal_env, name: value})

    assert [problem[0] for problem in caught.value.problems] == [name]


def test_cosmos_store_requires_an_endpoint(minimal_env):
    with pytest.raises(SettingsError) as caught:
        load_settings({**minimal_env, "PROFILE_STORE_KIND": "cosmos"})

    assert caught.value.problems[0][0] == "PROFILE_STORE_COSMOS_ENDPOINT"


def test_blob_lake_requires_a_connection_string_or_account_url(minimal_env):
    with pytest.raises(SettingsError) as caught:
        load_settings({**minimal_env, "LAKE_KIND": "blob"})

    assert caught.value.problems[0][0] == "LAKE_CONNECTION_STRING"


def test_process_environment_and_mapping_read_the_same(minimal_env, monkeypatch):
    env = {**minimal_env, "APPROVAL_TIMEOUT_HOURS": "12", "RECONCILE_FANOUT": "7"}
    for key, value in env.items():
        monkeypatch.setenv(key, value)

    from_process = load_settings()
    from_mapping = load_settings(env)

    assert from_process.approval == from_mapping.approval
    assert from_process.reconcile == from_mapping.reconcile
    assert from_process.d2c == from_mapping.d2c


def test_empty_values_count_as_unset(minimal_env):
    settings = load_settings({**minimal_env, "SALESFORCE_INSTANCE_URL": ""})

    assert settings.salesforce.instance_url is None


def test_a_blob_audit_log_needs_the_lake_storage_account(minimal_env):
    with pytest.raises(SettingsError) as caught:
        load_settings({**minimal_env, "SUPPORT_AUDIT_KIND": "blob"})

    ((name, reason),) = caught.value.problems
    assert name == "SUPPORT_AUDIT_KIND" and "LAKE_CONNECTION_STRING" in reason


def test_a_blob_audit_log_shares_the_lake_account_even_with_a_folder_lake(minimal_env):
    env = {
        **minimal_env,
        "SUPPORT_AUDIT_KIND": "blob",
        "LAKE_ACCOUNT_URL": "https://acmelake.blob.core.windows.net",
    }

    settings = load_settings(env)

    assert settings.support.audit_kind == "blob" and settings.lake.kind is LakeKind.FOLDER
    assert settings.support.audit_container == "crosswalk-audit"


def test_a_chat_webhook_that_is_not_a_url_is_refused_without_echoing_it(minimal_env):
    with pytest.raises(SettingsError) as caught:
        load_settings({**minimal_env, "NOTIFY_WEBHOOK_URL": "ftp://hooks/secret-token"})

    assert caught.value.problems == [("NOTIFY_WEBHOOK_URL", "must be an http(s) URL")]
    assert "secret-token" not in str(caught.value)


def test_the_profile_api_defaults_to_entra_ids_v2_endpoints_for_the_tenant() -> None:
    from crosswalk.settings import ProfileApiSettings

    tenant = "7d0b3c3e-5b1a-4c1e-9a51-3c0f5e2d9a10"
    settings = ProfileApiSettings.model_validate({"tenant_id": tenant, "audience": "api-id"})

    assert settings.enabled
    assert settings.expected_issuer() == f"https://login.microsoftonline.com/{tenant}/v2.0"
    assert settings.keys_url() == (
        f"https://login.microsoftonline.com/{tenant}/discovery/v2.0/keys"
    )
    assert not ProfileApiSettings.model_validate({"tenant_id": tenant}).enabled


def test_a_group_from_a_workflows_policy_never_reads_this_processs_environment(monkeypatch):
    monkeypatch.setenv("APPROVAL_TIMEOUT_HOURS", "99")

    from_policy = ApprovalSettings.from_policy({"credit_limit_threshold": 1000})
    from_environment = ApprovalSettings()

    # what the starter put in the input, then the defaults: a replay decides alike anywhere
    assert from_policy.timeout_hours == ApprovalSettings.model_fields["timeout_hours"].default
    assert from_policy.credit_limit_threshold == 1000
    assert from_environment.timeout_hours == 99


def test_a_bad_policy_is_refused_every_time_it_is_read():
    for _ in range(2):  # nothing cached from a failure
        with pytest.raises(ValidationError):
            ApprovalSettings.from_policy({"timeout_hours": "soon"})
