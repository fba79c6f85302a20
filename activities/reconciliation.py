"""Activities of a reconciliation run: read a page of all three systems, repair, report.

A page read is the expensive part and is built to cost the org one API call: one SOQL page
(queryAll, so deleted Accounts show up as orphans) with the Contacts as a child subquery
(child rows count toward the page's 2,000 records, so 2 Contacts an Account make pages of
about 666 Accounts; an Account with more Contacts than Salesforce sends inline costs one call
per further page of them), then one D2C lookup call for the page's external refs and one
bulk profile read (activities/reconcile_scan.py decides every record). Only the records to
repair travel back to the orchestrator, so its history stays small.
"""

from __future__ import annotations

import contextlib
from datetime import datetime
from typing import Any

from simple_salesforce.format import format_soql

from activities import bp
from activities.reconcile_bulk_scan import scan_prefix
from crosswalk.clients.salesforce_limits import collection_calls
from crosswalk.clients.salesforce_soql import ACCOUNT_FIELDS, CONTACT_FIELDS
from crosswalk.erasure.gate import without_erased
from crosswalk.errors import InvalidData, NotFound, PreconditionFailed
from crosswalk.models import DriftClass, DriftFinding, ReconciliationReport, UnifiedProfile
from crosswalk.reconciliation import keep_findings
from crosswalk.salesforce_records import SalesforceAccount
from crosswalk.services import services

_SELECT = f"SELECT {ACCOUNT_FIELDS}, (SELECT {CONTACT_FIELDS} FROM Contacts) FROM Account"
_ORDER = " ORDER BY SystemModstamp, Id"


def page_query(since: datetime, after: dict[str, str] | None = None) -> str:
    """Accounts changed after the watermark; `after` resumes behind a record (keyset)."""
    if after is None:
        return format_soql(_SELECT + " WHERE SystemModstamp > {}" + _ORDER, since)
    stamp = datetime.fromisoformat(after["modstamp"])
    return format_soql(
        _SELECT + " WHERE SystemModstamp > {} OR (SystemModstamp = {} AND Id > {})" + _ORDER,
        stamp,
        stamp,
        after["id"],
    )


def _fetch(payload: dict[str, Any]) -> dict[str, Any]:
    """One query call: the next page of the cursor, or a fresh (keyset) query."""
    sf = services().salesforce
    headers = {"Sforce-Query-Options": f"batchSize={int(payload.get('page_size', 2000))}"}
    locator = payload.get("locator")
    if locator:
        try:
            return sf.call(
                lambda api: api.query_more(
                    locator, identifier_is_url=True, include_deleted=True, headers=headers
                )
            )
        except (NotFound, InvalidData):
            pass  # the cursor expired (two days) or vanished: resume behind the last record
    since = datetime.fromisoformat(payload["since"])
    soql = page_query(since, payload.get("after"))
    return sf.call(lambda api: api.query(soql, include_deleted=True, headers=headers))


def read_page(payload: dict[str, Any]) -> tuple[dict[str, Any], list[SalesforceAccount], int]:
    """One page of Accounts with every Contact (children past the inline ones paged to the
    end): the answer, its Accounts, and the Salesforce calls it took. A large scan's page is
    a chunk its Bulk API split staged in the lake (activities/reconcile_bulk_scan.py)."""
    if payload.get("chunk"):
        staged = services().lake.get_json(payload["chunk"])["accounts"]
        answer = {"totalSize": int(payload.get("total") or len(staged)), "done": True}
        return answer, [SalesforceAccount.model_validate(r) for r in staged], 0
    page = _fetch(payload)
    records = page.get("records", [])
    child_calls = services().salesforce.page_children(records, "Contacts")
    return page, [SalesforceAccount.model_validate(r) for r in records], 1 + child_calls


@bp.activity_trigger(input_name="payload")
def reconcile_repair_stale(payload: dict) -> dict[str, Any]:
    """Make D2C and the profile match Salesforce (the minimal path while no update flow exists).

    The patch carries only Salesforce-owned fields, so on a 412 (someone changed the customer
    since the page was read) it is re-applied on the current version rather than given up.
    """
    svc = services()
    customer_id = payload.get("d2c_customer_id")
    patch = payload.get("customer_patch") or {}
    d2c_calls = 0
    if patch and customer_id:
        try:
            d2c_calls += 1
            svc.d2c.update_customer(customer_id, patch, etag=payload["d2c_etag"])
        except PreconditionFailed:
            d2c_calls += 2
            current = svc.d2c.get_customer(customer_id)
            svc.d2c.update_customer(customer_id, patch, etag=current.etag)
    if payload.get("profile"):
        _write_profile(payload["profile"])
    return {"sf_account_id": payload["sf_account_id"], "d2c_calls": d2c_calls}


