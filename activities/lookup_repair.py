"""The lookup entries reconciliation repairs: one page of the profiles written since its
window began, each made to agree with its entries (crosswalk/profiles/repair.py)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any

from activities import bp
from crosswalk.profiles.repair import repair_written_since
from crosswalk.services import services


@bp.activity_trigger(input_name="payload")
def profile_repair_lookups(payload: dict) -> dict[str, Any]:
    """`{since, cursor?}` -> `{profiles, entries_changed, cursor, more}` (counts, no data)."""
    done = repair_written_since(
        services().profiles,
        datetime.fromisoformat(payload["since"]),
        cursor=payload.get("cursor"),
    )
    return asdict(done)
