"""Builders for valid test data: real-shaped Salesforce ids, D2C ids and profiles."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from crosswalk.models import ProfileStatus, ReconciliationReport, UnifiedProfile
from crosswalk.salesforce_ids import to_18


def account_id(n: int) -> str:
    """The n-th Account id, 18 characters, valid checksum; ordering follows n."""
    return to_18(f"001{n:012d}")


def profile(n: int, **fields: Any) -> UnifiedProfile:
    values: dict[str, Any] = {
        "sf_account_id": account_id(n),
        "name": f"Account {n}",
        "status": ProfileStatus.ACTIVE,
    }
    values.update(fields)
    return UnifiedProfile(**values)


def report(run: str, started_minutes_ago: int, **fields: Any) -> ReconciliationReport:
    started = datetime(2024, 5, 2, 8, 0, tzinfo=UTC) - timedelta(minutes=started_minutes_ago)
    return ReconciliationReport(run_id=run, started_at=started, **fields)
