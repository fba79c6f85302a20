"""Settings for the outside systems: Salesforce, D2C, the stores, chat, Event Grid."""

from __future__ import annotations

import re
from enum import StrEnum
from pathlib import Path

from pydantic import AnyHttpUrl, Field, SecretStr, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from crosswalk.settings.base import CommaList, Group, six_field_schedule, split_commas


class SalesforceAuthMode(StrEnum):
    JWT = "jwt"
    CLIENT_CREDENTIALS = "client_credentials"


_LOGIN_HOSTS = ("login.salesforce.com", "test.salesforce.com")


class SalesforceSettings(Group):
    """How to reach the org: OAuth 2.0 at the token host, then the REST API.

    The token host and the JWT audience are two settings because Salesforce wants different
    values in them: the client credentials flow only works on the org's My Domain ("doesn't
    support calls to login.salesforce.com or test.salesforce.com"), while a JWT's `aud` must
    be login.salesforce.com or test.salesforce.com, never My Domain ("audience is invalid").
    """

    model_config = SettingsConfigDict(env_prefix="SALESFORCE_")

    login_url: AnyHttpUrl | None = None
    jwt_audience: AnyHttpUrl | None = None
    instance_url: AnyHttpUrl | None = None
    api_version: str = Field(default="59.0", pattern=r"^\d{2}\.0$")
    auth_mode: SalesforceAuthMode = SalesforceAuthMode.CLIENT_CREDENTIALS
    client_id: str = Field(min_length=1)
    client_secret: SecretStr | None = None
    username: str | None = None
    private_key_path: Path | None = None
    private_key_secret_uri: AnyHttpUrl | None = Field(
        default=None,
        examples=["https://kv-example.vault.azure.net/secrets/salesforce-jwt-key"],
    )
    """The JWT key as a Key Vault secret, read with the app's identity (no version: the latest,
    so a rotation is picked up); instead of private_key_path."""
    ca_bundle: Path | None = None
    client_name: str = Field(default="crosswalk", pattern=r"^[A-Za-z0-9_-]{1,40}$")
    state_country_picklists: bool = False
    integration_user_id: str | None = Field(
        default=None, pattern=r"^005[0-9A-Za-z]{12}([0-9A-Za-z]{3})?$"
    )
    timeout_seconds: float = Field(default=30.0, gt=0, le=300)
    api_reserve_percent: float = Field(default=10, ge=0, lt=100)
    """Share of the org's daily API allowance Crosswalk never spends (people, other apps)."""
    allowance_wait_seconds: float = Field(default=900, ge=1, le=86_400)
    """How long work waits below the reserve before trying again."""

    @field_validator("private_key_secret_uri")
    @classmethod
    def _a_key_vault_secret(cls, value: AnyHttpUrl | None) -> AnyHttpUrl | None:
        segments = [s for s in (value.path or "").split("/") if s] if value else []
        if value is not None and (
            value.scheme != "https" or len(segments) not in (2, 3) or segments[0] != "secrets"
        ):
            raise ValueError("must be https://<vault>.vault.azure.net/secrets/<name>[/<version>]")
        return value

    @model_validator(mode="after")
    def _credentials_for_mode(self) -> SalesforceSettings:
        if self.auth_mode is SalesforceAuthMode.CLIENT_CREDENTIALS:
            if self.client_secret is None:
                raise ValueError("client_secret: required when auth_mode is client_credentials")
            host = (self.login_url or self.instance_url or AnyHttpUrl("https://-")).host
            if host in _LOGIN_HOSTS or host == "-":
                raise ValueError(
                    "login_url: the org's My Domain (https://NAME.my.salesforce.com) when "
                    "auth_mode is client_credentials; Salesforce refuses the flow on "
                    "login.salesforce.com and test.salesforce.com"
                )
        if self.auth_mode is SalesforceAuthMode.JWT:
            if self.private_key_path is None and self.private_key_secret_uri is None:
                raise ValueError("private_key_path: required when auth_mode is jwt")
            if self.private_key_path is not None and self.private_key_secret_uri is not None:
                raise ValueError("private_key_secret_uri: give it or private_key_path, not both")
            if not self.username:
                raise ValueError("username: required when auth_mode is jwt")
            if self.jwt_audience is not None and self.jwt_audience.host not in _LOGIN_HOSTS:
                raise ValueError(
                    "jwt_audience: https://login.salesforce.com (production) or "
                    "https://test.salesforce.com (sandbox orgs); Salesforce refuses any other "
                    "audience, My Domain included"
                )
        return self

    @property
    def token_url(self) -> str:
        """Where tokens are requested: the login URL, else My Domain (the instance URL), else
        login.salesforce.com (JWT only; client credentials never get here unset)."""
        base = self.login_url or self.instance_url or "https://login.salesforce.com"
        return str(base).rstrip("/") + "/services/oauth2/token"

    @property
    def audience(self) -> str:
        """The JWT's `aud`: the setting, else test.salesforce.com for a sandbox org's hosts
        (test.salesforce.com, NAME--SANDBOX.sandbox.my.salesforce.com), else login."""
        if self.jwt_audience is not None:
            return str(self.jwt_audience).rstrip("/")
        host = (self.login_url or self.instance_url or AnyHttpUrl("https://-")).host or ""
        sandbox_org = host == "test.salesforce.com" or host.endswith(".sandbox.my.salesforce.com")
        return "https://test.salesforce.com" if sandbox_org else "https://login.salesforce.com"


