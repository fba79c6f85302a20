"""Settings for who may look in: the support console, the profile API, telemetry."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

from pydantic import AnyHttpUrl, Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from crosswalk.settings.base import Group


class SupportAuthMode(StrEnum):
    EASYAUTH = "easyauth"
    DEV_TOKEN = "dev_token"


class AuditKind(StrEnum):
    SQLITE = "sqlite"
    BLOB = "blob"


class SupportSettings(Group):
    """The support API and console: who may call it, what they may see, where actions are audited.

    `easyauth` trusts the `X-MS-CLIENT-PRINCIPAL` header, which App Service authentication
    sets (and strips from clients), so use it only where that is switched on; `dev_token`
    accepts bearer tokens signed with `dev_token_key` (local runs and tests).
    """

    model_config = SettingsConfigDict(env_prefix="SUPPORT_")

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


class ProfileApiSettings(Group):
    """The profile API for the storefront's backend: Entra ID bearer tokens, checked here.

    The API is off (503, naming these settings) until `tenant_id` and `audience` are set.
    `issuer` and `jwks_url` default to Entra's v2.0 endpoints under `authority`; set them only
    for another authority (the sandbox's Entra stand-in sets `authority`).
    """

    model_config = SettingsConfigDict(env_prefix="PROFILE_API_")

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


class TelemetrySettings(Group):
    """Where traces, metrics and logs go: Application Insights, an OTLP endpoint, both or none.

    The names are the ones Azure and OpenTelemetry define, so the Functions host (host.json
    `telemetryMode: OpenTelemetry`) and the app read the same app settings. Neither set means
    no telemetry at all: nothing is installed and nothing is paid.
    """

    model_config = SettingsConfigDict(env_prefix="")

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
