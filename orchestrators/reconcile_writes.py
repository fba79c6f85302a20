"""A reconciliation run's Salesforce write-backs: sObject Collections of 200 carried over
pages until 200 are due, or, in a large run (RECONCILE_BULK_THRESHOLD accounts or more),
staged in the lake per page and sent after the last page in one Bulk API 2.0 ingest job per
object type (sObject Collections when fewer than the threshold are due). The orchestration
carries only the staged documents' paths, so its history stays small however many records are
due.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from crosswalk.models import DriftClass, DriftFinding
from orchestrators.reconcile_page import Page
from orchestrators.steps import Step

WRITE_CHUNK = 200


def flush(page: Page, everything: bool) -> Step:
    """Send the carried Salesforce writes in full chunks of 200 (all of them on the last page).

    A record refused for a reason Salesforce says to retry (a row lock) is sent again, alone
    with the others like it, after a durable back-off, up to the retry policy's attempts.
    """
    run = page.run
    count = len(run.pending_writes)
    if not everything:
        count -= count % WRITE_CHUNK
    batch = run.pending_writes[:count]
    page.status("writing", records=len(batch))
    records = [w["record"] for w in batch]
    written = 0
    problems: dict[str, dict[str, Any]] = {}
    delay = page.retry.first_interval_seconds
    for attempt in range(1, page.retry.max_attempts + 1):
        result = yield from page.step("reconcile_write_salesforce", {"records": records})
        written += len(result["written"])
        problems.update({r["id"]: r for r in result["refused"]})
        for record_id in result["written"]:
            problems.pop(record_id, None)
        again = {r["id"] for r in result["refused"] if r.get("transient")}
        if not again or attempt == page.retry.max_attempts:
            break
        yield page.context.create_timer(page.now + timedelta(seconds=delay))
        delay = min(delay * page.retry.backoff_coefficient, page.retry.max_interval_seconds)
        records = [r for r in records if r["Id"] in again]
    run.pending_writes = run.pending_writes[count:]  # sent: a failed send keeps them owed
    refused: list[DriftFinding] = []
    reported: set[tuple[str, str]] = set()
    for entry in batch:
        record = entry["record"]
        problem = problems.get(record["Id"])
        if problem is None or (entry["account"], record["Id"]) in reported:
            continue
        reported.add((entry["account"], record["Id"]))
        refused.append(
            DriftFinding(
                sf_account_id=entry["account"],
                drift=entry["drift"],
                reason=f"Salesforce write of {record['attributes']['type']} {record['Id']}",
                repair_error=f"{problem['code']}: {problem['message']}"[:500],
            )
        )
    return written, refused


def stage_and_send(page: Page, last_page: bool) -> Step:
    """Stage this page's write-backs; on the last page send everything staged. Returns
    (records written, findings for the records Salesforce refused). A record refused for a
    row lock is sent again after a durable back-off, up to the retry policy's attempts."""
    run = page.run
    if run.pending_writes:
        staged = yield from page.step(
            "reconcile_stage_writes",
            {"run_id": run.run_id, "page": run.page + 1, "writes": run.pending_writes},
        )
        run.staged.append(staged["path"])
        run.pending_writes = []
    if not last_page or not run.staged:
        return 0, []
    written, problems = 0, []
    delay = page.retry.first_interval_seconds
    for attempt in range(1, page.retry.max_attempts + 1):
        page.status("writing", staged_pages=len(run.staged), bulk=True, attempt=attempt)
        result = yield from page.step(
            "reconcile_write_bulk",
            {
                "paths": run.staged,
                "min_records": page.bulk_threshold,
                "run_id": run.run_id,
                "attempt": attempt,
                "final": attempt == page.retry.max_attempts,
            },
        )
        written += result["written"]
        problems.extend(result["refused"])
        # records refused for a row lock are staged again: owed (and kept by `_finish`) until
        # a later attempt lands them or the last one makes them findings
        run.staged = [result["retry_path"]] if result.get("retry_path") else []
        if not run.staged:
            break
        yield page.context.create_timer(page.now + timedelta(seconds=delay))
        delay = min(delay * page.retry.backoff_coefficient, page.retry.max_interval_seconds)
    refused = [
        DriftFinding(
            sf_account_id=problem.get("account") or problem["id"],
            drift=problem.get("drift") or DriftClass.MISSING_IN_D2C,
            reason=f"Salesforce write of {problem['type']} {problem['id']} (Bulk API)",
            repair_error=f"{problem['code']}: {problem['message']}",
        )
        for problem in problems
    ]
    return written, refused
