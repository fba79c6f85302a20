"""Write-backs of a large reconciliation through Bulk API 2.0 ingest jobs.

Pages stage their write-backs in the lake (`staging/reconciliation/<run>/`), so the
orchestration carries only their paths however large the org is; the last page sends them
all: with `min_records` or more, in one `update` job per object type (a handful of requests
for the whole run, one Bulk batch per 10,000 records), below that in sObject Collections of
200, which cost less then. The staged documents go once Salesforce has answered.
"""

from __future__ import annotations

import re
from typing import Any

from activities import bp
from activities.reconciliation import write_collections
from crosswalk.clients.salesforce_bulk import BulkIngest
from crosswalk.errors import SALESFORCE_TRANSIENT_CODES, NotFound
from crosswalk.services import services

STAGING = "staging/reconciliation"


def staging_path(run_id: str, page: int, *, retry: int | None = None) -> str:
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", run_id)
    if retry is not None:
        return f"{STAGING}/{safe}/writes-retry-{retry:03d}.json"
    return f"{STAGING}/{safe}/writes-{page:06d}.json"


@bp.activity_trigger(input_name="payload")
def reconcile_stage_writes(payload: dict) -> dict[str, Any]:
    """Keep one page's write-backs until the run sends them (same page again: overwritten)."""
    path = staging_path(payload["run_id"], int(payload["page"]))
    services().lake.put_json(path, {"writes": payload["writes"]})
    return {"path": path, "count": len(payload["writes"])}


@bp.activity_trigger(input_name="payload")
def reconcile_write_bulk(payload: dict) -> dict[str, Any]:
    """Send every staged write-back (one record once: the latest staged wins) through ingest
    jobs; returns how many were written and, per refused record, its account and reason.
    Unless this is the `final` attempt, records refused for a row lock are staged again
    (`retry_path`) for the orchestrator to send after a durable back-off."""
    lake = services().lake
    entries: dict[tuple[str, str], dict[str, Any]] = {}
    for path in payload["paths"]:
        try:
            staged = lake.get_json(path)["writes"]
        except NotFound:  # gone only once sent: this is a repeated attempt
            continue
        for write in staged:
            record = write["record"]
            entries[(record["attributes"]["type"], str(record["Id"]))] = write
    records = [w["record"] for w in entries.values()]
    if len(records) < int(payload.get("min_records", 0)):
        records.sort(key=lambda r: r["attributes"]["type"])  # one type-chunk per call
        sent = write_collections(records)
        written, problems, jobs, calls = len(sent["written"]), sent["refused"], [], sent["calls"]
    else:
        outcome = BulkIngest(services().salesforce).update(records)
        written, problems = len(outcome.written), outcome.refused
        jobs, calls = outcome.jobs, outcome.requests
    by_id = {key[1]: (key[0], write) for key, write in entries.items()}
    refused, again = [], []
    for problem in problems:
        sobject, write = by_id.get(problem["id"], ("?", {}))
        if write and not payload.get("final", True) and _worth_again(problem):
            again.append(write)
            continue
        refused.append(
            {
                **problem,
                "type": sobject,
                "account": write.get("account"),
                "drift": write.get("drift"),
            }
        )
    retry_path = None
    if again:  # staged before the sent ones go, so a crash in between loses nothing
        retry_path = staging_path(payload["run_id"], 0, retry=int(payload.get("attempt", 1)))
        lake.put_json(retry_path, {"writes": again})
    for path in payload["paths"]:
        if path != retry_path:
            lake.delete(path)
    return {
        "written": written,
        "refused": refused,
        "retry_path": retry_path,
        "jobs": jobs,
        "calls": calls,
    }


def _worth_again(problem: dict[str, Any]) -> bool:
    """A record refused for a reason Salesforce says to retry (a row lock)."""
    return bool(problem.get("transient")) or problem.get("code") in SALESFORCE_TRANSIENT_CODES