@bp.activity_trigger(input_name="payload")
def reconcile_retire_orphan(payload: dict) -> dict[str, Any]:
    """A D2C customer whose account is gone or no longer qualifies is deactivated, not deleted."""
    svc = services()
    d2c_calls = 0
    if payload.get("d2c_etag") and payload.get("d2c_customer_id"):
        d2c_calls += 1
        with contextlib.suppress(NotFound):  # already gone is what we wanted
            svc.d2c.deactivate_customer(
                payload["d2c_customer_id"], reason=payload.get("reason") or "reconciliation"
            )
    if payload.get("profile"):
        _write_profile(payload["profile"])
    return {"sf_account_id": payload["sf_account_id"], "d2c_calls": d2c_calls}


def _write_profile(raw: dict[str, Any]) -> None:
    store = services().profiles
    profile = UnifiedProfile.model_validate(raw)
    current = store.get(profile.sf_account_id)
    if current is not None:  # the people as they are now, not as the scan saw them
        people = {"contacts": current.contacts, "people_read_at": current.people_read_at}
        profile = profile.model_copy(update=people)
    store.upsert(without_erased(profile), if_match=current.etag if current else None)


@bp.activity_trigger(input_name="payload")
def reconcile_write_salesforce(payload: dict) -> dict[str, Any]:
    """sObject Collections updates laid out as a real org accepts them (by type, one record per
    Id, 200 a call), each record succeeding on its own."""
    return write_collections(payload["records"])


def write_collections(records: list[dict[str, Any]]) -> dict[str, Any]:
    """Returns the ids written and, per refused record, Salesforce's reason and whether it is
    worth another try (a row lock); only a failure of a whole call raises (and is retried by
    the orchestrator when transient)."""
    calls = len(collection_calls(records))
    outcomes = services().salesforce.update_each(records)
    written = [o.id for o in outcomes if o.error is None]
    refused = [
        {
            "id": o.id,
            "code": o.error.code,
            "field": o.error.field,
            "message": o.error.detail[:500],
            "transient": o.error.retryable,
        }
        for o in outcomes
        if o.error is not None
    ]
    return {"written": written, "refused": refused, "calls": calls}


# ---------------------------------------------------------------- the report


@bp.activity_trigger(input_name="payload")
def reconcile_report_begin(payload: dict) -> dict[str, Any]:
    store = services().profiles
    if store.get_report(payload["run_id"]) is None:
        store.put_report(ReconciliationReport.model_validate(payload))
    return {"run_id": payload["run_id"]}


@bp.activity_trigger(input_name="payload")
def reconcile_report_page(payload: dict) -> dict[str, Any]:
    """Add one page to the stored report; a page already recorded (a repeated activity) is not
    counted twice."""
    store = services().profiles
    report = store.get_report(payload["run_id"])
    if report is None:
        raise NotFound(f"no report {payload['run_id']}", system="profiles", code="NO_REPORT")
    if payload["page"] <= report.pages:
        return {"pages": report.pages, "recorded": False}
    counts = dict(report.counts)
    for key, value in payload["counts"].items():
        counts[DriftClass(key)] = counts.get(DriftClass(key), 0) + value
    findings = [DriftFinding.model_validate(f) for f in payload["findings"]]
    if payload["findings"]:  # complete in the lake; the report keeps a bounded share
        services().lake.put_json(
            f"reports/reconciliation/{payload['run_id']}/findings-{payload['page']:06d}.json",
            {"findings": payload["findings"]},
        )
    kept, omitted = keep_findings(report.findings, findings)
    updated = ReconciliationReport.model_validate(
        {
            **report.model_dump(),
            "pages": payload["page"],
            "counts": counts,
            "findings": kept,
            "findings_omitted": report.findings_omitted + omitted,
            "repaired": report.repaired + sum(1 for f in findings if f.repaired_by),
            "failed": report.failed + sum(1 for f in findings if f.repair_error),
            "salesforce_writes": report.salesforce_writes + payload.get("salesforce_writes", 0),
            "watermark_to": payload.get("watermark_to") or report.watermark_to,
        }
    )
    store.put_report(updated)
    if payload.get("scanned_chunk"):  # a Bulk scan's staged chunk, decided and reported
        services().lake.delete(payload["scanned_chunk"])
    return {"pages": updated.pages, "recorded": True}


@bp.activity_trigger(input_name="payload")
def reconcile_report_finish(payload: dict) -> dict[str, Any]:
    """Close the report, and land a copy in the lake next to the raw snapshots."""
    svc = services()
    report = svc.profiles.get_report(payload["run_id"])
    if report is None:
        raise NotFound(f"no report {payload['run_id']}", system="profiles", code="NO_REPORT")
    update: dict[str, Any] = {"status": payload["status"], "finished_at": payload["at"]}
    if payload.get("page_failure"):
        update["page_failures"] = [*report.page_failures, payload["page_failure"]]
    if payload.get("watermark_to"):
        update["watermark_to"] = payload["watermark_to"]
    for staged in svc.lake.list(scan_prefix(payload["run_id"])):  # a Bulk scan's leftovers
        svc.lake.delete(staged)
    final = ReconciliationReport.model_validate({**report.model_dump(), **update})
    svc.profiles.put_report(final)
    path = f"reports/reconciliation/{final.run_id}.json"
    svc.lake.put_json(path, final.model_dump(mode="json"))
    return {"run_id": final.run_id, "path": path}
