"""Bulk API 2.0 jobs: what the org remembers of each, and the resources common to both kinds.

Sources: "Bulk API 2.0 and Bulk API Developer Guide" (Create a Job / Create a Query Job, Get
Job Info, Close or Abort a Job, Delete a Job, Get All Jobs, Limits). Job Ids use the `750`
prefix; job info is JSON with the fields of the docs' examples; every request is one API
call against the daily allocation (Help 000382576), which the HTTP edge already counts.

Processing is instant: a job is done by the time it is first polled after its data is
complete (the real service takes seconds to minutes; a client that polls once sees the
floor). `fail_next` lets a test make the next jobs fail as an overloaded org's do.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..clock import sf_datetime
from .bulk_csv import DELIMITERS, LINE_ENDINGS, write
from .calls import Call, Ctx, Resp
from .errors import SfError
from .ids import make_id

if TYPE_CHECKING:
    from .org import SalesforceOrg
    from .store import Record

TERMINAL = frozenset({"JobComplete", "Aborted", "Failed"})
MIN_QUERY_VERSION = 47.0
MIN_INGEST_VERSION = 41.0
CSV_TYPE = "text/csv; charset=UTF-8"  # the docs say UTF-8; the real header is unverified


@dataclass
class Column:
    """One column of a query job's results: its header and how a row's value is read."""

    header: str
    get: Any
    field_type: str


@dataclass
class BulkJob:
    id: str
    kind: str  # "query" or "ingest"
    operation: str
    sobject: str
    created_by: str
    created_ms: int
    version: str
    line_ending: str
    column_delimiter: str
    client: str | None = None
    state: str = "Open"
    modstamp_ms: int = 0
    external_id: str | None = None
    query: str | None = None
    error: str | None = None
    processed: int = 0
    failed: int = 0
    # query: the result set, fixed when the job ran (rows are never mutated in the store)
    columns: list[Column] = field(default_factory=list)
    rows: list[Record] = field(default_factory=list)
    # ingest: the upload and what became of each row
    data: bytes | None = None
    header: list[str] = field(default_factory=list)
    successful: list[list[str | None]] = field(default_factory=list)
    refused: list[list[str | None]] = field(default_factory=list)
    unprocessed: list[list[str]] = field(default_factory=list)

    def info(self, *, brief: bool = False) -> dict[str, Any]:
        """The job as the API describes it; `brief` is the create answer's shape."""
        out: dict[str, Any] = {
            "id": self.id,
            "operation": self.operation,
            "object": self.sobject,
            "createdById": self.created_by,
            "createdDate": sf_datetime(self.created_ms),
            "systemModstamp": sf_datetime(self.modstamp_ms or self.created_ms),
            "state": self.state,
        }
        if self.external_id:
            out["externalIdFieldName"] = self.external_id
        out.update(concurrencyMode="Parallel", contentType="CSV", apiVersion=float(self.version))
        if self.kind == "ingest":
            out["contentUrl"] = f"services/data/v{self.version}/jobs/ingest/{self.id}/batches"
        if not brief:
            out["jobType"] = "V2Query" if self.kind == "query" else "V2Ingest"
        out.update(lineEnding=self.line_ending, columnDelimiter=self.column_delimiter)
        if brief:
            return out
        out["numberRecordsProcessed"] = self.processed
        if self.kind == "ingest":
            out["numberRecordsFailed"] = self.failed
        out.update(retries=0, totalProcessingTime=0)
        if self.kind == "ingest":
            out.update(apiActiveProcessingTime=0, apexProcessingTime=0)
        else:
            out["isPkChunkingSupported"] = True
        if self.error:
            out["errorMessage"] = self.error
        return out

    def csv(self, header: list[str], rows: Any, **headers: str) -> Resp:
        """A results answer: CSV in the job's own delimiter and line ending."""
        body = write(header, rows, self.column_delimiter, self.line_ending)
        return Resp(200, body, {"Content-Type": CSV_TYPE, **headers})


