"""Bulk API 2.0 ingest through the one Salesforce client (its session, token refresh, error
taxonomy and allowance governor), with simple-salesforce's own `sf.bulk2` job calls.

An ingest job costs a handful of requests whatever its size (create, upload, close, poll,
failed results) and one Bulk batch per 10,000 records of the org's 15,000 a day, so it pays
from a few thousand records on; below that, sObject Collections (200 a call) are cheaper.
One job per object type: a job holds one sObject. Each record succeeds or fails on its own;
`failedResults` names the refused ones with Salesforce's reason.

CSV as Bulk API 2.0 reads it: every value quoted, `#N/A` for a null (an empty value would be
ignored on update), booleans `true`/`false`.
"""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from crosswalk.clients.salesforce import SalesforceClient
from crosswalk.errors import TransientError, error_for_status

NULL = "#N/A"
POLL_FIRST_SECONDS = 0.2
POLL_MAX_SECONDS = 5.0
POLL_PATIENCE_SECONDS = 600.0


@dataclass(slots=True)
class IngestOutcome:
    """What one or more ingest jobs did: ids written, and each refused record's reason."""

    written: list[str] = field(default_factory=list)
    refused: list[dict[str, str]] = field(default_factory=list)
    jobs: list[str] = field(default_factory=list)
    requests: int = 0


def _cell(value: Any) -> str:
    if value is None:
        return NULL
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def to_csv(records: Sequence[Mapping[str, Any]]) -> str:
    """Records (with `Id`, without `attributes`) as one CSV: the union of their fields."""
    columns: list[str] = ["Id"]
    for record in records:
        columns.extend(k for k in record if k not in columns and k != "attributes")
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n", quoting=csv.QUOTE_ALL)
    writer.writerow(columns)
    for record in records:
        writer.writerow([_cell(record.get(c)) if c in record else "" for c in columns])
    return out.getvalue()


def job_api(sf: Any, sobject: str) -> Any:
    """simple-salesforce's Bulk API 2.0 job calls for one sObject (`sf.bulk2.<sobject>`)."""
    return getattr(sf.bulk2, sobject)._client


def finished_job(
    client: SalesforceClient,
    sobject: str,
    job_id: str,
    *,
    query: bool,
    what: str,
    patience: float,
    counted: Callable[[], None],
) -> dict[str, Any]:
    """Poll a job until it ends (Salesforce takes seconds to minutes); its info once complete.

    Failed or Aborted is a TransientError (Salesforce's own reasons; a later run may do), still
    running after `patience` seconds a 504; `what` names the job in both. `counted` is told of
    every request.
    """
    delay, waited = POLL_FIRST_SECONDS, 0.0
    while True:
        info = client.call(lambda sf: job_api(sf, sobject).get_job(job_id, query))
        counted()
        if info["state"] == "JobComplete":
            return info
        if info["state"] in ("Failed", "Aborted"):
            raise TransientError(
                f"{what} ended {info['state']}: {info.get('errorMessage') or 'no message'}"[:500],
                system="salesforce",
            )
        if waited >= patience:
            raise error_for_status("salesforce", 504, f"{what} still {info['state']}")
        time.sleep(delay)
        waited += delay
        delay = min(delay * 2, POLL_MAX_SECONDS)


def _refusal(row: Mapping[str, str]) -> dict[str, str]:
    """`sf__Error` reads `CODE:message:fields --`."""
    error = row.get("sf__Error") or ""
    code, _, rest = error.partition(":")
    message = rest.rsplit(":", 1)[0] if ":" in rest else rest
    return {"id": row.get("sf__Id") or row.get("Id") or "", "code": code, "message": message[:500]}


class BulkIngest:
    def __init__(self, client: SalesforceClient) -> None:
        self.client = client

    def update(self, records: Sequence[Mapping[str, Any]]) -> IngestOutcome:
        """Update records of any types: one `update` job per type, run to the end."""
        by_type: dict[str, list[Mapping[str, Any]]] = {}
        for record in records:
            by_type.setdefault(record["attributes"]["type"], []).append(record)
        outcome = IngestOutcome()
        for sobject, rows in by_type.items():
            self._job(sobject, "update", rows, outcome)
        return outcome

    def _job(
        self, sobject: str, operation: str, rows: Sequence[Mapping[str, Any]], out: IngestOutcome
    ) -> None:
        job = self.client.call(lambda sf: job_api(sf, sobject).create_job(operation))
        job_id = job["id"]
        out.jobs.append(job_id)
        data = to_csv(rows)
        self.client.call(lambda sf: job_api(sf, sobject).upload_job_data(job_id, data))
        self.client.call(lambda sf: job_api(sf, sobject).close_job(job_id))
        out.requests += 3

        def counted() -> None:
            out.requests += 1

        info = finished_job(
            self.client,
            sobject,
            job_id,
            query=False,
            what=f"Bulk API job {job_id} ({sobject} {operation})",
            patience=POLL_PATIENCE_SECONDS,
            counted=counted,
        )
        refused: list[dict[str, str]] = []
        if int(info.get("numberRecordsFailed") or 0):
            text = self.client.call(
                lambda sf: job_api(sf, sobject).get_ingest_results(job_id, "failedResults")
            )
            out.requests += 1
            refused = [_refusal(r) for r in csv.DictReader(io.StringIO(text, newline=""))]
        refused_ids = {r["id"] for r in refused}
        out.refused.extend(refused)
        out.written.extend(str(r["Id"]) for r in rows if str(r["Id"]) not in refused_ids)
