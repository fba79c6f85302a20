"""Triggers translate: HTTP starters, the approval endpoint, change-event receivers."""

import azure.durable_functions as df

bp = df.Blueprint()

from triggers import approvals, d2c_events, onboarding, reconciliation, salesforce_events  # noqa: E402, F401