class BulkJobs:
    """Every Bulk API 2.0 job of one org (runs under the org's store lock)."""

    def __init__(self, org: SalesforceOrg) -> None:
        self.org = org
        self.jobs: dict[str, BulkJob] = {}
        self._ids = itertools.count(1)
        self.fail_next: list[str] = []  # messages for the next jobs to fail

    def new(self, kind: str, body: Any, version: str, user_id: str, client: str | None) -> BulkJob:
        if not isinstance(body, dict):
            raise SfError(400, "JSON_PARSER_ERROR", "The request body must be a JSON object.")
        delimiter = body.get("columnDelimiter", "COMMA")
        line_ending = body.get("lineEnding", "LF")
        if delimiter not in DELIMITERS:
            raise SfError(400, "INVALIDJOB", f"Invalid column delimiter: {delimiter}")
        if line_ending not in LINE_ENDINGS:
            raise SfError(400, "INVALIDJOB", f"Invalid line ending: {line_ending}")
        if body.get("contentType", "CSV") != "CSV":
            raise SfError(400, "INVALIDJOB", "Only CSV is supported as contentType")
        job = BulkJob(
            id=make_id("750", next(self._ids)),
            kind=kind,
            operation=str(body.get("operation")),
            sobject="",
            created_by=user_id,
            created_ms=self.org.clock.now_ms(),
            version=version,
            line_ending=line_ending,
            column_delimiter=delimiter,
            client=client,
        )
        return job

    def add(self, job: BulkJob) -> BulkJob:
        self.jobs[job.id] = job
        return job

    def get(self, kind: str, job_id: str) -> BulkJob:
        job = self.jobs.get(job_id)
        if job is None or job.kind != kind:
            raise SfError(404, "NOT_FOUND", "The requested resource does not exist")
        return job

    def touch(self, job: BulkJob, state: str) -> None:
        job.state = state
        job.modstamp_ms = self.org.clock.now_ms()

    def fail(self, job: BulkJob, message: str) -> None:
        job.error = message
        self.touch(job, "Failed")

    def take_failure(self) -> str | None:
        return self.fail_next.pop(0) if self.fail_next else None


def jobs_of(org: SalesforceOrg) -> BulkJobs:
    if org.bulk is None:
        org.bulk = BulkJobs(org)
    return org.bulk


@dataclass(frozen=True)
class JobResources:
    """The resources both kinds of job answer alike: Get All Jobs, Get Job Info, Close or
    Abort, Delete. `complete` does a job's work when it is first polled with its data complete
    (run the query, process the upload)."""

    kind: str
    complete: Callable[[Ctx, BulkJob], None]

    def listing(self, call: Call, ctx: Ctx, p: tuple[str, ...]) -> Resp:
        check_version(ctx.version, self.kind)
        return Resp(200, listing(jobs_of(ctx.org), self.kind))

    def info(self, call: Call, ctx: Ctx, p: tuple[str, ...]) -> Resp:
        check_version(ctx.version, self.kind)
        job = jobs_of(ctx.org).get(self.kind, p[0])
        if job.state == "UploadComplete":
            self.complete(ctx, job)
        return Resp(200, job.info())

    def change(self, call: Call, ctx: Ctx, p: tuple[str, ...]) -> Resp:
        jobs = jobs_of(ctx.org)
        return Resp(200, set_state(jobs, jobs.get(self.kind, p[0]), call.json()))

    def remove(self, call: Call, ctx: Ctx, p: tuple[str, ...]) -> Resp:
        jobs = jobs_of(ctx.org)
        delete(jobs, jobs.get(self.kind, p[0]))
        return Resp(204)


def check_version(version: str, kind: str) -> None:
    least = MIN_QUERY_VERSION if kind == "query" else MIN_INGEST_VERSION
    if float(version) < least:
        raise SfError(404, "NOT_FOUND", "The requested resource does not exist")


def set_state(jobs: BulkJobs, job: BulkJob, body: Any) -> dict[str, Any]:
    """PATCH a job: `UploadComplete` closes an open ingest job, `Aborted` stops any job."""
    wanted = body.get("state") if isinstance(body, dict) else None
    if wanted == "Aborted":
        if job.state in TERMINAL:
            raise SfError(
                400, "INVALIDJOBSTATE", f"Job {job.id} is {job.state}: it can no longer abort"
            )
        jobs.touch(job, "Aborted")
        return job.info(brief=True)
    if wanted == "UploadComplete" and job.kind == "ingest":
        if job.state != "Open":
            raise SfError(400, "INVALIDJOBSTATE", f"Job {job.id} is {job.state}, not Open")
        if job.data is None:
            jobs.fail(job, "InvalidBatch : No data was uploaded for this job")
        else:
            jobs.touch(job, "UploadComplete")
        return job.info(brief=True)
    raise SfError(400, "INVALIDJOBSTATE", f"Invalid state for this request: {wanted!r}")


def delete(jobs: BulkJobs, job: BulkJob) -> None:
    """DELETE a job, its data and results with it. A query job only once JobComplete,
    Aborted or Failed, refused as "Delete a Query Job" shows (400 `API_ERROR`, its message);
    an ingest job also once UploadComplete (the code of that refusal is this stand-in's)."""
    if job.kind == "query" and job.state not in TERMINAL:
        raise SfError(
            400,
            "API_ERROR",
            "Error encountered when deleting the job because the job is not terminated",
        )
    if job.kind == "ingest" and job.state not in TERMINAL | {"UploadComplete"}:
        raise SfError(
            400, "INVALIDJOBSTATE", f"Job {job.id} is {job.state}: finish or abort it first"
        )
    del jobs.jobs[job.id]


def listing(jobs: BulkJobs, kind: str) -> dict[str, Any]:
    records = [j.info(brief=True) for j in jobs.jobs.values() if j.kind == kind]
    for record in records:
        record["jobType"] = "V2Query" if kind == "query" else "V2Ingest"
    return {"done": True, "records": records, "nextRecordsUrl": None}
