"""Triggers translate: HTTP starters, the support API, change-event receivers."""

import azure.durable_functions as df

bp = df.Blueprint()

from triggers import (  # noqa: E402, F401
    curated,
    d2c_events,
    erasure,
    onboarding,
    profiles_api,
    reconciliation,
    salesforce_events,
    support,
    support_actions,
    support_console,
    support_digest,
)
