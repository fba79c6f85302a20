"""A large reconciliation scan through Bulk API 2.0 query jobs (RECONCILE_BULK_SCAN_THRESHOLD
Accounts or more): one job for the Accounts, one for their Contacts, joined by AccountId.

`reconcile_bulk_open` creates both jobs and waits for them (4 requests when Salesforce is
quick). Each `reconcile_bulk_split` reads one results set of Accounts (`maxRecords` =
RECONCILE_BULK_RESULTS_PAGE) and the Contacts beside it, both streamed and merged row by row
(crosswalk/reconcile_join.py), and stages them in the lake in chunks of RECONCILE_PAGE_SIZE
Accounts; the page's usual scan (activities/reconcile_scan.py) then decides each chunk. What
a split hands on is small and plain: the next Accounts locator, and the Contacts' position (the
locator of the results set it stopped in, and how many of its rows were used), so the next
split may run on any instance. Stopping inside a Contacts set costs one request to read that
set again; a 20,000-Account org is one set of each.

Staged chunks hold Account and Contact data for as long as the run: each goes when its page is
reported, the rest when the run finishes (failed runs too). The query jobs (Salesforce keeps
their results until then) are deleted once the last split has read them, or when the run
ends before that, failed runs too (`reconcile_bulk_close`); a job the open could not finish
waiting for is deleted there, before its retry makes new ones.
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime
from typing import Any

from simple_salesforce.format import format_soql

from activities import bp
from crosswalk.clients.salesforce_bulk_query import BulkQuery, ResultsSet
from crosswalk.clients.salesforce_soql import ACCOUNT_FIELDS, CONTACT_FIELDS
from crosswalk.errors import ActivityFailure
from crosswalk.reconcile_join import out_of_order, with_contacts
from crosswalk.services import services

STAGING = "staging/reconciliation"
LOG = logging.getLogger("crosswalk.reconciliation")


def scan_prefix(run_id: str) -> str:
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", run_id)
    return f"{STAGING}/{safe}/scan-"


def chunk_path(run_id: str, split: int, chunk: int) -> str:
    return f"{scan_prefix(run_id)}{split:05d}-{chunk:04d}.json"


def account_query(since: datetime) -> str:
    """Accounts changed after the watermark (queryAll: deleted ones are orphans)."""
    return format_soql(
        f"SELECT {ACCOUNT_FIELDS} FROM Account WHERE SystemModstamp > {{}}", since
    ) + (" ORDER BY Id")


def contact_query(since: datetime) -> str:
    """The Contacts of those Accounts (a child-to-parent filter, which Bulk API 2.0 allows)."""
    soql = (
        f"SELECT {CONTACT_FIELDS} FROM Contact "
        "WHERE AccountId != null AND Account.SystemModstamp > {} ORDER BY AccountId, Id"
    )
    return format_soql(soql, since)


@bp.activity_trigger(input_name="payload")
def reconcile_bulk_open(payload: dict) -> dict[str, Any]:
    """Create the two query jobs and wait until Salesforce has their results."""
    query = BulkQuery(services().salesforce)
    since = datetime.fromisoformat(payload["since"])
    read_at = datetime.now(UTC)
    accounts = query.start("Account", account_query(since), include_deleted=True)
    created = {"Account": accounts}
    try:
        contacts = query.start("Contact", contact_query(since), include_deleted=True)
        created["Contact"] = contacts
        account_info = query.wait("Account", accounts)
        contact_info = query.wait("Contact", contacts)
    except Exception:  # a retry makes new jobs: these would be left behind
        _delete_jobs(query, created)
        raise
    return {
        "accounts_job": accounts,
        "contacts_job": contacts,
        "total": int(account_info.get("numberRecordsProcessed") or 0),
        "contacts_total": int(contact_info.get("numberRecordsProcessed") or 0),
        "read_at": read_at.isoformat(),
        "salesforce_calls": query.requests,
    }


@bp.activity_trigger(input_name="payload")
def reconcile_bulk_close(payload: dict) -> dict[str, Any]:
    """Delete the scan's query jobs (`jobs`: {sobject: job id}) once their results are read or
    the run ends: Salesforce keeps a job's results until it is deleted. A job that cannot be
    deleted is logged and named in the answer; it never fails the run."""
    query = BulkQuery(services().salesforce)
    failed = _delete_jobs(query, payload["jobs"])
    deleted = sorted(set(payload["jobs"].values()) - {f["job"] for f in failed})
    return {"deleted": deleted, "failed": failed, "salesforce_calls": query.requests}


def _delete_jobs(query: BulkQuery, jobs: dict[str, str]) -> list[dict[str, Any]]:
    failed = []
    for sobject, job_id in jobs.items():
        try:
            query.delete(sobject, job_id)
        except Exception as exc:  # logged and reported, never raised
            error = ActivityFailure.parse(exc).as_dict()
            failed.append({"job": job_id, "sobject": sobject, **error})
            LOG.warning(
                "Bulk API query job %s (%s) not deleted: %s %s",
                job_id,
                sobject,
                error.get("code") or error.get("kind"),
                str(error.get("detail"))[:200],
            )
    return failed


class ContactStream:
    """The Contacts job's rows in order across its results sets, one row ahead, with the
    position to resume at: the locator that fetched the current set and the rows used of it."""

    def __init__(self, query: BulkQuery, job: str, position: dict[str, Any], size: int) -> None:
        self.query, self.job, self.size = query, job, size
        self.locator: str | None = position.get("locator")
        self.used = int(position.get("used", 0))
        self.done = bool(position.get("done"))
        self._set: ResultsSet | None = None
        self._rows: Any = None
        self._next: dict[str, Any] | None = None
        self._following: str | None = None
        self._last_account: str | None = position.get("last_account")

    def _open(self) -> None:
        self._set = self.query.results(
            "Contact", self.job, locator=self.locator, max_records=self.size
        )
        self._following = self._set.locator
        self._rows = iter(self._set)
        for _ in range(self.used):  # rows an earlier split used
            next(self._rows, None)

    def peek(self) -> dict[str, Any] | None:
        while self._next is None and not self.done:
            if self._rows is None:
                self._open()
            row = next(self._rows, None)
            if row is not None:
                self._next = row
                break
            if self._following is None:
                self.done = True
            else:  # the next results set
                self.locator, self.used, self._rows = self._following, 0, None
        return self._next

    def take(self) -> dict[str, Any]:
        row = self.peek()
        assert row is not None
        account = str(row["AccountId"])
        if self._last_account is not None and account < self._last_account:
            raise out_of_order("Contact of Account", self._last_account, account)
        self._last_account = account
        self._next = None
        self.used += 1
        return row

    def position(self) -> dict[str, Any]:
        if self._set is not None:
            self._set.close()
        if self.done:
            return {"done": True}
        return {"locator": self.locator, "used": self.used, "last_account": self._last_account}


@bp.activity_trigger(input_name="payload")
def reconcile_bulk_split(payload: dict) -> dict[str, Any]:
    """Stage one results set of Accounts, with their Contacts, in chunks of `chunk_size`."""
    svc = services()
    query = BulkQuery(svc.salesforce)
    size = int(payload["results_page"])
    chunk_size = int(payload["chunk_size"])
    contacts = ContactStream(query, payload["contacts_job"], payload["contacts"] or {}, size)
    accounts = query.results(
        "Account", payload["accounts_job"], locator=payload.get("locator"), max_records=size
    )
    paths: list[str] = []
    chunk: list[dict[str, Any]] = []
    records = 0

    def stage() -> None:
        path = chunk_path(payload["run_id"], int(payload["split"]), len(paths))
        svc.lake.put_json(path, {"accounts": chunk})
        paths.append(path)
        chunk.clear()

    try:
        for account in with_contacts(accounts, contacts):
            chunk.append(account)
            records += 1
            if len(chunk) >= chunk_size:
                stage()
        if accounts.locator is None:
            contacts.done = True  # the last Accounts: what is left belongs to none of them
        else:
            contacts.peek()  # stand on the first Contact the next split needs
        if chunk:
            stage()
    finally:
        accounts.close()
    return {
        "chunks": paths,
        "locator": accounts.locator,
        "contacts": contacts.position(),
        "records": records,
        "salesforce_calls": query.requests,
    }
