"""The Bulk API 2.0 routes (`/services/data/vXX.X/jobs/...`), added to the REST router."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import bulk_ingest, bulk_query
from .bulk_jobs import JobResources


def routes(route: Callable[..., Any], version: str, segment: str) -> list[Any]:
    """`route(pattern, {method: handler}, template)` for every Bulk API 2.0 resource."""
    ingest_results = "(?i:(successfulResults|failedResults|unprocessedrecords))"
    return [
        *_jobs(route, version, segment, "query", bulk_query.create, bulk_query.resources),
        route(
            f"{version}/jobs/query/{segment}/results",
            {"GET": bulk_query.results},
            lambda p: f"/services/data/v{p[0]}/jobs/query/{{id}}/results",
        ),
        *_jobs(route, version, segment, "ingest", bulk_ingest.create, bulk_ingest.resources),
        route(
            f"{version}/jobs/ingest/{segment}/batches",
            {"PUT": bulk_ingest.upload},
            lambda p: f"/services/data/v{p[0]}/jobs/ingest/{{id}}/batches",
        ),
        route(
            f"{version}/jobs/ingest/{segment}/{ingest_results}",
            {"GET": bulk_ingest.results},
            lambda p: f"/services/data/v{p[0]}/jobs/ingest/{{id}}/{p[2]}",
        ),
    ]


def _jobs(
    route: Callable[..., Any],
    version: str,
    segment: str,
    kind: str,
    create: Callable[..., Any],
    jobs: JobResources,
) -> list[Any]:
    """A kind's collection (create, Get All) and its job (info, PATCH state, DELETE)."""
    return [
        route(
            f"{version}/jobs/{kind}",
            {"POST": create, "GET": jobs.listing},
            lambda p: f"/services/data/v{p[0]}/jobs/{kind}",
        ),
        route(
            f"{version}/jobs/{kind}/{segment}",
            {"GET": jobs.info, "PATCH": jobs.change, "DELETE": jobs.remove},
            lambda p: f"/services/data/v{p[0]}/jobs/{kind}/{{id}}",
        ),
    ]
