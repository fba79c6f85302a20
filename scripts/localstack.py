"""What `make run`, the end-to-end tests and the benchmarks share: the app's settings for a
running sandbox, and which seeded accounts go which way through onboarding."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from crosswalk.models import SalesforceAccount
from crosswalk.rules import approval_reasons, qualifies_for_onboarding
from crosswalk.settings import ApprovalSettings, OnboardingSettings

APP_DIR = Path(__file__).resolve().parents[1]


def app_env(sb: Any, data: Path, **overrides: str) -> dict[str, str]:
    """App settings pointing at a running sandbox, with state kept under `data`."""
    env = {
        "SALESFORCE_LOGIN_URL": sb.salesforce_url,
        "SALESFORCE_CLIENT_ID": sb.salesforce_client_id,
        "SALESFORCE_CLIENT_SECRET": sb.salesforce_client_secret,
        "SALESFORCE_CA_BUNDLE": str(sb.ca_bundle),
        "D2C_BASE_URL": sb.d2c_url,
        "D2C_TOKEN": sb.d2c_token,
        "PROFILE_STORE_SQLITE_PATH": str(data / "profiles.sqlite3"),
        "LAKE_FOLDER": str(data / "lake"),
        # the timer binding reads %RECONCILE_SCHEDULE% from the app settings, as in Azure
        "RECONCILE_SCHEDULE": "0 0 2 * * *",
    }
    env.update(overrides)
    return env


def onboardable_accounts(sb: Any, *, needs_approval: bool | None = None) -> list[dict[str, Any]]:
    """Seeded Accounts that qualify and are not synced yet, by whether a person must approve.

    Uses the default rules, i.e. the ones the app runs with unless settings say otherwise.
    """
    approval = ApprovalSettings.model_validate({})
    onboarding = OnboardingSettings.model_validate({})
    found = []
    for record in sb.salesforce_records("Account"):
        account = SalesforceAccount.model_validate(record)
        if account.D2C_Customer_Id__c or not qualifies_for_onboarding(account, onboarding):
            continue
        if needs_approval is None or bool(approval_reasons(account, approval)) == needs_approval:
            found.append(record)
    return found
