"""Crosswalk's one settings object, read once at the edge from app settings / environment.

Each group is a pydantic-settings model with its own prefix, so an Azure app setting such as
`SALESFORCE_CLIENT_ID` maps to `settings.salesforce.client_id`. `load_settings()` reads the
process environment (what Azure and `local.settings.json` provide); `load_settings(mapping)`
reads only the given mapping, which is what tests use. Either way a missing or invalid setting
raises `SettingsError` naming the environment variable, never the Python attribute.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, ClassVar, TypeVar

from pydantic import (
    AnyHttpUrl,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from crosswalk.errors import ConfigurationError

CommaList = Annotated[list[str], NoDecode]


def _split_commas(value: Any) -> Any:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


def _six_field_schedule(value: str) -> str:
    if len(value.split()) != 6:
        raise ValueError("NCRONTAB needs six fields, seconds first (e.g. '0 0 2 * * *')")
    return value


class SettingsError(ConfigurationError):
    """A setting is missing or invalid; the message names each environment variable."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = problems
        lines = "; ".join(f"{name}: {reason}" for name, reason in problems)
        super().__init__(f"invalid settings: {lines}")


class _Group(BaseSettings):
    """A settings group: one env prefix, unknown variables ignored, values validated."""

    model_config = SettingsConfigDict(
        extra="ignore", case_sensitive=False, frozen=True, env_ignore_empty=True
    )
    prefix: ClassVar[str] = ""


G = TypeVar("G", bound=_Group)


class SalesforceAuthMode(StrEnum):
    JWT = "jwt"
    CLIENT_CREDENTIALS = "client_credentials"


_LOGIN_HOSTS = ("login.salesforce.com", "test.salesforce.com")


class SalesforceSettings(_Group):
    """How to reach the org: OAuth 2.0 at the token host, then the REST API.

    The token host and the JWT audience are two settings because Salesforce wants different
    values in them: the client credentials flow only works on the org's My Domain ("doesn't
    support calls to login.salesforce.com or test.salesforce.com"), while a JWT's `aud` must
    be login.salesforce.com or test.salesforce.com, never My Domain ("audience is invalid").
    """

    model_config = SettingsConfigDict(env_prefix="SALESFORCE_")
    prefix: ClassVar[str] = "SALESFORCE_"

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


class D2CSettings(_Group):
    """The company's D2C customer API (docs/d2c-api.yaml)."""

    model_config = SettingsConfigDict(env_prefix="D2C_")
    prefix: ClassVar[str] = "D2C_"

    base_url: AnyHttpUrl
    token: SecretStr
    timeout_seconds: float = Field(default=10.0, gt=0, le=120)


class ProfileStoreKind(StrEnum):
    SQLITE = "sqlite"
    COSMOS = "cosmos"


class ProfileStoreSettings(_Group):
    """Where unified profiles live: SQLite locally, Cosmos DB for NoSQL in Azure."""

    model_config = SettingsConfigDict(env_prefix="PROFILE_STORE_")
    prefix: ClassVar[str] = "PROFILE_STORE_"

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


class LakeSettings(_Group):
    """The raw zone of the data lake: a folder locally, Blob Storage / ADLS Gen2 in Azure."""

    model_config = SettingsConfigDict(env_prefix="LAKE_")
    prefix: ClassVar[str] = "LAKE_"

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

    @model_validator(mode="after")
    def _blob_needs_address(self) -> LakeSettings:
        if self.kind is LakeKind.BLOB and not (self.connection_string or self.account_url):
            raise ValueError("connection_string: or account_url is required when kind is blob")
        return self


class ApprovalSettings(_Group):
    """When an onboarding waits for a person, and for how long."""

    model_config = SettingsConfigDict(env_prefix="APPROVAL_")
    prefix: ClassVar[str] = "APPROVAL_"

    credit_limit_threshold: float = Field(default=250_000, ge=0)
    annual_revenue_threshold: float = Field(default=1_000_000_000, ge=0)
    risky_countries: CommaList = Field(default_factory=lambda: ["CU", "IR", "KP", "SY"])
    require_tax_id: bool = True
    timeout_hours: float = Field(default=72, gt=0)
    escalations: int = Field(default=1, ge=0, le=10)

    _split = field_validator("risky_countries", mode="before")(_split_commas)

    @field_validator("risky_countries")
    @classmethod
    def _iso_codes(cls, value: list[str]) -> list[str]:
        codes = [code.upper() for code in value]
        bad = [code for code in codes if len(code) != 2 or not code.isalpha()]
        if bad:
            raise ValueError(f"not ISO 3166-1 alpha-2 codes: {', '.join(bad)}")
        return codes


