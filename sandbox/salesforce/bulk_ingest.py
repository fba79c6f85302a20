"""Bulk API 2.0 ingest jobs: `/services/data/vXX.X/jobs/ingest[/{id}[/batches|/...Results]]`.

Sources ("Bulk API 2.0 and Bulk API Developer Guide"): Create a Job (`object`, `operation`
insert | update | upsert | delete | hardDelete, `externalIdFieldName` for upsert; state Open;
`contentUrl`), Upload Job Data (PUT CSV to `contentUrl`, 201 Created; at most 150 MB after
base64, about 100 MB of CSV), Close or Abort a Job (`UploadComplete` starts processing), Get
Job Info, Get Job Successful / Failed Record Results (`sf__Id`, `sf__Created` / `sf__Error`,
then the uploaded columns; order not guaranteed), Get Job Unprocessed Record Results. "Bulk
API 2.0 ... batches of 10,000 records" each count against the shared 15,000-batch rolling
allocation; "results are not recorded for batches that exceed the daily batch allocation".
Each record succeeds or fails on its own; rows are written in transactions of 200 (the
trigger chunk), whose change events carry `changeOrigin` `com/salesforce/api/bulkapi/<v>`.

Not documented, chosen here: `sf__Error` as `CODE:message:fields --` (the form Bulk API
results have long shown), one upload per job, a second refused with INVALIDJOBSTATE,
`unprocessedrecords` matched in any letter case (simple-salesforce asks `unprocessedRecords`),
`hardDelete` refused (the integration user lacks "Bulk API Hard Delete").
"""

from __future__ import annotations

import math
from typing import Any

from . import bulk_jobs
from .bulk_csv import NULL_MARKER, CsvProblem, chunks, read
from .bulk_jobs import BulkJob, JobResources, jobs_of
from .calls import Call, Ctx, Resp
from .errors import SfError
from .schema import SObjectType
from .store import Actor, Txn

OPERATIONS = ("insert", "update", "upsert", "delete")
BATCH_RECORDS = 10_000
TRIGGER_CHUNK = 200
MAX_UPLOAD_BASE64 = 150 * 1024 * 1024


def create(call: Call, ctx: Ctx, p: tuple[str, ...]) -> Resp:
    bulk_jobs.check_version(ctx.version, "ingest")
    jobs = jobs_of(ctx.org)
    body = call.json()
    client = _client(call.headers.get("Sforce-Call-Options", ""))
    job = jobs.new("ingest", body, ctx.version, ctx.txn.actor.user_id, client)
    if job.operation == "hardDelete":
        raise SfError(
            400,
            "INSUFFICIENT_ACCESS",
            "hardDelete needs the Bulk API Hard Delete permission, which this user lacks",
        )
    if job.operation not in OPERATIONS:
        raise SfError(400, "INVALIDJOB", f"Invalid operation: {job.operation}")
    name = body.get("object")
    if not isinstance(name, str) or not name:
        raise SfError(400, "INVALIDJOB", "The object of an ingest job is required")
    sobject = ctx.org.sobject(name)
    ctx.org.dml.writable(sobject)
    job.sobject = sobject.name
    if job.operation == "upsert":
        external = body.get("externalIdFieldName")
        if not isinstance(external, str) or not external:
            raise SfError(400, "INVALIDJOB", "externalIdFieldName is required for upsert")
        job.external_id = ctx.org.dml.external_field(sobject, external)
    jobs.touch(job, "Open")
    return Resp(200, jobs.add(job).info(brief=True))


def _client(options: str) -> str | None:
    for part in options.split(","):
        key, _, value = part.partition("=")
        if key.strip().lower() == "client" and value.strip():
            return value.strip()
    return None


def upload(call: Call, ctx: Ctx, p: tuple[str, ...]) -> Resp:
    job = jobs_of(ctx.org).get("ingest", p[0])
    if not call.headers.get("Content-Type", "").lower().startswith("text/csv"):
        raise SfError(400, "INVALIDCONTENTTYPE", "Job data must be uploaded as text/csv")
    if job.state != "Open" or job.data is not None:
        raise SfError(400, "INVALIDJOBSTATE", f"Job {job.id} takes no more data ({job.state})")
    if 4 * math.ceil(len(call.raw_body) / 3) > MAX_UPLOAD_BASE64:
        raise SfError(400, "API_ERROR", "The data is larger than 150 MB after base64 encoding")
    job.data = call.raw_body
    return Resp(201)


