"""Triggers translate: HTTP starters, the support API, change-event receivers."""

import azure.durable_functions as df

bp = df.Blueprint()

from crosswalk.telemetry.functions import trace_functions  # noqa: E402
from triggers import (  # noqa: E402, F401
    curated,
    d2c_events,
    erasure,
    eventgrid_deadletters,
    onboarding,
    profiles_api,
    reconciliation,
    relay,
    salesforce_events,
    support,
    support_actions,
    support_console,
    support_digest,
)

trace_functions(bp)  # spans continuing each caller's trace / one per entity batch
