"""The Bulk API 2.0 routes (`/services/data/vXX.X/jobs/...`), added to the REST router."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import bulk_ingest, bulk_query


def routes(route: Callable[..., Any], version: str, segment: str) -> list[Any]:
    """`route(pattern, {method: handler}, template)` for every Bulk API 2.0 resource."""
    jobs = version + "/jobs"
    return [
        route(
            jobs + "/query",
            {"POST": bulk_query.create, "GET": bulk_query.listing},
            lambda p: f"/services/data/v{p[0]}/jobs/query",
        ),
        route(
            jobs + "/query/" + segment,
            {"GET": bulk_query.info, "PATCH": bulk_query.change, "DELETE": bulk_query.remove},
            lambda p: f"/services/data/v{p[0]}/jobs/query/{{id}}",
        ),
        route(
            jobs + "/query/" + segment + "/results",
            {"GET": bulk_query.results},
            lambda p: f"/services/data/v{p[0]}/jobs/query/{{id}}/results",
        ),
        route(
            jobs + "/ingest",
            {"POST": bulk_ingest.create, "GET": bulk_ingest.listing},
            lambda p: f"/services/data/v{p[0]}/jobs/ingest",
        ),
        route(
            jobs + "/ingest/" + segment,
            {"GET": bulk_ingest.info, "PATCH": bulk_ingest.change, "DELETE": bulk_ingest.remove},
            lambda p: f"/services/data/v{p[0]}/jobs/ingest/{{id}}",
        ),
        route(
            jobs + "/ingest/" + segment + "/batches",
            {"PUT": bulk_ingest.upload},
            lambda p: f"/services/data/v{p[0]}/jobs/ingest/{{id}}/batches",
        ),
        route(
            jobs
            + "/ingest/"
            + segment
            + "/(?i:(successfulResults|failedResults|unprocessedrecords))",
            {"GET": bulk_ingest.results},
            lambda p: f"/services/data/v{p[0]}/jobs/ingest/{{id}}/{p[2]}",
        ),
    ]
