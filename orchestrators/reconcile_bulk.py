"""Write-backs of a large reconciliation run (RECONCILE_BULK_THRESHOLD accounts or more):
each page stages its write-backs in the lake, and after the last page one Bulk API 2.0
ingest job per object type sends them all (sObject Collections when fewer than the threshold
are due). The orchestration carries only the staged
documents' paths, so its history stays small however many records are due.
"""

from __future__ import annotations

from typing import Any

from crosswalk.models import DriftClass, DriftFinding
from orchestrators.steps import Step


def stage_and_send(page: Any, last_page: bool) -> Step:
    """Stage this page's write-backs; on the last page send everything staged. Returns
    (records written, findings for the records Salesforce refused)."""
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
    page.status("writing", staged_pages=len(run.staged), bulk=True)
    result = yield from page.step(
        "reconcile_write_bulk", {"paths": run.staged, "min_records": page.bulk_threshold}
    )
    run.staged = []
    refused = [
        DriftFinding(
            sf_account_id=problem.get("account") or problem["id"],
            drift=problem.get("drift") or DriftClass.MISSING_IN_D2C,
            reason=f"Salesforce write of {problem['type']} {problem['id']} (Bulk API)",
            repair_error=f"{problem['code']}: {problem['message']}",
        )
        for problem in result["refused"]
    ]
    return result["written"], refused
