"""`reconcile_scan`: read one page of Salesforce, D2C and the profile store, and decide every
record on it here, so the orchestrator never replays a round trip per record.

A record whose class depends on its `record_sync` entity (no D2C customer: is an onboarding
running, stuck, rejected?) is settled with the entity's state read through the Durable client,
many reads at once: an entity no onboarding ever claimed does not exist, and reading that is
cheap, so a never-synced org costs one 404 per record and no orchestration history at all.

A dry run returns only counts and findings (no account data); a real run returns the records
to repair with what their repair needs, and the findings of those it only reports.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import azure.durable_functions as df

from activities import bp
from activities.reconciliation import read_page
from crosswalk.clients.durable import entity_state
from crosswalk.errors import TransientError
from crosswalk.models import DriftClass
from crosswalk.reconciliation import REPAIRABLE, Assessment, assess, settle
from crosswalk.services import services
from crosswalk.settings import FieldOwnershipSettings, OnboardingSettings

ENTITY_READS_IN_FLIGHT = 32


def _read_and_assess(payload: dict[str, Any]) -> tuple[dict[str, Any], list[Assessment]]:
    """One page of the three stores, each record sorted by what they say (thread: blocking I/O)."""
    svc = services()
    onboarding = OnboardingSettings.from_policy(payload.get("onboarding") or {})
    ownership = FieldOwnershipSettings.from_policy(payload.get("ownership") or {})
    # when this page's read began: now, or a Bulk scan's job creation (None: not known)
    read_at: datetime | None = datetime.now(UTC)
    if payload.get("chunk"):
        read_at = datetime.fromisoformat(payload["read_at"]) if payload.get("read_at") else None
    page, accounts, salesforce_calls = read_page(payload)
    total = int(page.get("totalSize") or len(accounts))
    threshold = payload.get("bulk_scan_threshold")
    if threshold is not None and total >= int(threshold) and not page.get("done", True):
        # a large scan: the first page said so, the rest is read through Bulk API 2.0
        return {"bulk_scan": True, "total": total, "salesforce_calls": salesforce_calls}, []
    ids = [a.Id for a in accounts]
    customers = svc.d2c.lookup(ids) if ids else {}
    profiles = svc.profiles.get_many(ids) if ids else {}
    found = [
        assess(a, customers.get(a.Id), profiles.get(a.Id), onboarding, ownership) for a in accounts
    ]
    found = [a.model_copy(update={"read_at": read_at}) if a.account else a for a in found]
    last = accounts[-1] if accounts else None
    newest = max((a.SystemModstamp for a in accounts), default=None)
    summary = {
        "records": len(accounts),
        "total": total,
        "max_modstamp": newest.isoformat() if newest else None,
        "locator": None if page.get("done", True) else page.get("nextRecordsUrl"),
        "after": {"modstamp": last.SystemModstamp.isoformat(), "id": last.Id} if last else None,
        "d2c_calls": 1 if ids else 0,
        "salesforce_calls": salesforce_calls,
    }
    return summary, found


async def _entity_states(
    client: df.DurableOrchestrationClient, account_ids: list[str]
) -> dict[str, Any]:
    gate = asyncio.Semaphore(ENTITY_READS_IN_FLIGHT)

    async def one(account_id: str) -> tuple[str, Any]:
        async with gate:
            try:
                return account_id, await entity_state(
                    client, df.EntityId("record_sync", account_id)
                )
            except Exception as exc:  # the SDK raises bare Exceptions for host trouble
                raise TransientError(
                    f"task hub entity read failed: {exc}"[:300], system="durable"
                ) from None

    return dict(await asyncio.gather(*(one(a) for a in account_ids)))


@bp.activity_trigger(input_name="payload")
@bp.durable_client_input(client_name="client")
async def reconcile_scan(payload: dict, client: df.DurableOrchestrationClient) -> dict[str, Any]:
    """Counts per class, `findings` for what is only reported, `repairs` for what a real run
    repairs (never the page itself)."""
    summary, found = await asyncio.to_thread(_read_and_assess, payload)
    if summary.get("bulk_scan"):
        return summary
    waiting = [a.sf_account_id for a in found if a.needs_entity]
    states = await _entity_states(client, waiting) if waiting else {}
    now = datetime.fromisoformat(payload["now"])
    stuck_after = timedelta(hours=float(payload.get("stuck_after_hours", 24)))
    counts: dict[str, int] = {}
    findings: list[dict[str, Any]] = []
    repairs: list[dict[str, Any]] = []
    for assessment in found:
        if assessment.needs_entity:
            assessment = settle(assessment, states.get(assessment.sf_account_id), now, stuck_after)
        counts[assessment.drift.value] = counts.get(assessment.drift.value, 0) + 1
        if assessment.drift in (DriftClass.IN_SYNC, DriftClass.NOT_QUALIFIED):
            continue
        if payload.get("dry_run") or assessment.drift not in REPAIRABLE:
            findings.append(assessment.finding().model_dump(mode="json", exclude_none=True))
        else:
            repairs.append(assessment.model_dump(mode="json", exclude_defaults=True))
    return {**summary, "counts": counts, "findings": findings, "drifted": repairs}