class D2CSettings(Group):
    """The company's D2C customer API (docs/d2c-api.yaml)."""

    model_config = SettingsConfigDict(env_prefix="D2C_")

    base_url: AnyHttpUrl
    token: SecretStr
    timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    # The D2C Event Grid topic: Crosswalk publishes there only to replay events Event Grid
    # dead-lettered (the D2C platform publishes the rest). Key: the local stand-in only;
    # None means Entra ID (the app's identity with EventGrid Data Sender), as in Azure.
    event_grid_endpoint: AnyHttpUrl | None = None
    event_grid_key: SecretStr | None = None
    event_grid_ca_bundle: Path | None = None


class ProfileStoreKind(StrEnum):
    SQLITE = "sqlite"
    COSMOS = "cosmos"


class ProfileStoreSettings(Group):
    """Where unified profiles live: SQLite locally, Cosmos DB for NoSQL in Azure."""

    model_config = SettingsConfigDict(env_prefix="PROFILE_STORE_")

    kind: ProfileStoreKind = ProfileStoreKind.SQLITE
    sqlite_path: Path = Path(".crosswalk/profiles.sqlite3")
    cosmos_endpoint: AnyHttpUrl | None = None
    cosmos_key: SecretStr | None = None
    cosmos_database: str = "crosswalk"
    cosmos_container: str = "profiles"
    cosmos_feed_settle_seconds: float = Field(default=5.0, ge=0, le=300)

    @model_validator(mode="after")
    def _cosmos_needs_endpoint(self) -> ProfileStoreSettings:
        if self.kind is ProfileStoreKind.COSMOS and self.cosmos_endpoint is None:
            raise ValueError("cosmos_endpoint: required when kind is cosmos")
        return self


class LakeKind(StrEnum):
    FOLDER = "folder"
    BLOB = "blob"


