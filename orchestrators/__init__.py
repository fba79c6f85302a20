"""Orchestrators decide: deterministic generator functions, no I/O, no clock, no random."""

import azure.durable_functions as df

bp = df.Blueprint()

from orchestrators import (  # noqa: E402, F401
    account_onboarding,
    account_update,
    contact_change,
    lookup_repair,
    onboard_batch,
    person_erasure,
    reconcile_repairs,
    reconciliation,
    signup_linking,
    support_cancel,
)
