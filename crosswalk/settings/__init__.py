"""Crosswalk's one settings object, read once at the edge from app settings / environment.

Each group is a pydantic-settings model with its own prefix, so an Azure app setting such as
`SALESFORCE_CLIENT_ID` maps to `settings.salesforce.client_id`. `load_settings()` reads the
process environment (what Azure and `local.settings.json` provide); `load_settings(mapping)`
reads only the given mapping, which is what tests use. Either way a missing or invalid setting
raises `SettingsError` naming the environment variable, never the Python attribute.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from pydantic import ValidationError

from crosswalk.settings.access import (
    AuditKind,
    ProfileApiSettings,
    SupportAuthMode,
    SupportSettings,
    TelemetrySettings,
)
from crosswalk.settings.base import G, Group, SettingsError
from crosswalk.settings.flows import (
    ApprovalSettings,
    CuratedSettings,
    ErasureSettings,
    FieldOwnershipSettings,
    OnboardingSettings,
    ReconcileSettings,
    RetrySettings,
    SalesforceErasure,
    SyncSettings,
    System,
    UnmatchedSignups,
)
from crosswalk.settings.systems import (
    D2CSettings,
    LakeKind,
    LakeSettings,
    NotifySettings,
    ProfileStoreKind,
    ProfileStoreSettings,
    RelaySettings,
    SalesforceAuthMode,
    SalesforceSettings,
)


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


GROUPS: dict[str, type[Group]] = {
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


def _env_name(group: type[Group], loc: tuple[Any, ...], message: str) -> tuple[str, str]:
    """Turn a pydantic error location into the environment variable a user must set."""
    field = str(loc[0]) if loc else ""
    if not field and ":" in message:
        # model validators name the field at the start of their message: "field: reason"
        field, _, message = message.removeprefix("Value error, ").partition(": ")
    return f"{group.prefix}{field.upper()}", message.removeprefix("Value error, ")


def _group_values(group: type[Group], upper: Mapping[str, str]) -> dict[str, str]:
    """The same lookup pydantic-settings does on the environment, on a given mapping."""
    names = {field: group.prefix + field.upper() for field in group.model_fields}
    return {field: upper[env] for field, env in names.items() if upper.get(env, "") != ""}


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Read every group from `environ` (default: the process environment), or fail loudly."""
    upper = {key.upper(): value for key, value in (environ or {}).items()}
    groups: dict[str, Group] = {}
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


def _cross_group_problems(groups: Mapping[str, Group]) -> list[tuple[str, str]]:
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


@lru_cache(maxsize=64)
def _policy(kind: type, raw: str) -> Any:
    return kind.model_validate(json.loads(raw))


def policy_group(kind: type[G], raw: Mapping[str, Any] | None) -> G:
    """A settings group from a policy snapshot, remembered: validating a settings group also
    reads the environment (pydantic-settings), which an orchestrator replaying many times a
    second should not repeat. The snapshot is complete, so the environment changes nothing."""
    return _policy(kind, json.dumps(raw or {}, sort_keys=True))


@lru_cache(maxsize=1)
def current_settings() -> Settings:
    """The process-wide settings, read on first use (never at import time)."""
    return load_settings()


__all__ = [
    "ApprovalSettings",
    "AuditKind",
    "CuratedSettings",
    "D2CSettings",
    "ErasureSettings",
    "FieldOwnershipSettings",
    "G",
    "GROUPS",
    "Group",
    "LakeKind",
    "LakeSettings",
    "NotifySettings",
    "OnboardingSettings",
    "ProfileApiSettings",
    "ProfileStoreKind",
    "ProfileStoreSettings",
    "ReconcileSettings",
    "RelaySettings",
    "RetrySettings",
    "SalesforceAuthMode",
    "SalesforceErasure",
    "SalesforceSettings",
    "Settings",
    "SettingsError",
    "SupportAuthMode",
    "SupportSettings",
    "SyncSettings",
    "System",
    "TelemetrySettings",
    "UnmatchedSignups",
    "current_settings",
    "load_group",
    "load_settings",
    "policy_group",
]