class LakeSettings(Group):
    """The raw zone of the data lake: a folder locally, Blob Storage / ADLS Gen2 in Azure."""

    model_config = SettingsConfigDict(env_prefix="LAKE_")

    kind: LakeKind = LakeKind.FOLDER
    folder: Path = Path(".crosswalk/lake")
    connection_string: SecretStr | None = None
    account_url: AnyHttpUrl | None = None
    container: str = Field(
        default="crosswalk-lake", pattern=r"^[a-z0-9](?:[a-z0-9-]{1,61})[a-z0-9]$"
    )
    # Raw zone (crosswalk/lake/raw.py): every event received, in JSON Lines batches.
    raw_enabled: bool = True
    raw_batch_size: int = Field(default=500, ge=1, le=10_000)
    raw_flush_seconds: float = Field(default=5.0, gt=0, le=300)
    raw_max_buffer: int = Field(default=50_000, ge=1, le=1_000_000)
    # Curated zone (crosswalk/lake/curated.py): the profiles as a Delta Lake table.
    curated_path: str = Field(
        default="curated/profiles", pattern=r"^[a-z0-9][a-z0-9_-]*(/[a-z0-9][a-z0-9_-]*)*$"
    )
    # Where Event Grid dead-letters what it could not deliver to the app: a container on the
    # same account (infra/main.bicep), a folder beside LAKE_FOLDER locally.
    eventgrid_deadletter_container: str = Field(
        default="eventgrid-deadletter", pattern=r"^[a-z0-9](?:[a-z0-9-]{1,61})[a-z0-9]$"
    )

    @model_validator(mode="after")
    def _blob_needs_address(self) -> LakeSettings:
        if self.kind is LakeKind.BLOB and not (self.connection_string or self.account_url):
            raise ValueError("connection_string: or account_url is required when kind is blob")
        return self


class NotifySettings(Group):
    """Where Crosswalk tells people that something waits for them (approvals, undo failures).

    `webhook_url` takes a chat incoming webhook (Teams, Slack, or anything that accepts a JSON
    `{"text": ...}`); it carries its own secret, so it is treated as one. Without it the
    notifications are only logged.
    """

    model_config = SettingsConfigDict(env_prefix="NOTIFY_")

    webhook_url: SecretStr | None = None
    console_url: AnyHttpUrl | None = None
    timeout_seconds: float = Field(default=10.0, gt=0, le=60)

    @field_validator("webhook_url")
    @classmethod
    def _http_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith(("https://", "http://")):
            raise ValueError("must be an http(s) URL")  # the value itself stays out of errors
        return value


class RelaySettings(Group):
    """The Pub/Sub API relay (crosswalk/relay): Salesforce change events -> Event Grid."""

    model_config = SettingsConfigDict(env_prefix="RELAY_")

    enabled: bool = False
    schedule: str = "0 * * * * *"  # the timer binding reads %RELAY_SCHEDULE% itself
    pubsub_endpoint: str = Field(
        default="api.pubsub.salesforce.com:7443", pattern=r"^[A-Za-z0-9.-]+:\d{1,5}$"
    )
    ca_bundle: Path | None = None  # None: the system's public roots (Salesforce)
    topics: CommaList = Field(
        default_factory=lambda: ["/data/AccountChangeEvent", "/data/ContactChangeEvent"]
    )
    event_grid_endpoint: AnyHttpUrl | None = None
    event_grid_key: SecretStr | None = None  # None: Entra ID (DefaultAzureCredential)
    event_grid_ca_bundle: Path | None = None
    session_seconds: float = Field(default=290, ge=5, le=3600)
    batch_size: int = Field(default=100, ge=1, le=100)
    lease_seconds: float = Field(default=60, ge=2, le=600)
    max_checkpoint_age_hours: float = Field(default=71, gt=0, le=72)

    _split = field_validator("topics", mode="before")(split_commas)
    _six_fields = field_validator("schedule")(six_field_schedule)

    @field_validator("topics")
    @classmethod
    def _channels(cls, value: list[str]) -> list[str]:
        bad = [t for t in value if not re.fullmatch(r"/data/[A-Za-z0-9_]{1,80}", t)]
        if bad or not value:
            raise ValueError(f"not change event channels (/data/<Name>): {', '.join(bad)}")
        return value

    @model_validator(mode="after")
    def _needs_topic(self) -> RelaySettings:
        if self.enabled and self.event_grid_endpoint is None:
            raise ValueError("event_grid_endpoint: required when the relay is enabled")
        return self
