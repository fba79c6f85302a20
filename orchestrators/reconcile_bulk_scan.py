"""A large scan's pages (RECONCILE_BULK_SCAN_THRESHOLD Accounts or more): Accounts and their
Contacts read through two Bulk API 2.0 query jobs, split into chunks staged in the lake by
activities that return only the chunks' paths and where the jobs' results stand
(activities/reconcile_bulk_scan.py). Each page is then one chunk, decided by the usual scan.
"""

from __future__ import annotations

import logging
from typing import Any

from crosswalk.reconcile_run import BulkScan
from orchestrators.reconcile_page import Page
from orchestrators.steps import Step, StepFailed

LOG = logging.getLogger("crosswalk.reconciliation")


def open_scan(page: Page, total: int) -> Step:
    """Create the two query jobs and wait for their results (the first page said `total`)."""
    run = page.run
    assert run.resolved_since is not None
    page.status("opening_bulk_scan", accounts=total)
    opened = yield from page.step("reconcile_bulk_open", {"since": run.resolved_since.isoformat()})
    run.scan = BulkScan(
        accounts_job=opened["accounts_job"],
        contacts_job=opened["contacts_job"],
        total=opened["total"],
        read_at=opened.get("read_at"),
    )


def next_chunk(page: Page) -> Step:
    """The next staged chunk's path, splitting the next results set of Accounts when no chunk
    is left; None once every Account has been scanned."""
    run, scan = page.run, page.run.scan
    assert scan is not None
    while not scan.chunks and not scan.exhausted:
        page.status("splitting", results_set=scan.split + 1)
        split: dict[str, Any] = yield from page.step(
            "reconcile_bulk_split",
            {
                "run_id": run.run_id,
                "accounts_job": scan.accounts_job,
                "contacts_job": scan.contacts_job,
                "split": scan.split,
                "locator": scan.locator,
                "contacts": scan.contacts,
                "results_page": page.results_page,
                "chunk_size": page.page_size,
            },
        )
        scan.split += 1
        scan.chunks = list(split["chunks"])
        scan.locator = split["locator"]
        scan.contacts = split["contacts"]
        scan.exhausted = split["locator"] is None
        if scan.exhausted:  # every result read: Salesforce need not keep them
            yield from close_scan(page)
    return scan.chunks[0] if scan.chunks else None


def close_scan(page: Page) -> Step:
    """Delete the scan's query jobs; a failure is logged and reported, never the run's."""
    scan = page.run.scan
    if scan is None or scan.closed:
        return
    jobs = {"Account": scan.accounts_job, "Contact": scan.contacts_job}
    try:
        closed = yield from page.step("reconcile_bulk_close", {"jobs": jobs})
    except StepFailed as failed:
        closed = {"failed": [{"jobs": jobs, **failed.as_dict()}]}
    scan.closed = True
    if closed["failed"] and not page.context.is_replaying:
        LOG.warning("reconciliation %s: query jobs not deleted: %s", page.run.run_id, closed)