class OnboardingSettings(_Group):
    """Which accounts become D2C customers, and the defaults their terms start from."""

    model_config = SettingsConfigDict(env_prefix="ONBOARDING_")
    prefix: ClassVar[str] = "ONBOARDING_"

    account_types: CommaList = Field(
        default_factory=lambda: ["Customer - Direct", "Customer - Channel"]
    )
    default_currency: str = Field(default="USD", pattern=r"^[A-Z]{3}$")
    default_payment_terms_days: int = Field(default=30, ge=0, le=180)

    _split = field_validator("account_types", mode="before")(_split_commas)


class RetrySettings(_Group):
    """Durable retry options for calls to outside systems (transient errors only)."""

    model_config = SettingsConfigDict(env_prefix="RETRY_")
    prefix: ClassVar[str] = "RETRY_"

    first_interval_seconds: float = Field(default=5, gt=0)
    backoff_coefficient: float = Field(default=2.0, ge=1)
    max_interval_seconds: float = Field(default=300, gt=0)
    max_attempts: int = Field(default=5, ge=1, le=50)


class ReconcileSettings(_Group):
    """The timer-driven reconciliation run."""

    model_config = SettingsConfigDict(env_prefix="RECONCILE_")
    prefix: ClassVar[str] = "RECONCILE_"

    schedule: str = "0 0 2 * * *"
    page_size: int = Field(default=2000, ge=200, le=2000)
    fanout: int = Field(default=50, ge=1, le=1000)
    stuck_after_hours: float = Field(default=24, gt=0)
    bulk_threshold: int = Field(default=2000, ge=1)
    """A scan this large stages its write-backs; this many due go through Bulk API 2.0."""
    bulk_scan_threshold: int = Field(default=10_000, ge=1)
    """A scan this large (its first page's `totalSize`) reads through Bulk API 2.0 query jobs."""
    bulk_results_page: int = Field(default=50_000, ge=200, le=1_000_000)
    """Rows per Bulk API 2.0 results set (`maxRecords`): one request each."""
    # Salesforce stamps SystemModstamp when a transaction starts and in whole seconds, so a
    # record committed after a run read past its stamp carries one at or before the new
    # watermark ("in flight", salesforce.stackexchange.com/q/234824): each run re-reads this
    # much before the watermark, and records it finds twice are simply in sync.
    overlap_seconds: float = Field(default=300, ge=0, le=86_400)

    _six_fields = field_validator("schedule")(_six_field_schedule)


class System(StrEnum):
    """The two systems Crosswalk keeps in step; each mapped field is owned by one of them."""

    SALESFORCE = "salesforce"
    D2C = "d2c"


class FieldOwnershipSettings(_Group):
    """Which system owns each mapped customer field: the owner's value always wins.

    A change to a field from the system that does not own it is ignored and logged, never
    propagated. `email_domain` is derived from the website and follows its owner.
    """

    model_config = SettingsConfigDict(env_prefix="FIELD_OWNER_")
    prefix: ClassVar[str] = "FIELD_OWNER_"

    name: System = System.SALESFORCE
    website: System = System.SALESFORCE
    tax_id: System = System.SALESFORCE
    industry: System = System.SALESFORCE
    billing_address: System = System.SALESFORCE
    credit_terms: System = System.SALESFORCE
    phone: System = System.D2C
    marketing_consent: System = System.D2C


class UnmatchedSignups(StrEnum):
    LEAD = "lead"
    IGNORE = "ignore"


