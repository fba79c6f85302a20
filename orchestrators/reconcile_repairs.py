"""A page's repairs: the drifted records settled and repaired in `reconcile_repairs`
sub-orchestrations of at most 25 records (short histories), at most `fanout` repairs in
flight: onboarding sagas for missing customers (`_starter`: where onboardings are launched),
the update path for stale ones, deactivation for orphans."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import azure.durable_functions as df
from azure.durable_functions.models.Task import TaskState

from crosswalk.errors import ActivityFailure
from crosswalk.field_mapping import write_back_records
from crosswalk.models import DriftClass, DriftFinding
from crosswalk.onboarding import OnboardingInput, onboarding_instance_id
from crosswalk.reconcile_run import RunInput
from crosswalk.reconciliation import Assessment, settle
from crosswalk.rules import approval_reasons
from crosswalk.salesforce_records import SalesforceAccount
from crosswalk.settings import ApprovalSettings
from crosswalk.sync_changes import ChangeRequest
from crosswalk.telemetry import metric
from crosswalk.updates import UpdateInput, update_instance_id
from orchestrators import bp
from orchestrators.onboard_batch import BATCH_KEY, batch_job, spread
from orchestrators.reconcile_page import Page
from orchestrators.steps import Step, StepFailed, count

CHUNK = 25  # drifted records per `reconcile_repairs` sub-orchestration
STALE_WORKFLOW = "reconcile_repair_stale"  # the minimal path when account_update declines
UPDATED = frozenset({"applied", "no_change", "ignored"})
UPDATE_POLICY = ("ownership", "sync", "onboarding", "retry")


def in_chunks(page: Page, drifted: list[dict[str, Any]], counts: dict[str, int]) -> Step:
    """Settle and repair the drifted records in `reconcile_repairs` sub-orchestrations.

    Each chunk keeps its own short history; replaying one long history per completed repair
    would cost the page time quadratic in its drift. At most `fanout` repairs run at once:
    `fanout // CHUNK` chunks side by side, each with its own share in flight.
    """
    context, run = page.context, page.run
    size = min(CHUNK, page.fanout)
    chunks = [drifted[i : i + size] for i in range(0, len(drifted), size)]
    side_by_side = max(1, page.fanout // size)
    findings: list[DriftFinding] = []
    writes: list[dict[str, Any]] = []
    for wave in range(0, len(chunks), side_by_side):
        tasks = [
            context.call_sub_orchestrator(
                "reconcile_repairs",
                {
                    "run_id": run.run_id,
                    "page": run.page + 1,
                    "dry_run": run.dry_run,
                    "policy": run.policy,
                    "fanout": max(1, page.fanout // side_by_side),
                    "drifted": chunk,
                },
                child_id(context, f"{run.run_id}:p{run.page + 1}:c{wave + n}"),
            )
            for n, chunk in enumerate(chunks[wave : wave + side_by_side])
        ]
        try:
            results = yield context.task_all(tasks)
        except Exception as exc:  # a bug in a chunk: the page fails, and says why
            raise StepFailed("reconcile_repairs", ActivityFailure.parse(exc), 1) from None
        for result in results:
            findings.extend(DriftFinding.model_validate(f) for f in result["findings"])
            writes.extend(result["writes"])
            for key, delta in result["moved"].items():
                counts[key] = counts.get(key, 0) + delta
    return findings, writes


@bp.orchestration_trigger(context_name="context")
def reconcile_repairs(context: df.DurableOrchestrationContext) -> Step:
    """One chunk of a page: read the entities it needs, settle, repair (or only report)."""
    body = context.get_input()
    run = RunInput(run_id=body["run_id"], page=body["page"] - 1, policy=body["policy"])
    page = Page(context, run)
    page.fanout = int(body["fanout"])
    moved: dict[str, int] = {}
    found = [Assessment.model_validate(raw) for raw in body["drifted"]]
    found = yield from _settle(page, found, moved)
    if body["dry_run"]:
        findings, writes = [a.finding() for a in found], []
    else:
        findings, writes = yield from _repair(page, found)
    return {
        "findings": [f.model_dump(mode="json") for f in findings],
        "writes": writes,
        "moved": moved,
    }


def _settle(page: Page, found: list[Assessment], counts: dict[str, int]) -> Step:
    """Read the record_sync entity of each record whose class depends on it."""
    waiting = [a for a in found if a.needs_entity]
    states: list[Any] = []
    if waiting:
        states = yield page.context.task_all(
            [
                page.context.call_entity(df.EntityId("record_sync", a.sf_account_id), "get")
                for a in waiting
            ]
        )
    by_id = {a.sf_account_id: s for a, s in zip(waiting, states, strict=True)}
    settled = []
    for assessment in found:
        if not assessment.needs_entity:
            settled.append(assessment)
            continue
        final = settle(assessment, by_id[assessment.sf_account_id], page.now, page.stuck_after)
        if final.drift is not assessment.drift:
            counts[assessment.drift.value] = counts.get(assessment.drift.value, 0) - 1
            counts[final.drift.value] = counts.get(final.drift.value, 0) + 1
        if final.drift is not DriftClass.NOT_QUALIFIED:
            settled.append(final)
    return settled


def _repair(page: Page, found: list[Assessment]) -> Step:
    """Start the right workflow for each repairable record, at most `fanout` at a time.

    Stale records go to `account_update` (it knows field ownership and the record's agreed
    values); one it will not take (the record was never marked synced in its entity, e.g.
    linked before Crosswalk) is repaired on the minimal activity path instead.
    """
    jobs: list[tuple[int, Callable[[], Any]]] = []
    requests, batch = _batched(page, found)
    for index, assessment in enumerate(found):
        starter = None if batch and index in batch[0] else _starter(page, assessment)
        if starter is not None:
            jobs.append((index, starter))
    if batch:
        jobs.append((BATCH_KEY, batch[1]))
    outcomes = yield from _fan_out(page, jobs)
    if batch:
        outcomes.update(spread(outcomes.pop(BATCH_KEY), batch[0], requests))
    refused = [
        (index, _activity(page, STALE_WORKFLOW, found[index]))
        for index, outcome in outcomes.items()
        if found[index].drift is DriftClass.STALE_IN_D2C and not _updated(outcome)
    ]
    if refused:
        outcomes.update((yield from _fan_out(page, refused)))
    findings: list[DriftFinding] = []
    writes: list[dict[str, Any]] = []
    for index, assessment in enumerate(found):
        outcome = outcomes.get(index)
        repaired_by, error = None, None
        fields = dict(assessment.salesforce_fields)
        if outcome is not None:
            repaired_by, error, records = _judge(assessment, outcome)
            verdict = "failed" if error else "repaired"
            count(page.context, metric.repair_finished, str(assessment.drift), verdict)
            writes.extend(
                {"record": r, "account": assessment.sf_account_id, "drift": assessment.drift}
                for r in records
            )
        if repaired_by != "account_update":  # it writes the D2C-owned fields itself
            fields.update(assessment.owner_fields)
        if error is None and fields:
            record = {"attributes": {"type": "Account"}, "Id": assessment.sf_account_id, **fields}
            writes.append(
                {"record": record, "account": assessment.sf_account_id, "drift": assessment.drift}
            )
            repaired_by = repaired_by or "salesforce_write"
        findings.append(assessment.finding(repaired_by=repaired_by, repair_error=error))
    return findings, writes


def _starter(page: Page, assessment: Assessment) -> Callable[[], Any] | None:
    context, run = page.context, page.run
    if assessment.drift is DriftClass.MISSING_IN_D2C and assessment.account is not None:
        request = _onboarding(run, assessment)
        instance_id = onboarding_instance_id(assessment.sf_account_id, assessment.modstamp)
        if not _needs_approval(run, assessment.account):
            body = request.model_dump(mode="json", exclude_defaults=True)
            child = child_id(context, instance_id)  # never the webhook's id: see child_id
            return lambda: context.call_sub_orchestrator("account_onboarding", body, child)
        # A person may take days: start it detached (it writes its own ids back) so the run,
        # and the lease that keeps other runs out, does not wait for the decision. The
        # client start (start_once) refuses an id that exists: a collision is an answer here,
        # never a hang.
        detached = request.model_copy(update={"defer_write_back": False})
        payload = {
            "orchestrator": "account_onboarding",
            "instance_id": instance_id,
            "input": detached.model_dump(mode="json", exclude_defaults=True),
        }
        return lambda: context.call_activity("start_detached", payload)
    if assessment.drift is DriftClass.STALE_IN_D2C and (
        assessment.customer_patch or assessment.profile
    ):
        if not assessment.customer_patch:  # only the profile: nothing for an update to do
            return _activity(page, STALE_WORKFLOW, assessment)
        change = ChangeRequest(origin="reconciliation", modstamp=assessment.modstamp, full=True)
        update = UpdateInput(
            account_id=assessment.sf_account_id,
            request=change,
            policy={k: run.policy.get(k) or {} for k in UPDATE_POLICY},
            account=assessment.account,
        )
        body = update.model_dump(mode="json", exclude_none=True)
        instance_id = child_id(
            context, update_instance_id(assessment.sf_account_id, change, tag=run.run_id)
        )
        return lambda: context.call_sub_orchestrator("account_update", body, instance_id)
    if assessment.drift is DriftClass.D2C_ORPHAN:
        return _activity(page, "reconcile_retire_orphan", assessment)
    return None


def _onboarding(run: RunInput, assessment: Assessment) -> OnboardingInput:
    return OnboardingInput(
        account_id=assessment.sf_account_id,
        modstamp=assessment.modstamp,
        source="reconciliation",
        policy={k: run.policy.get(k) or {} for k in ("approval", "onboarding", "retry")},
        account=assessment.account,
        read_at=assessment.read_at,
        defer_write_back=True,
    )


def _batched(
    page: Page, found: list[Assessment]
) -> tuple[dict[int, OnboardingInput], tuple[list[int], Callable[[], Any]] | None]:
    """The missing accounts that need no person, for one `onboard_batch` (orchestrators/
    onboard_batch.py) instead of a saga each, unless RECONCILE_ONBOARD_IN_BATCHES is off."""
    if not page.reconcile.get("onboard_in_batches", True):
        return {}, None
    requests = {
        index: _onboarding(page.run, a)
        for index, a in enumerate(found)
        if a.drift is DriftClass.MISSING_IN_D2C and a.account is not None
    }
    name = f"onboard-batch-{page.run.run_id}-p{page.run.page + 1}"
    return requests, batch_job(page.context, requests, lambda: child_id(page.context, name))


def child_id(context: df.DurableOrchestrationContext, base: str) -> str:
    """The id of a sub-orchestration this run starts: `base` plus a part nobody else uses.

    Azure silently drops the start of a sub-orchestration whose id is already running (the
    run would wait for ever, holding the lease) and replaces a finished one (losing its
    history). The webhook and support retries use the bare onboarding id, and an earlier run
    (terminated or restarted) may still have children with this run's ids; a part from
    `new_uuid()` (the same on every replay, different in every execution) keeps them apart.
    The duplicate of a running onboarding is then told apart by the record's entity claim.
    """
    return f"{base}-x{context.new_uuid().replace('-', '')[:16]}"


def _needs_approval(run: RunInput, account: dict[str, Any]) -> bool:
    settings = ApprovalSettings.from_policy(run.policy.get("approval"))
    return bool(approval_reasons(SalesforceAccount.model_validate(account), settings))


def _activity(page: Page, name: str, assessment: Assessment) -> Callable[[], Any]:
    payload = assessment.model_dump(mode="json", exclude={"account"})
    return lambda: page.context.call_activity(name, payload)


def _updated(outcome: tuple[str, Any]) -> bool:
    kind, value = outcome
    return kind == "ok" and (value or {}).get("outcome") in UPDATED


def _workflow(assessment: Assessment, value: Any) -> str:
    if assessment.drift is DriftClass.D2C_ORPHAN:
        return "reconcile_retire_orphan"
    if isinstance(value, dict) and value.get("outcome") in UPDATED:
        return "account_update"
    return STALE_WORKFLOW


def _judge(
    assessment: Assessment, outcome: tuple[str, Any]
) -> tuple[str | None, str | None, list[dict[str, Any]]]:
    """What a finished repair means for the report, and what it still needs written."""
    kind, value = outcome
    if kind == "error":
        return None, f"{value.system} {value.code or value.kind}: {value.detail}"[:500], []
    if assessment.drift is not DriftClass.MISSING_IN_D2C:
        return _workflow(assessment, value), None, []
    result = value or {}
    if result.get("detached"):  # waiting for a person; it finishes (and writes back) itself
        return "account_onboarding (started, awaiting approval)", None, []
    if result.get("outcome") == "synced":
        records = write_back_records(result["write_back"]) if result.get("write_back") else []
        return "account_onboarding", None, records
    reason = result.get("reason") or result.get("error", {}).get("detail") or ""
    return None, f"onboarding ended {result.get('outcome')}: {reason}"[:500], []


def _fan_out(page: Page, jobs: list[tuple[int, Callable[[], Any]]]) -> Step:
    """Run jobs in waves of at most `fanout`; transient failures get another round after a
    durable back-off, up to the retry policy's attempts. Returns {key: ("ok"|"error", ...)}.

    Waves, not a sliding window: the host carries out the orchestrator's actions one at a
    time, and a `task_any` that re-yields running tasks beside one new task reaches it as a
    wait for the new task alone (the SDK leaves scheduled tasks out of the action), so a
    window refilled that way shrinks towards one job in flight. A wave's `task_all` starts
    all of its jobs in one action.
    """
    context = page.context
    outcomes: dict[int, tuple[str, Any]] = {}
    delay = page.retry.first_interval_seconds
    for attempt in range(1, page.retry.max_attempts + 1):
        again: list[tuple[int, Callable[[], Any]]] = []
        for first in range(0, len(jobs), page.fanout):
            wave = [(key, start, start()) for key, start in jobs[first : first + page.fanout]]
            yield from _all_settled(context, [task for _, _, task in wave])
            for key, start, task in wave:
                if task.state is TaskState.FAILED:
                    failure = ActivityFailure.parse(task.result)
                    outcomes[key] = ("error", failure)
                    if failure.retryable:
                        again.append((key, start))
                else:
                    outcomes[key] = ("ok", task.result)
        if not again or attempt == page.retry.max_attempts:
            break
        yield context.create_timer(context.current_utc_datetime + timedelta(seconds=delay))
        delay = min(delay * page.retry.backoff_coefficient, page.retry.max_interval_seconds)
        jobs = again
    return outcomes


def _all_settled(context: df.DurableOrchestrationContext, tasks: list[Any]) -> Step:
    """Wait until every task has finished, failed ones included.

    Python's `task_all` raises at the first failure while the others still run (and the
    host's `Task.WhenAll` waits for them anyway); waiting for each of the rest keeps their
    outcomes, and adds no action the host would have to carry out.
    """
    try:
        yield context.task_all(tasks)
    except Exception:  # each task's own outcome is read by the caller
        for task in tasks:
            if task.state is TaskState.RUNNING:
                with contextlib.suppress(Exception):  # read from task.state too
                    yield task
