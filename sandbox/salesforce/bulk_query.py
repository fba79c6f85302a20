"""Bulk API 2.0 query jobs: `/services/data/vXX.X/jobs/query[/{id}[/results]]`.

Sources ("Bulk API 2.0 and Bulk API Developer Guide", API 47.0 and later): Create a Query Job
(`operation` query or queryAll, `query`; the answer's state is UploadComplete), Get
Information About a Query Job, Get Results for a Query Job (the job must be JobComplete;
`locator` and `maxRecords`; answer headers `Sforce-Locator`, "null" on the last set, and
`Sforce-NumberOfRecords`; the same API version as the job's or 409; a locator can be used
again while the job exists), Abort, Delete, Get All. "Bulk API 2.0 doesn't support SOQL
queries that include ... GROUP BY, OFFSET, or TYPEOF clauses, aggregate functions such as
COUNT(), compound address fields ..., parent-to-child relationship queries" (child-to-parent
paths such as `Account.Name` are supported and come back as their own columns). Query jobs
use no Bulk batches; 10,000 of them fit in a rolling 24 hours (DailyBulkV2QueryJobs).
The error codes of refused queries and of results asked too early are not documented;
`API_ERROR` and `INVALIDJOBSTATE` here.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from . import bulk_jobs
from .bulk_csv import cell
from .bulk_jobs import BulkJob, Column, JobResources, jobs_of
from .calls import Call, Ctx, Resp
from .errors import SfError
from .soql import Compiler, run
from .soql_parse import Query, parse


def _columns(ctx: Ctx, text: str) -> tuple[str, list[Column]]:
    """The queried object and its result columns, or the error Bulk API 2.0 gives."""
    parsed = parse(text)
    unsupported = []
    if parsed.count:
        unsupported.append("aggregate functions such as COUNT()")
    if parsed.offset is not None:
        unsupported.append("OFFSET")
    if any(isinstance(item, Query) for item in parsed.items):
        unsupported.append("parent-to-child relationship queries")
    compiler = Compiler(ctx.org.store, ctx.version, ctx.org.clock.now_ms())
    plan = compiler.compile(text)  # the REST errors for unknown objects and fields
    columns = []
    for item in parsed.items:
        if isinstance(item, Query):
            continue
        _, fld = compiler._resolve(plan.sobject, item)
        if fld.type == "address":
            unsupported.append(f"compound field {fld.name}")
            continue
        get, fld = compiler._getter(plan.sobject, item)
        columns.append(Column(item.text, get, fld.type))
    if unsupported:
        raise SfError(400, "API_ERROR", "Bulk API 2.0 does not support: " + ", ".join(unsupported))
    return plan.sobject.name, columns


def create(call: Call, ctx: Ctx, p: tuple[str, ...]) -> Resp:
    bulk_jobs.check_version(ctx.version, "query")
    jobs = jobs_of(ctx.org)
    body = call.json()
    job = jobs.new("query", body, ctx.version, ctx.txn.actor.user_id, None)
    if job.operation not in ("query", "queryAll"):
        raise SfError(400, "INVALIDJOB", f"Invalid operation for a query job: {job.operation}")
    text = body.get("query")
    if not isinstance(text, str) or not text.strip():
        raise SfError(400, "INVALIDJOB", "A query is required for a query job")
    job.sobject, job.columns = _columns(ctx, text)
    job.query = text
    spent, _ = ctx.org.bulk_query_jobs.try_spend()
    if not spent:
        raise SfError(
            403,
            "REQUEST_LIMIT_EXCEEDED",
            "Max number of Bulk API 2.0 query jobs in 24 hours exceeded",
        )
    jobs.touch(job, "UploadComplete")
    return Resp(200, jobs.add(job).info(brief=True))


def _run(ctx: Ctx, job: BulkJob) -> None:
    """Take the result set now: later changes in the org do not show in it."""
    jobs = jobs_of(ctx.org)
    failure = jobs.take_failure()
    if failure is not None:
        return jobs.fail(job, failure)
    plan = Compiler(ctx.org.store, job.version, ctx.org.clock.now_ms()).compile(job.query or "")
    job.rows = run(plan, ctx.org.store, include_deleted=job.operation == "queryAll")
    job.processed = len(job.rows)
    jobs.touch(job, "JobComplete")


resources = JobResources("query", _run)


def _locator(value: str | None) -> int:
    if not value or value == "null":
        return 0
    try:
        offset = int(base64.b64decode(value.encode(), validate=True).decode())
    except (binascii.Error, ValueError, UnicodeDecodeError):
        offset = -1
    if offset < 0:
        raise SfError(400, "INVALIDLOCATOR", f"Invalid locator: {value}")
    return offset


def _max_records(value: str | None, total: int) -> int:
    if value is None:
        return max(total, 1)
    if not value.isdigit() or int(value) < 1:
        raise SfError(400, "INVALIDMAXRECORDS", "maxRecords must be a positive integer")
    return int(value)


def results(call: Call, ctx: Ctx, p: tuple[str, ...]) -> Resp:
    job = jobs_of(ctx.org).get("query", p[0])
    if ctx.version != job.version:
        raise SfError(
            409,
            "INVALIDVERSION",
            f"Get the results with the API version the job was created with ({job.version})",
        )
    if job.state != "JobComplete":
        raise SfError(400, "INVALIDJOBSTATE", f"Job {job.id} is {job.state}, not JobComplete")
    start = _locator(call.query.get("locator"))
    size = _max_records(call.query.get("maxRecords"), len(job.rows))
    page = job.rows[start : start + size]
    rows: list[list[Any]] = [[cell(c.get(r), c.field_type) for c in job.columns] for r in page]
    following = start + size
    locator = (
        base64.b64encode(str(following).encode()).decode() if following < len(job.rows) else "null"
    )
    return job.csv(
        [c.header for c in job.columns],
        rows,
        **{"Sforce-Locator": locator, "Sforce-NumberOfRecords": str(len(page))},
    )