class SyncSettings(_Group):
    """Two-way sync after onboarding: updates, deletions, sign-ups (flows 2 and 3)."""

    model_config = SettingsConfigDict(env_prefix="SYNC_")
    prefix: ClassVar[str] = "SYNC_"

    restore_owner_values: bool = True
    deactivate_on_delete: bool = True
    unmatched_signups: UnmatchedSignups = UnmatchedSignups.LEAD


class SupportAuthMode(StrEnum):
    EASYAUTH = "easyauth"
    DEV_TOKEN = "dev_token"


class AuditKind(StrEnum):
    SQLITE = "sqlite"
    BLOB = "blob"


class SupportSettings(_Group):
    """The support API and console: who may call it, what they may see, where actions are audited.

    `easyauth` trusts the `X-MS-CLIENT-PRINCIPAL` header, which App Service authentication
    sets (and strips from clients), so use it only where that is switched on; `dev_token`
    accepts bearer tokens signed with `dev_token_key` (local runs and tests).
    """

    model_config = SettingsConfigDict(env_prefix="SUPPORT_")
    prefix: ClassVar[str] = "SUPPORT_"

    auth_mode: SupportAuthMode = SupportAuthMode.EASYAUTH
    dev_token_key: SecretStr | None = None
    pii_role: str = Field(default="Support.Approve", min_length=1, max_length=100)
    audit_kind: AuditKind = AuditKind.SQLITE
    audit_sqlite_path: Path = Path(".crosswalk/audit.sqlite3")
    audit_container: str = Field(
        default="crosswalk-audit", pattern=r"^[a-z0-9](?:[a-z0-9-]{1,61})[a-z0-9]$"
    )
    approval_sla_hours: float = Field(default=24, gt=0)
    bulk_retry_max: int = Field(default=100, ge=1, le=1000)
    salesforce_reserve_percent: float = Field(default=20, ge=0, le=100)
    # where a record page links an instance's trace: {operation_id} is the W3C trace id,
    # which Application Insights calls the operation id
    trace_url: str | None = Field(
        default=None, max_length=2000, pattern=r"^https?://[^\s]*\{operation_id\}[^\s]*$"
    )

    @model_validator(mode="after")
    def _dev_token_needs_key(self) -> SupportSettings:
        if self.auth_mode is SupportAuthMode.DEV_TOKEN:
            key = self.dev_token_key.get_secret_value() if self.dev_token_key else ""
            if len(key) < 32:
                raise ValueError("dev_token_key: needs 32+ characters for auth_mode dev_token")
        return self


class NotifySettings(_Group):
    """Where Crosswalk tells people that something waits for them (approvals, undo failures).

    `webhook_url` takes a chat incoming webhook (Teams, Slack, or anything that accepts a JSON
    `{"text": ...}`); it carries its own secret, so it is treated as one. Without it the
    notifications are only logged.
    """

    model_config = SettingsConfigDict(env_prefix="NOTIFY_")
    prefix: ClassVar[str] = "NOTIFY_"

    webhook_url: SecretStr | None = None
    console_url: AnyHttpUrl | None = None
    timeout_seconds: float = Field(default=10.0, gt=0, le=60)

    @field_validator("webhook_url")
    @classmethod
    def _http_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith(("https://", "http://")):
            raise ValueError("must be an http(s) URL")  # the value itself stays out of errors
        return value


class ProfileApiSettings(_Group):
    """The profile API for the storefront's backend: Entra ID bearer tokens, checked here.

    The API is off (503, naming these settings) until `tenant_id` and `audience` are set.
    `issuer` and `jwks_url` default to Entra's v2.0 endpoints under `authority`; set them only
    for another authority (the sandbox's Entra stand-in sets `authority`).
    """

    model_config = SettingsConfigDict(env_prefix="PROFILE_API_")
    prefix: ClassVar[str] = "PROFILE_API_"

    tenant_id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9.-]{1,100}$")
    audience: str | None = Field(default=None, min_length=1, max_length=300)
    authority: AnyHttpUrl = AnyHttpUrl("https://login.microsoftonline.com")
    issuer: str | None = Field(default=None, min_length=1, max_length=300)
    jwks_url: AnyHttpUrl | None = None
    ca_bundle: Path | None = None  # None: public roots (Entra ID); the stand-in's local CA
    required_role: str = Field(default="Profiles.Read", min_length=1, max_length=100)
    clock_skew_seconds: int = Field(default=60, ge=0, le=300)
    jwks_refresh_cooldown_seconds: float = Field(default=30, ge=0, le=3600)

    @property
    def enabled(self) -> bool:
        return bool(self.tenant_id and self.audience)

    def expected_issuer(self) -> str:
        return self.issuer or f"{str(self.authority).rstrip('/')}/{self.tenant_id}/v2.0"

    def keys_url(self) -> str:
        if self.jwks_url is not None:
            return str(self.jwks_url)
        return f"{str(self.authority).rstrip('/')}/{self.tenant_id}/discovery/v2.0/keys"