def _process(ctx: Ctx, job: BulkJob) -> None:
    jobs = jobs_of(ctx.org)
    failure = jobs.take_failure()
    if failure is not None:
        return jobs.fail(job, failure)
    try:
        header, rows = read(job.data or b"", job.column_delimiter, job.line_ending)
    except CsvProblem as exc:
        return jobs.fail(job, str(exc))
    sobject = ctx.org.sobject(job.sobject)
    problem = _header_problem(sobject, job, header)
    if problem:
        return jobs.fail(job, problem)
    job.header = header
    origin = f"com/salesforce/api/bulkapi/{job.version}"
    actor = Actor(job.created_by, f"{origin};client={job.client}" if job.client else origin)
    for batch in chunks(rows, BATCH_RECORDS):
        spent, _ = ctx.org.bulk_batches.try_spend()
        if not spent:
            job.unprocessed.extend(rows[job.processed :])
            return jobs.fail(job, "Exceeded the daily allocation of Bulk API batches")
        for chunk in chunks(batch, TRIGGER_CHUNK):
            with ctx.org.transaction(actor, job.version) as txn:
                for row in chunk:
                    _one(ctx, txn, sobject, job, header, row)
            job.processed += len(chunk)
    jobs.touch(job, "JobComplete")
    job.data = None  # the results keep what is needed


resources = JobResources("ingest", _process)


def _header_problem(sobject: SObjectType, job: BulkJob, header: list[str]) -> str | None:
    if job.operation == "delete" and [h.lower() for h in header] != ["id"]:
        return "InvalidBatch : The delete operation takes one column: Id"
    for name in header:
        if "." in name or sobject.lower.get(name.lower()) is None:
            return f"InvalidBatch : Field name not found : {name}"
    lowered = [h.lower() for h in header]
    if job.operation == "update" and "id" not in lowered:
        return "InvalidBatch : Field name not found : Id"
    if job.operation == "upsert" and (job.external_id or "").lower() not in lowered:
        return f"InvalidBatch : Field name not found : {job.external_id}"
    return None


def _one(
    ctx: Ctx, txn: Txn, sobject: SObjectType, job: BulkJob, header: list[str], row: list[str]
) -> None:
    """One record, on its own savepoint: a refusal rolls back only this row."""
    body: dict[str, Any] = {}
    for name, value in zip(header, row, strict=True):
        if value == NULL_MARKER:
            body[name] = None
        elif value != "":
            body[name] = value
    record_id = next((v for k, v in body.items() if k.lower() == "id"), None)
    mark = txn.mark()
    dml = ctx.org.dml
    try:
        created = False
        if job.operation == "insert":
            record_id, created = dml.create(txn, sobject, body), True
        elif job.operation == "update":
            if not record_id:
                raise SfError(400, "MISSING_ARGUMENT", "Id not specified in an update call", [])
            record_id = dml.update(txn, sobject, record_id, body)
        elif job.operation == "delete":
            record_id = dml.delete(txn, sobject, record_id or "")
        else:
            record_id, created = _upsert(ctx, txn, sobject, job, body)
    except SfError as exc:
        txn.rollback_to(mark)
        fields = ",".join(exc.fields or [])
        error = f"{exc.code}:{exc.message}:{fields} --"
        job.refused.append([record_id if job.operation != "insert" else "", error, *row])
        job.failed += 1
        return
    job.successful.append([record_id, "true" if created else "false", *row])


def _upsert(
    ctx: Ctx, txn: Txn, sobject: SObjectType, job: BulkJob, body: dict[str, Any]
) -> tuple[str, bool]:
    external = job.external_id or "Id"
    value = next((v for k, v in body.items() if k.lower() == external.lower()), None)
    if not value:
        raise SfError(
            400, "MISSING_ARGUMENT", f"{external} not specified in an upsert call", [external]
        )
    result = ctx.org.dml.upsert(txn, sobject, external, value, body, update_only=False)
    if isinstance(result, list):
        raise SfError(
            300,
            "DUPLICATE_EXTERNAL_ID",
            f"{external}: more than one record found for external id field: {result}",
            [external],
        )
    return result


def results(call: Call, ctx: Ctx, p: tuple[str, ...]) -> Resp:
    job = jobs_of(ctx.org).get("ingest", p[0])
    kind = p[1].lower()
    if job.state not in bulk_jobs.TERMINAL:
        raise SfError(400, "INVALIDJOBSTATE", f"Job {job.id} is {job.state}: no results yet")
    if kind == "successfulresults":
        header, rows = ["sf__Id", "sf__Created", *job.header], job.successful
    elif kind == "failedresults":
        header, rows = ["sf__Id", "sf__Error", *job.header], job.refused
    elif job.header:
        header, rows = list(job.header), list(job.unprocessed)
    else:  # aborted (or failed) before processing: every uploaded row is unprocessed
        try:
            header, rows = read(job.data or b"", job.column_delimiter, job.line_ending)
        except CsvProblem:
            header, rows = [], []
    return job.csv(header, rows)
