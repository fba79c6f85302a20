"""Reconciliation starters and its reports: the timer, `POST/GET /api/reconciliations`.

The timer starts one run per firing: the instance id comes from the schedule status the host
hands the run (`scheduled_run_id`), so a second firing with the same status (another app
instance, a past-due firing after a crash) finds the instance and does nothing. On-demand
runs get a fresh id. Either way the `watermark` entity's lease decides: while a run holds
it, `POST` answers 409 and the timer skips; a lease left behind by a run that is no longer
running (terminated, crashed on a bug) is released first.
"""

from __future__ import annotations

import json
import logging
import uuid
from datetime import UTC, datetime
from typing import Any

import azure.durable_functions as df
import azure.functions as func
from pydantic import AwareDatetime, Field

from crosswalk.clients.durable import entity_state
from crosswalk.edge_models import QueryInt, RequestBody, RequestQuery
from crosswalk.models import ReconciliationReport
from crosswalk.reconcile_run import (
    WATERMARK_ENTITY,
    WATERMARK_KEY,
    RunInput,
    WatermarkState,
    reconcile_policy,
    scheduled_run_id,
)
from crosswalk.services import services
from triggers import bp
from triggers.responses import (
    BadRequest,
    HttpError,
    body_model,
    json_response,
    query_model,
    translated,
)

log = logging.getLogger("crosswalk.reconciliation")
ORCHESTRATOR = "reconciliation"
_RUNNING = {
    df.OrchestrationRuntimeStatus.Running,
    df.OrchestrationRuntimeStatus.Pending,
    df.OrchestrationRuntimeStatus.ContinuedAsNew,
}


class StartRequest(RequestBody):
    """The body of `POST /api/reconciliations` (all optional; strict: `dryRun` a JSON boolean,
    `since` an ISO 8601 string with an offset, never a Unix time)."""

    dryRun: bool = False
    since: AwareDatetime | None = Field(default=None, description="override the watermark")


class ListQuery(RequestQuery):
    limit: QueryInt = Field(default=20, ge=1, le=100)


async def _active_run(client: df.DurableOrchestrationClient) -> str | None:
    """The run holding the lease, if it is still running; a dead holder's lease is released."""
    entity = df.EntityId(WATERMARK_ENTITY, WATERMARK_KEY)
    raw = await entity_state(client, entity)
    if raw is None:
        return None
    state = WatermarkState.model_validate(raw or {})
    if state.holder is None:
        return None
    status = await client.get_status(state.holder)
    if status is not None and status.runtime_status in _RUNNING:
        return state.holder
    log.warning("releasing the reconciliation lease of %s (no longer running)", state.holder)
    await client.signal_entity(entity, "release", {"run_id": state.holder})
    return None


async def _start(
    client: df.DurableOrchestrationClient,
    instance_id: str,
    trigger: str,
    dry_run: bool = False,
    since: datetime | None = None,
) -> None:
    run = RunInput(
        run_id=instance_id,
        trigger=trigger,
        dry_run=dry_run,
        since=since,
        policy=reconcile_policy(services().settings),
    )
    await client.start_new(
        ORCHESTRATOR, instance_id=instance_id, client_input=run.model_dump(mode="json")
    )


@bp.timer_trigger(schedule="%RECONCILE_SCHEDULE%", arg_name="timer")
@bp.durable_client_input(client_name="client")
async def reconciliation_timer(
    timer: func.TimerRequest, client: df.DurableOrchestrationClient
) -> None:
    run_id = scheduled_run_id(timer.schedule_status, datetime.now(UTC))
    await start_unless_running(client, run_id, "schedule")


async def start_unless_running(
    client: df.DurableOrchestrationClient,
    instance_id: str,
    trigger: str,
    *,
    since: datetime | None = None,
) -> bool:
    """Start run `instance_id` unless it exists or another run holds the lease (that run, or
    the next, sees the same changes); True when it started."""
    existing = await client.get_status(instance_id)
    if existing is not None and existing.runtime_status is not None:
        log.info("reconciliation %s was already started", instance_id)
        return False
    active = await _active_run(client)
    if active is not None:
        log.warning("reconciliation %s skipped: run %s is still active", instance_id, active)
        return False
    await _start(client, instance_id, trigger, since=since)
    log.info("reconciliation %s started by the %s", instance_id, trigger)
    return True


@bp.route(route="reconciliations", methods=["POST"])
@bp.durable_client_input(client_name="client")
@translated
async def start_reconciliation(
    req: func.HttpRequest, client: df.DurableOrchestrationClient
) -> func.HttpResponse:
    """202 with the status URLs and the run id; 409 while another run is active."""
    request = body_model(StartRequest, req, required=False)
    active = await _active_run(client)
    if active is not None:
        raise HttpError(409, "run_active", f"reconciliation {active} is still running")
    instance_id = f"reconcile-manual-{uuid.uuid4().hex[:16]}"
    await _start(client, instance_id, "http", request.dryRun, request.since)
    response = client.create_check_status_response(req, instance_id)
    links = json.loads(response.get_body())
    return json_response({**links, "runId": instance_id, "dryRun": request.dryRun}, 202)


def _summary(report: ReconciliationReport) -> dict[str, Any]:
    body = report.model_dump(mode="json", exclude={"findings"})
    body["findings"] = len(report.findings)
    return body


@bp.route(route="reconciliations", methods=["GET"])
@translated
async def list_reconciliations(req: func.HttpRequest) -> func.HttpResponse:
    """The newest reports first, without their findings (`?limit=1..100`, default 20)."""
    query = query_model(ListQuery, req)
    reports = services().profiles.list_reports(query.limit)
    return json_response({"reports": [_summary(r) for r in reports]})


@bp.route(route="reconciliations/{runId}", methods=["GET"])
@translated
async def get_reconciliation(req: func.HttpRequest) -> func.HttpResponse:
    """One report with every finding; 404 for an unknown run."""
    run_id = req.route_params.get("runId", "")
    if not 1 <= len(run_id) <= 200 or any(c in run_id for c in "/\\?#"):
        raise BadRequest([{"field": "runId", "message": "not a run id"}])
    report = services().profiles.get_report(run_id)
    if report is None:
        raise HttpError(404, "not_found", f"no reconciliation report {run_id}")
    return json_response(report.model_dump(mode="json"))