class SalesforceErasure(StrEnum):
    DELETE = "delete"
    ANONYMISE = "anonymise"


class ErasureSettings(_Group):
    """Erasing a person on request. `key` makes the tombstones and the raw zone's person index
    (keyed hashes, never the e-mail): a Key Vault reference in Azure, at least 32 characters;
    erasure is off (503) without it. Changing it orphans the tombstones made under the old one.
    `salesforce` deletes the Contact/Lead, or keeps it anonymised for the books."""

    model_config = SettingsConfigDict(env_prefix="ERASURE_")
    prefix: ClassVar[str] = "ERASURE_"

    key: SecretStr | None = None
    salesforce: SalesforceErasure = SalesforceErasure.ANONYMISE

    @field_validator("key")
    @classmethod
    def _long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 32:
            raise ValueError("must be at least 32 characters")  # the value stays out of errors
        return value

    def key_bytes(self) -> bytes | None:
        return None if self.key is None else self.key.get_secret_value().encode()


class CuratedSettings(_Group):
    """The curated zone keeps itself fresh: NCRONTAB schedules of the timer functions (read by
    their bindings as `%CURATED_REFRESH_SCHEDULE%` / `%CURATED_COMPACT_SCHEDULE%`), and how
    long vacuum keeps files older versions need."""

    model_config = SettingsConfigDict(env_prefix="CURATED_")
    prefix: ClassVar[str] = "CURATED_"

    refresh_schedule: str = Field(default="0 */15 * * * *", min_length=9, max_length=100)
    compact_schedule: str = Field(default="0 30 3 * * *", min_length=9, max_length=100)
    vacuum_retention_hours: int = Field(default=168, ge=0, le=24 * 365)


class TelemetrySettings(_Group):
    """Where traces, metrics and logs go: Application Insights, an OTLP endpoint, both or none.

    The names are the ones Azure and OpenTelemetry define, so the Functions host (host.json
    `telemetryMode: OpenTelemetry`) and the app read the same app settings. Neither set means
    no telemetry at all: nothing is installed and nothing is paid.
    """

    model_config = SettingsConfigDict(env_prefix="")
    prefix: ClassVar[str] = ""

    applicationinsights_connection_string: SecretStr | None = None
    applicationinsights_authentication_string: str | None = Field(
        default=None, pattern=r"^(ClientId=[0-9a-fA-F-]{36};)?Authorization=AAD$"
    )
    """`Authorization=AAD`: send with the app's managed identity (`ClientId=<id>;` first for a
    user-assigned one), so Application Insights can keep local auth off. The host reads it too."""
    otel_exporter_otlp_endpoint: AnyHttpUrl | None = None
    otel_service_name: str = Field(default="crosswalk", min_length=1, max_length=100)
    otel_metric_export_interval: int = Field(default=60_000, ge=100, le=3_600_000)
    """Milliseconds between metric exports (the OpenTelemetry SDK's own variable)."""

    @property
    def enabled(self) -> bool:
        return bool(self.applicationinsights_connection_string or self.otel_exporter_otlp_endpoint)


class RelaySettings(_Group):
    """The Pub/Sub API relay (crosswalk/relay): Salesforce change events -> Event Grid."""

    model_config = SettingsConfigDict(env_prefix="RELAY_")
    prefix: ClassVar[str] = "RELAY_"

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

    _split = field_validator("topics", mode="before")(_split_commas)
    _six_fields = field_validator("schedule")(_six_field_schedule)

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


