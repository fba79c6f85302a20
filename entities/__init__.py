"""Entities remember: per-record sync state, sign-up links, the reconciliation watermark,
what the support digest last said."""

import azure.durable_functions as df

bp = df.Blueprint()

from crosswalk.telemetry.functions import trace_functions  # noqa: E402
from entities import record_sync, signup_link, support_digest, watermark  # noqa: E402, F401

trace_functions(bp)  # spans continuing each caller's trace / one per entity batch
