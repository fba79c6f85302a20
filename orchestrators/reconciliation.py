"""`reconciliation`: find and repair drift between Salesforce, D2C and the profile store (flow 4).

One execution handles one page, then `continue_as_new`s with what it carries (cursor, totals,
Salesforce writes not yet sent), so history stays small however large the org is:

lease (first page only) -> scan a page (one SOQL call + one D2C lookup + one profile read;
every record decided there, entity states read through the Durable client) -> in
`reconcile_repairs` chunks of 25 (short histories): repairs with at most
`fanout` in flight (onboarding sagas for missing customers, the update path for stale ones,
deactivation for orphans) -> Salesforce writes in sObject Collections of 200, carried over
pages until 200 are due -> report the page -> advance the watermark to the last page whose
writes are all sent -> next page, or finish: report, lake copy, lease released.

A page that still fails after its retries ends the run as failed with the page named in the
report; the watermark stays before it, so the next run reads it again.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import azure.durable_functions as df
from azure.durable_functions.models.Task import TaskState

from crosswalk.errors import ActivityFailure
from crosswalk.mapping import write_back_records
from crosswalk.models import DriftClass, DriftFinding, SalesforceAccount
from crosswalk.onboarding import OnboardingInput, onboarding_instance_id
from crosswalk.reconciliation import (
    EPOCH,
    WATERMARK_ENTITY,
    WATERMARK_KEY,
    Assessment,
    RunInput,
    settle,
)
from crosswalk.rules import approval_reasons
from crosswalk.settings import ApprovalSettings
from crosswalk.sync_state import ChangeRequest
from crosswalk.telemetry import metric
from crosswalk.updates import UpdateInput, update_instance_id
from orchestrators import bp
from orchestrators.lookup_repair import repair_lookups
from orchestrators.onboard_batch import BATCH_KEY, batch_job, spread
from orchestrators.reconcile_bulk import stage_and_send
from orchestrators.steps import (
    RetryPolicy,
    Step,
    StepFailed,
    call_with_retry,
    count,
    custom_status,
)

WRITE_CHUNK = 200
CHUNK = 25  # drifted records per `reconcile_repairs` sub-orchestration
STALE_WORKFLOW = "reconcile_repair_stale"  # the minimal path when account_update declines
UPDATED = frozenset({"applied", "no_change", "ignored"})
UPDATE_POLICY = ("ownership", "sync", "onboarding", "retry")


class _Page:
    """One execution: the context, the run's input and the shortcuts every step uses."""

    def __init__(self, context: df.DurableOrchestrationContext, run: RunInput) -> None:
        self.context = context
        self.run = run
        self.retry = RetryPolicy.from_input(run.policy.get("retry"))
        reconcile = run.policy.get("reconcile") or {}
        self.reconcile = reconcile
        self.page_size = int(reconcile.get("page_size", 2000))
        self.fanout = int(reconcile.get("fanout", 50))
        self.stuck_after = timedelta(hours=float(reconcile.get("stuck_after_hours", 24)))
        self.bulk_threshold = int(reconcile.get("bulk_threshold", 2000))
        self.watermark = df.EntityId(WATERMARK_ENTITY, WATERMARK_KEY)

    @property
    def now(self) -> datetime:
        return self.context.current_utc_datetime

    def step(self, activity: str, payload: dict[str, Any]) -> Step:
        return (yield from call_with_retry(self.context, activity, payload, self.retry))

    def status(self, stage: str, **extra: Any) -> None:
        self.context.set_custom_status(
            custom_status(stage, run_id=self.run.run_id, page=self.run.page, **extra)
        )