@dataclass(frozen=True, slots=True)
class Settings:
    """All groups together; built by `load_settings`, then passed in, never re-read."""

    salesforce: SalesforceSettings
    d2c: D2CSettings
    profile_store: ProfileStoreSettings
    lake: LakeSettings
    approval: ApprovalSettings
    onboarding: OnboardingSettings
    retry: RetrySettings
    reconcile: ReconcileSettings
    ownership: FieldOwnershipSettings
    sync: SyncSettings
    notify: NotifySettings
    support: SupportSettings
    profile_api: ProfileApiSettings
    telemetry: TelemetrySettings
    relay: RelaySettings
    erasure: ErasureSettings
    curated: CuratedSettings


GROUPS: dict[str, type[_Group]] = {
    "salesforce": SalesforceSettings,
    "d2c": D2CSettings,
    "profile_store": ProfileStoreSettings,
    "lake": LakeSettings,
    "approval": ApprovalSettings,
    "onboarding": OnboardingSettings,
    "retry": RetrySettings,
    "reconcile": ReconcileSettings,
    "ownership": FieldOwnershipSettings,
    "sync": SyncSettings,
    "support": SupportSettings,
    "notify": NotifySettings,
    "profile_api": ProfileApiSettings,
    "telemetry": TelemetrySettings,
    "relay": RelaySettings,
    "erasure": ErasureSettings,
    "curated": CuratedSettings,
}


def _env_name(group: type[_Group], loc: tuple[Any, ...], message: str) -> tuple[str, str]:
    """Turn a pydantic error location into the environment variable a user must set."""
    field = str(loc[0]) if loc else ""
    if not field and ":" in message:
        # model validators name the field at the start of their message: "field: reason"
        field, _, message = message.removeprefix("Value error, ").partition(": ")
    return f"{group.prefix}{field.upper()}", message.removeprefix("Value error, ")


def _group_values(group: type[_Group], upper: Mapping[str, str]) -> dict[str, str]:
    """The same lookup pydantic-settings does on the environment, on a given mapping."""
    names = {field: group.prefix + field.upper() for field in group.model_fields}
    return {field: upper[env] for field, env in names.items() if upper.get(env, "") != ""}


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Read every group from `environ` (default: the process environment), or fail loudly."""
    upper = {key.upper(): value for key, value in (environ or {}).items()}
    groups: dict[str, _Group] = {}
    problems: list[tuple[str, str]] = []
    for name, group in GROUPS.items():
        try:
            if environ is None:
                groups[name] = group()  # pydantic-settings reads the process environment
            else:
                groups[name] = group.model_validate(_group_values(group, upper))
        except ValidationError as exc:
            problems.extend(_env_name(group, err["loc"], err["msg"]) for err in exc.errors())
    problems.extend(_cross_group_problems(groups))
    if problems:
        raise SettingsError(problems)
    return Settings(**groups)


def _cross_group_problems(groups: Mapping[str, _Group]) -> list[tuple[str, str]]:
    """Settings that are valid alone but not together."""
    support, lake = groups.get("support"), groups.get("lake")
    if (
        isinstance(support, SupportSettings)
        and isinstance(lake, LakeSettings)
        and support.audit_kind is AuditKind.BLOB
        and not (lake.connection_string or lake.account_url)
    ):
        why = "blob keeps the audit log in the lake's storage account: set LAKE_CONNECTION_STRING"
        return [("SUPPORT_AUDIT_KIND", f"{why} or LAKE_ACCOUNT_URL")]
    return []


def load_group(group: type[G], environ: Mapping[str, str] | None = None) -> G:
    """Read one group alone (what must work before the rest is configured, e.g. telemetry)."""
    try:
        if environ is None:
            return group()
        upper = {key.upper(): value for key, value in environ.items()}
        return group.model_validate(_group_values(group, upper))
    except ValidationError as exc:
        raise SettingsError(
            [_env_name(group, err["loc"], err["msg"]) for err in exc.errors()]
        ) from None


@lru_cache(maxsize=1)
def current_settings() -> Settings:
    """The process-wide settings, read on first use (never at import time)."""
    return load_settings()
