"""Settings that shape the flows: approvals, onboarding, retries, reconciliation, erasure."""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import SettingsConfigDict

from crosswalk.settings.base import CommaList, Group, six_field_schedule, split_commas


class ApprovalSettings(Group):
    """When an onboarding waits for a person, and for how long."""

    model_config = SettingsConfigDict(env_prefix="APPROVAL_")

    credit_limit_threshold: float = Field(default=250_000, ge=0)
    annual_revenue_threshold: float = Field(default=1_000_000_000, ge=0)
    risky_countries: CommaList = Field(default_factory=lambda: ["CU", "IR", "KP", "SY"])
    require_tax_id: bool = True
    timeout_hours: float = Field(default=72, gt=0)
    escalations: int = Field(default=1, ge=0, le=10)

    _split = field_validator("risky_countries", mode="before")(split_commas)

    @field_validator("risky_countries")
    @classmethod
    def _iso_codes(cls, value: list[str]) -> list[str]:
        codes = [code.upper() for code in value]
        bad = [code for code in codes if len(code) != 2 or not code.isalpha()]
        if bad:
            raise ValueError(f"not ISO 3166-1 alpha-2 codes: {', '.join(bad)}")
        return codes


class OnboardingSettings(Group):
    """Which accounts become D2C customers, and the defaults their terms start from."""

    model_config = SettingsConfigDict(env_prefix="ONBOARDING_")

    account_types: CommaList = Field(
        default_factory=lambda: ["Customer - Direct", "Customer - Channel"]
    )
    default_currency: str = Field(default="USD", pattern=r"^[A-Z]{3}$")
    default_payment_terms_days: int = Field(default=30, ge=0, le=180)

    _split = field_validator("account_types", mode="before")(split_commas)


class RetrySettings(Group):
    """Durable retry options for calls to outside systems (transient errors only)."""

    model_config = SettingsConfigDict(env_prefix="RETRY_")

    first_interval_seconds: float = Field(default=5, gt=0)
    backoff_coefficient: float = Field(default=2.0, ge=1)
    max_interval_seconds: float = Field(default=300, gt=0)
    max_attempts: int = Field(default=5, ge=1, le=50)


class ReconcileSettings(Group):
    """The timer-driven reconciliation run."""

    model_config = SettingsConfigDict(env_prefix="RECONCILE_")

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
    onboard_in_batches: bool = True
    """Missing accounts that need no approval are onboarded many per orchestration."""
    # Salesforce stamps SystemModstamp when a transaction starts and in whole seconds, so a
    # record committed after a run read past its stamp carries one at or before the new
    # watermark ("in flight", salesforce.stackexchange.com/q/234824): each run re-reads this
    # much before the watermark, and records it finds twice are simply in sync.
    overlap_seconds: float = Field(default=300, ge=0, le=86_400)

    _six_fields = field_validator("schedule")(six_field_schedule)


class System(StrEnum):
    """The two systems Crosswalk keeps in step; each mapped field is owned by one of them."""

    SALESFORCE = "salesforce"
    D2C = "d2c"


class FieldOwnershipSettings(Group):
    """Which system owns each mapped customer field: the owner's value always wins.

    A change to a field from the system that does not own it is ignored and logged, never
    propagated. `email_domain` is derived from the website and follows its owner.
    """

    model_config = SettingsConfigDict(env_prefix="FIELD_OWNER_")

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


class SyncSettings(Group):
    """Two-way sync after onboarding: updates, deletions, sign-ups (flows 2 and 3)."""

    model_config = SettingsConfigDict(env_prefix="SYNC_")

    restore_owner_values: bool = True
    deactivate_on_delete: bool = True
    unmatched_signups: UnmatchedSignups = UnmatchedSignups.LEAD


class SalesforceErasure(StrEnum):
    DELETE = "delete"
    ANONYMISE = "anonymise"


class ErasureSettings(Group):
    """Erasing a person on request. `key` makes the tombstones and the raw zone's person index
    (keyed hashes, never the e-mail): a Key Vault reference in Azure, at least 32 characters;
    erasure is off (503) without it. Changing it orphans the tombstones made under the old one.
    `salesforce` deletes the Contact/Lead, or keeps it anonymised for the books."""

    model_config = SettingsConfigDict(env_prefix="ERASURE_")

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


class CuratedSettings(Group):
    """The curated zone keeps itself fresh: NCRONTAB schedules of the timer functions (read by
    their bindings as `%CURATED_REFRESH_SCHEDULE%` / `%CURATED_COMPACT_SCHEDULE%`), and how
    long vacuum keeps files older versions need."""

    model_config = SettingsConfigDict(env_prefix="CURATED_")

    refresh_schedule: str = Field(default="0 */15 * * * *", min_length=9, max_length=100)
    compact_schedule: str = Field(default="0 30 3 * * *", min_length=9, max_length=100)
    vacuum_retention_hours: int = Field(default=168, ge=0, le=24 * 365)
