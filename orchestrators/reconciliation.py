"""`reconciliation`: find and repair drift between Salesforce, D2C and the profile store (flow 4).

One execution handles one page, then `continue_as_new`s with what it carries (cursor, totals,
Salesforce writes not yet sent), so history stays small however large the org is:

lease (first page only) -> scan a page (one SOQL call + one D2C lookup + one profile read;
every record decided there, entity states read through the Durable client) -> in
`reconcile_repairs` chunks of 25 (short histories): repairs with at most
`fanout` in flight (onboarding sagas for missing customers, the update path for stale ones,
deactivation for orphans) -> Salesforce writes in sObject Collections of 200, carried over
pages until 200 are due -> report the page -> advance the watermark to the last page whose
writes are all sent -> next page, or finish: report, lake copy, lease released.

A scan whose first page shows RECONCILE_BULK_SCAN_THRESHOLD Accounts or more reads through
two Bulk API 2.0 query jobs instead (orchestrators/reconcile_bulk_scan.py): each page is then
a chunk an activity staged in the lake, and the watermark moves once, after the last chunk
(the jobs go in Id order, not modstamp order).

A page that still fails after its retries ends the run as failed with the page named in the
report; the watermark stays before it, so the next run reads it again.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import azure.durable_functions as df

from crosswalk.models import DriftFinding
from crosswalk.reconcile_run import EPOCH, RunInput
from orchestrators import bp
from orchestrators.lookup_repair import repair_lookups
from orchestrators.reconcile_bulk_scan import close_scan, next_chunk, open_scan
from orchestrators.reconcile_page import Page
from orchestrators.reconcile_repairs import in_chunks
from orchestrators.reconcile_writes import WRITE_CHUNK, flush, stage_and_send
from orchestrators.steps import Step, StepFailed


@bp.orchestration_trigger(context_name="context")
def reconciliation(context: df.DurableOrchestrationContext) -> Step:
    run = RunInput.model_validate(context.get_input())
    page = Page(context, run)
    if run.page == 0:
        lease = yield context.call_entity(
            page.watermark,
            "acquire",
            {"run_id": run.run_id, "at": page.now.isoformat(), "take_owed": not run.dry_run},
        )
        if not lease["granted"]:
            # another run won the lease (two starts at the same moment): one at a time holds,
            # and this run's report says what became of it
            reason = f"run {lease['holder']} is active"
            yield from page.step(
                "reconcile_report_begin",
                {
                    "run_id": run.run_id,
                    "instance_id": context.instance_id,
                    "dry_run": run.dry_run,
                    "started_at": page.now.isoformat(),
                    "finished_at": page.now.isoformat(),
                    "status": "skipped",
                    "reason": reason,
                },
            )
            page.status("skipped", reasons=[reason])
            return {"outcome": "skipped", "reason": reason, "run_id": run.run_id}
        stored = lease.get("watermark")
        run.pending_writes = [*lease.get("owed", []), *run.pending_writes]
        run.staged = [*lease.get("owed_staged", []), *run.staged]
        overlap = timedelta(seconds=float(page.reconcile.get("overlap_seconds", 300)))
        run.resolved_since = run.since or (
            datetime.fromisoformat(stored) - overlap if stored else EPOCH
        )
        run.started_at = run.started_at or page.now
        yield from page.step(
            "reconcile_report_begin",
            {
                "run_id": run.run_id,
                "instance_id": context.instance_id,
                "dry_run": run.dry_run,
                "since": run.resolved_since.isoformat(),
                "started_at": run.started_at.isoformat(),
            },
        )
    try:
        more = yield from _handle_page(page)
    except StepFailed as failed:
        return (yield from _finish(page, "failed", failed.as_dict()))
    if more:
        context.continue_as_new(run.model_dump(mode="json"))
        return None
    if not run.dry_run and run.resolved_since is not None:  # entries that disagree: put right
        repaired = yield from repair_lookups(context, run.resolved_since, run.policy.get("retry"))
        run.totals["lookup_entries_repaired"] = -1 if repaired is None else repaired
    return (yield from _finish(page, "completed", None))


def _handle_page(page: Page) -> Step:
    """Scan, settle, repair and report one page; True when another page follows."""
    run = page.run
    scan = yield from _scan(page)
    counts: dict[str, int] = dict(scan["counts"])
    page.status("repairing", drifted=len(scan["drifted"]))
    findings, writes = yield from in_chunks(page, scan["drifted"], counts)
    findings[:0] = [DriftFinding.model_validate(f) for f in scan["findings"]]

    run.pending_writes.extend(writes)
    if run.scan is not None:
        run.scan.chunks = run.scan.chunks[1:]
        last_page = run.scan.exhausted and not run.scan.chunks
    else:
        last_page = not scan["locator"]
    written = 0
    if run.page == 0 and not run.dry_run:
        run.bulk = bool(run.staged) or scan.get("total", 0) >= page.bulk_threshold
    if run.bulk:
        written, refused = yield from stage_and_send(page, last_page)
        findings.extend(refused)
    elif run.pending_writes and (len(run.pending_writes) >= WRITE_CHUNK or last_page):
        written, refused = yield from flush(page, last_page)
        findings.extend(refused)
    # a Bulk scan goes in Id order: its newest modstamp counts once every chunk is in
    page_end = scan.get("max_modstamp") if run.scan else (scan["after"] or {}).get("modstamp")
    if page_end is not None:
        run.pending_watermark = max(
            filter(None, [run.pending_watermark, datetime.fromisoformat(page_end)])
        )
    watermark_to = None
    if (
        not run.dry_run
        and not run.pending_writes
        and not run.staged
        and run.pending_watermark is not None
        and (run.scan is None or last_page)
    ):
        watermark_to = run.pending_watermark
        yield page.context.call_entity(
            page.watermark, "advance", {"run_id": run.run_id, "to": watermark_to.isoformat()}
        )

    run.page += 1
    for key, value in counts.items():
        run.totals[key] = run.totals.get(key, 0) + value
    yield from page.step(
        "reconcile_report_page",
        {
            "run_id": run.run_id,
            "page": run.page,
            "counts": counts,
            "findings": [f.model_dump(mode="json") for f in findings],
            "salesforce_writes": written,
            "watermark_to": watermark_to.isoformat() if watermark_to else None,
            "scanned_chunk": scan.get("chunk"),
        },
    )
    run.locator, run.after = scan.get("locator"), scan.get("after") or run.after
    return not last_page


def _scan(page: Page) -> Step:
    """One page decided: a REST page, or, once the first page shows a large scan, the next
    chunk of the Bulk API 2.0 scan (the first page's records are read again there)."""
    run = page.run
    page.status("scanning")
    payload = {
        "since": run.resolved_since.isoformat() if run.resolved_since else None,
        "locator": run.locator,
        "after": run.after,
        "page_size": page.page_size,
        "onboarding": run.policy.get("onboarding"),
        "ownership": run.policy.get("ownership"),
        "dry_run": run.dry_run,
        "now": page.now.isoformat(),
        "stuck_after_hours": page.stuck_after.total_seconds() / 3600,
    }
    if run.scan is None:
        first = {"bulk_scan_threshold": page.bulk_scan_threshold} if run.page == 0 else {}
        scan = yield from page.step("reconcile_scan", {**payload, **first})
        if not scan.get("bulk_scan"):
            return scan
        yield from open_scan(page, scan["total"])
    assert run.scan is not None
    chunk = yield from next_chunk(page)
    if chunk is None:  # nothing left to read (the org changed under the count)
        return {"counts": {}, "findings": [], "drifted": [], "total": run.scan.total}
    scan = yield from page.step(
        "reconcile_scan",
        {
            **payload,
            "chunk": chunk,
            "total": run.scan.total,
            "read_at": run.scan.read_at.isoformat() if run.scan.read_at else None,
        },
    )
    return {**scan, "chunk": chunk}


def _finish(page: Page, status: str, failure: dict[str, Any] | None) -> Step:
    run = page.run
    yield from close_scan(page)  # a run that ended before reading all of a Bulk scan
    if (run.pending_writes or run.staged) and not run.dry_run:  # owed, never dropped
        yield page.context.call_entity(
            page.watermark,
            "owe",
            {"run_id": run.run_id, "writes": run.pending_writes, "staged": run.staged},
        )
    result = yield from page.step(
        "reconcile_report_finish",
        {
            "run_id": run.run_id,
            "status": status,
            "at": page.now.isoformat(),
            "page_failure": {**failure, "page": run.page + 1} if failure else None,
        },
    )
    yield page.context.call_entity(page.watermark, "release", {"run_id": run.run_id})
    page.status(status, totals=run.totals)
    return {
        "outcome": status,
        "run_id": run.run_id,
        "pages": run.page,
        "totals": run.totals,
        "report": result["path"],
        "failure": failure,
    }