@bp.orchestration_trigger(context_name="context")
def reconciliation(context: df.DurableOrchestrationContext) -> Step:
    run = RunInput.model_validate(context.get_input())
    page = _Page(context, run)
    if run.page == 0:
        lease = yield context.call_entity(
            page.watermark,
            "acquire",
            {"run_id": run.run_id, "at": page.now.isoformat(), "take_owed": not run.dry_run},
        )
        if not lease["granted"]:
            # another run won the lease (two starts at the same moment): one at a time holds,
            # and this run's report says what became of it
            reason = f"run {lease['holder']} is active"
            yield from page.step(
                "reconcile_report_begin",
                {
                    "run_id": run.run_id,
                    "instance_id": context.instance_id,
                    "dry_run": run.dry_run,
                    "started_at": page.now.isoformat(),
                    "finished_at": page.now.isoformat(),
                    "status": "skipped",
                    "reason": reason,
                },
            )
            page.status("skipped", reasons=[reason])
            return {"outcome": "skipped", "reason": reason, "run_id": run.run_id}
        stored = lease.get("watermark")
        run.pending_writes = [*lease.get("owed", []), *run.pending_writes]
        run.staged = [*lease.get("owed_staged", []), *run.staged]
        overlap = timedelta(seconds=float(page.reconcile.get("overlap_seconds", 300)))
        run.resolved_since = run.since or (
            datetime.fromisoformat(stored) - overlap if stored else EPOCH
        )
        run.started_at = run.started_at or page.now
        yield from page.step(
            "reconcile_report_begin",
            {
                "run_id": run.run_id,
                "instance_id": context.instance_id,
                "dry_run": run.dry_run,
                "since": run.resolved_since.isoformat(),
                "started_at": run.started_at.isoformat(),
            },
        )
    try:
        more = yield from _handle_page(page)
    except StepFailed as failed:
        return (yield from _finish(page, "failed", failed.as_dict()))
    if more:
        context.continue_as_new(run.model_dump(mode="json"))
        return None
    if not run.dry_run and run.resolved_since is not None:  # entries that disagree: put right
        repaired = yield from repair_lookups(context, run.resolved_since, run.policy.get("retry"))
        run.totals["lookup_entries_repaired"] = -1 if repaired is None else repaired
    return (yield from _finish(page, "completed", None))


def _handle_page(page: _Page) -> Step:
    """Scan, settle, repair and report one page; True when another page follows."""
    run = page.run
    page.status("scanning")
    scan = yield from page.step(
        "reconcile_scan",
        {
            "since": run.resolved_since.isoformat(),
            "locator": run.locator,
            "after": run.after,
            "page_size": page.page_size,
            "onboarding": run.policy.get("onboarding"),
            "ownership": run.policy.get("ownership"),
            "dry_run": run.dry_run,
            "now": page.now.isoformat(),
            "stuck_after_hours": page.stuck_after.total_seconds() / 3600,
        },
    )
    counts: dict[str, int] = dict(scan["counts"])
    page.status("repairing", drifted=len(scan["drifted"]))
    findings, writes = yield from _in_chunks(page, scan["drifted"], counts)
    findings[:0] = [DriftFinding.model_validate(f) for f in scan["findings"]]

    run.pending_writes.extend(writes)
    last_page = not scan["locator"]
    written = 0
    if run.page == 0 and not run.dry_run:
        run.bulk = bool(run.staged) or scan.get("total", 0) >= page.bulk_threshold
    if run.bulk:
        written, refused = yield from stage_and_send(page, last_page)
        findings.extend(refused)
    elif run.pending_writes and (len(run.pending_writes) >= WRITE_CHUNK or last_page):
        written, refused = yield from _flush(page, last_page)
        findings.extend(refused)
    page_end = scan["after"]["modstamp"] if scan["after"] else None
    if page_end is not None:
        run.pending_watermark = max(
            filter(None, [run.pending_watermark, datetime.fromisoformat(page_end)])
        )
    watermark_to = None
    if (
        not run.dry_run
        and not run.pending_writes
        and not run.staged
        and run.pending_watermark is not None
    ):
        watermark_to = run.pending_watermark
        yield page.context.call_entity(
            page.watermark, "advance", {"run_id": run.run_id, "to": watermark_to.isoformat()}
        )

    run.page += 1
    for key, value in counts.items():
        run.totals[key] = run.totals.get(key, 0) + value
    yield from page.step(
        "reconcile_report_page",
        {
            "run_id": run.run_id,
            "page": run.page,
            "counts": counts,
            "findings": [f.model_dump(mode="json") for f in findings],
            "salesforce_writes": written,
            "watermark_to": watermark_to.isoformat() if watermark_to else None,
        },
    )
    run.locator, run.after = scan["locator"], scan["after"] or run.after
    return not last_page


