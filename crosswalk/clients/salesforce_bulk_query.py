"""Bulk API 2.0 query jobs through the one Salesforce client (session, token refresh, error
taxonomy, allowance governor), with simple-salesforce's own `sf.bulk2` job calls.

A query job costs a create, a poll or a few, and one request per results set of `maxRecords`
rows ("Get Results for a Query Job": `locator`, `maxRecords`, `Sforce-Locator` "null" on the
last set, `Sforce-NumberOfRecords`; a locator may be used again while the job exists), whatever
the number of records. A results set is read as it arrives (a streamed response, parsed row by
row), so memory does not grow with `maxRecords`.

CSV as Salesforce writes query results: every value in double quotes, a null as an empty
field. Salesforce keeps no empty strings in text fields, so an empty value reads as None.
"""

from __future__ import annotations

import codecs
import csv
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import requests
from simple_salesforce.util import exception_handler

from crosswalk.clients.salesforce import SalesforceClient
from crosswalk.clients.salesforce_bulk import finished_job, job_api
from crosswalk.errors import PermanentError, TransientError

POLL_PATIENCE_SECONDS = 1800.0  # a large query job may take many minutes in a real org
CSV = "text/csv"
READ_BYTES = 64 * 1024


@dataclass(slots=True)
class ResultsSet:
    """One results set of a query job, read row by row; `locator` names the next set (None
    after the last). Close it (or read it to the end) to give the connection back."""

    response: requests.Response
    locator: str | None
    rows: int

    def _lines(self) -> Iterator[str]:
        """The body's lines as they arrive, line endings kept (a quoted value may hold one);
        `iter_content` undoes the compression a real org applies."""
        decoder = codecs.getincrementaldecoder("utf-8")()
        pending = ""
        for block in self.response.iter_content(chunk_size=READ_BYTES):
            pending += decoder.decode(block)
            *complete, pending = pending.split("\n")
            for line in complete:
                yield line + "\n"
        pending += decoder.decode(b"", final=True)
        if pending:
            yield pending

    def __iter__(self) -> Iterator[dict[str, Any]]:
        try:
            reader = csv.reader(self._lines())
            header = next(reader, None)
            if header is None:
                return
            for values in reader:
                if len(values) != len(header):
                    raise PermanentError(
                        f"query results row of {len(values)} values under {len(header)} columns",
                        system="salesforce",
                        code="BULK_RESULTS_SHAPE",
                    )
                yield {k: (v if v != "" else None) for k, v in zip(header, values, strict=True)}
        except (requests.RequestException, OSError) as exc:
            raise TransientError(
                f"query results broke off: {type(exc).__name__}", system="salesforce"
            ) from None
        finally:
            self.response.close()

    def close(self) -> None:
        self.response.close()


class BulkQuery:
    """Create, wait for and read Bulk API 2.0 query jobs."""

    def __init__(self, client: SalesforceClient) -> None:
        self.client = client
        self.requests = 0

    def start(self, sobject: str, soql: str, *, include_deleted: bool = False) -> str:
        """Create a query job (`queryAll` with deleted and archived rows); returns its id."""
        operation = "queryAll" if include_deleted else "query"
        job = self.client.call(lambda sf: job_api(sf, sobject).create_job(operation, soql))
        self.requests += 1
        return str(job["id"])

    def wait(self, sobject: str, job_id: str) -> dict[str, Any]:
        """Poll until the job ends; its info (`numberRecordsProcessed`) when it completed."""
        return finished_job(
            self.client,
            sobject,
            job_id,
            query=True,
            what=f"Bulk API query job {job_id} ({sobject})",
            patience=POLL_PATIENCE_SECONDS,
            counted=self._counted,
        )

    def _counted(self) -> None:
        self.requests += 1

    def delete(self, sobject: str, job_id: str) -> bool:
        """Delete a query job and the results Salesforce keeps for it, as "Delete a Query
        Job" advises once they are read; a job still running is aborted first (only a
        JobComplete, Aborted or Failed job can be deleted). False when it was gone already.
        One request, three for a running job."""

        def remove(sf: Any) -> int:
            bulk = job_api(sf, sobject)
            # simple-salesforce's delete_job reads JSON from the 204, which has no body
            response = bulk.session.request(
                "DELETE", bulk._construct_request_url(job_id, True), headers=bulk._get_headers()
            )
            if response.status_code >= 300 and response.status_code not in (400, 404):
                exception_handler(response)
            return response.status_code

        status = self.client.call(remove)
        self.requests += 1
        if status == 400:  # "the job is not terminated": abort it, then delete it
            self.client.call(lambda sf: job_api(sf, sobject).abort_job(job_id, True))
            status = self.client.call(remove)
            self.requests += 2
            if status == 400:
                raise PermanentError(
                    f"Bulk API query job {job_id} cannot be deleted (still not terminated)",
                    system="salesforce",
                    code="API_ERROR",
                )
        return status != 404

    def results(
        self, sobject: str, job_id: str, *, locator: str | None, max_records: int
    ) -> ResultsSet:
        """One results set, streamed: one request."""

        def get(sf: Any) -> requests.Response:
            bulk = job_api(sf, sobject)
            params: dict[str, Any] = {"maxRecords": max_records}
            if locator:
                params["locator"] = locator
            response = bulk.session.request(
                "GET",
                bulk._construct_request_url(job_id, True) + "/results",
                headers=bulk._get_headers(bulk.JSON_CONTENT_TYPE, CSV),
                params=params,
                stream=True,
            )
            if response.status_code >= 300:
                response.content  # noqa: B018 - read the error body before it is classified
                exception_handler(response)
            return response

        response = self.client.call(get)
        self.requests += 1
        following = response.headers.get("Sforce-Locator") or "null"
        return ResultsSet(
            response=response,
            locator=None if following == "null" else following,
            rows=int(response.headers.get("Sforce-NumberOfRecords") or 0),
        )
