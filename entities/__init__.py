"""Entities remember: per-record sync state, the reconciliation watermark."""

import azure.durable_functions as df

bp = df.Blueprint()

from entities import record_sync, signup_link, watermark  # noqa: E402, F401
