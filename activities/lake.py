"""Activities against the data lake's raw zone.

Snapshots record what Crosswalk read; they are not an effect on any customer, so they have no
compensation: a failed onboarding keeps its snapshot for the audit trail.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from activities import bp
from crosswalk.lake.base import account_snapshot_path
from crosswalk.services import services


@bp.activity_trigger(input_name="payload")
def lake_put_account_snapshot(payload: dict) -> dict[str, Any]:
    return put_account_snapshot(payload)


def put_account_snapshot(payload: dict[str, Any]) -> dict[str, Any]:
    """The Account as Crosswalk read it, under its Id and modstamp (the same read: one path)."""
    account = payload["account"]
    path = account_snapshot_path(account["Id"], datetime.fromisoformat(account["SystemModstamp"]))
    uri = services().lake.put_json(path, account)
    return {"path": path, "uri": uri}


@bp.activity_trigger(input_name="payload")
def lake_put_dead_letter(payload: dict) -> dict[str, Any]:
    """A malformed event, kept with the reason so it can be inspected and replayed."""
    path = f"deadletter/{payload['source']}/{payload['day']}/{payload['id']}.json"
    services().lake.put_json(path, payload)
    return {"path": path}