def _in_chunks(page: _Page, drifted: list[dict[str, Any]], counts: dict[str, int]) -> Step:
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
    page = _Page(context, run)
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


def _settle(page: _Page, found: list[Assessment], counts: dict[str, int]) -> Step:
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


def _repair(page: _Page, found: list[Assessment]) -> Step:
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


def _starter(page: _Page, assessment: Assessment) -> Callable[[], Any] | None:
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
        defer_write_back=True,
    )


def _batched(
    page: _Page, found: list[Assessment]
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
    settings = ApprovalSettings.from_policy(run.policy.get("approval") or {})
    return bool(approval_reasons(SalesforceAccount.model_validate(account), settings))


def _activity(page: _Page, name: str, assessment: Assessment) -> Callable[[], Any]:
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


def _fan_out(page: _Page, jobs: list[tuple[int, Callable[[], Any]]]) -> Step:
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


def _flush(page: _Page, everything: bool) -> Step:
    """Send the carried Salesforce writes in full chunks of 200 (all of them on the last page).

    A record refused for a reason Salesforce says to retry (a row lock) is sent again, alone
    with the others like it, after a durable back-off, up to the retry policy's attempts.
    """
    run = page.run
    count = len(run.pending_writes)
    if not everything:
        count -= count % WRITE_CHUNK
    batch = run.pending_writes[:count]
    page.status("writing", records=len(batch))
    records = [w["record"] for w in batch]
    written = 0
    problems: dict[str, dict[str, Any]] = {}
    delay = page.retry.first_interval_seconds
    for attempt in range(1, page.retry.max_attempts + 1):
        result = yield from page.step("reconcile_write_salesforce", {"records": records})
        written += len(result["written"])
        problems.update({r["id"]: r for r in result["refused"]})
        for record_id in result["written"]:
            problems.pop(record_id, None)
        again = {r["id"] for r in result["refused"] if r.get("transient")}
        if not again or attempt == page.retry.max_attempts:
            break
        yield page.context.create_timer(page.now + timedelta(seconds=delay))
        delay = min(delay * page.retry.backoff_coefficient, page.retry.max_interval_seconds)
        records = [r for r in records if r["Id"] in again]
    run.pending_writes = run.pending_writes[count:]  # sent: a failed send keeps them owed
    refused: list[DriftFinding] = []
    reported: set[tuple[str, str]] = set()
    for entry in batch:
        record = entry["record"]
        problem = problems.get(record["Id"])
        if problem is None or (entry["account"], record["Id"]) in reported:
            continue
        reported.add((entry["account"], record["Id"]))
        refused.append(
            DriftFinding(
                sf_account_id=entry["account"],
                drift=entry["drift"],
                reason=f"Salesforce write of {record['attributes']['type']} {record['Id']}",
                repair_error=f"{problem['code']}: {problem['message']}"[:500],
            )
        )
    return written, refused


def _finish(page: _Page, status: str, failure: dict[str, Any] | None) -> Step:
    run = page.run
    if (run.pending_writes or run.staged) and not run.dry_run:  # owed, never dropped
        yield page.context.call_entity(
            page.watermark,
            "owe",
            {"run_id": run.run_id, "writes": run.pending_writes, "staged": run.staged},
        )
    result = yield from page.step(
        "reconcile_report_finish",
        {
            "run_id": run.run_id,
            "status": status,
            "at": page.now.isoformat(),
            "page_failure": {**failure, "page": run.page + 1} if failure else None,
        },
    )
    yield page.context.call_entity(page.watermark, "release", {"run_id": run.run_id})
    page.status(status, totals=run.totals)
    return {
        "outcome": status,
        "run_id": run.run_id,
        "pages": run.page,
        "totals": run.totals,
        "report": result["path"],
        "failure": failure,
    }
