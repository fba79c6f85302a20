"""Is anything waiting for a person? One summary for the console's front page, the health
endpoint and the hourly digest to the support chat.

It counts the record_sync states (with `stale`: onboarding or awaiting approval unchanged
for longer than RECONCILE_STUCK_AFTER_HOURS), overdue approvals, how the newest
reconciliation run ended, and how much of the org's daily Salesforce API allowance is left.
`attention` says in words what needs someone, worst first.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from crosswalk.allowance import ApiBudget
from crosswalk.errors import CrosswalkError
from crosswalk.models import ReconciliationReport
from crosswalk.relay.checkpoint import relay_health
from crosswalk.support.views import Sources, matches_state, pending_approvals
from crosswalk.sync_status import SyncStatus

log = logging.getLogger("crosswalk.support")

PAGE = 500
MAX_PAGES = 400  # 200,000 records; beyond that the counts say they are partial


def count_states(states: Iterable[dict[str, Any]], stale_before: datetime) -> dict[str, int]:
    """Records per status, plus `stale`; statuses with no record are left out."""
    counts: dict[str, int] = {}
    for state in states:
        status = str(state.get("status") or SyncStatus.NEW)
        counts[status] = counts.get(status, 0) + 1
        if matches_state(state, "stale", None, stale_before):
            counts["stale"] = counts.get("stale", 0) + 1
    return counts


def attention(
    counts: dict[str, int],
    overdue_approvals: int,
    last_run: ReconciliationReport | None,
    budget: ApiBudget | None = None,
    reserve_percent: float = 0,
    allowance_waits: int = 0,
) -> list[dict[str, Any]]:
    """What needs a person, worst first: each with a count, words, and a console page."""
    items: list[dict[str, Any]] = []

    def add(kind: str, count: int, words: str, page: str) -> None:
        if count:
            items.append({"kind": kind, "count": count, "text": words, "page": page})

    add(
        "needs_attention",
        counts.get(SyncStatus.NEEDS_ATTENTION, 0),
        "record(s) need attention: an undo kept failing",
        "#/list/needs_attention",
    )
    add("approvals_overdue", overdue_approvals, "approval(s) past their SLA", "#/approvals")
    add(
        "stale",
        counts.get("stale", 0),
        "onboarding(s) not moved for too long",
        "#/list/stale",
    )
    add("failed", counts.get(SyncStatus.FAILED, 0), "failed onboarding(s)", "#/list/failed")
    add(
        "compensated",
        counts.get(SyncStatus.COMPENSATED, 0),
        "onboarding(s) undone after a failure: fix the cause, then retry",
        "#/list/compensated",
    )
    if last_run is not None and (last_run.status == "failed" or last_run.failed):
        add(
            "reconciliation",
            max(last_run.failed, 1),
            f"failed repair(s) in reconciliation {last_run.run_id}",
            "#/reconciliations",
        )
    add(
        "salesforce_allowance",
        allowance_waits,
        "workflow(s) waiting for the org's Salesforce API allowance to recover "
        "(below SALESFORCE_API_RESERVE_PERCENT); they go on by themselves",
        "#/",
    )
    if budget is not None and budget.max and budget.spendable(reserve_percent) == 0:
        add(
            "salesforce_budget",
            budget.remaining,
            f"Salesforce API calls left today of {budget.max}: below the "
            f"{reserve_percent:g}% reserve, bulk retries are held back",
            "#/",
        )
    return items


def allowance_waiting(instances: Iterable[dict[str, Any]]) -> int:
    """Running workflows whose custom status says they wait for the Salesforce allowance."""
    return sum(
        1
        for i in instances
        if isinstance(i.get("customStatus"), dict)
        and i["customStatus"].get("waiting_for") == "salesforce_allowance"
    )


def fingerprint(items: list[dict[str, Any]]) -> str:
    """Equal when the same things need attention in the same numbers: the digest is sent
    again only when this changes, so an unchanged backlog does not ring every hour."""
    text = json.dumps([(i["kind"], i["count"]) for i in items])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


async def summary(
    src: Sources,
    *,
    stale_before: datetime,
    sla_hours: float,
    timeout_hours: float,
    escalations: int,
    budget: ApiBudget | None = None,
    reserve_percent: float = 0,
) -> dict[str, Any]:
    """Everything above, read from the task hub and the profile store; `budget` is today's
    Salesforce API allowance when it could be read."""
    states: list[dict[str, Any]] = []
    cursor: str | None = None
    for _ in range(MAX_PAGES):
        page, cursor = await src.durable.entities(PAGE, cursor)
        states.extend(e["state"] for e in page if isinstance(e.get("state"), dict))
        if cursor is None:
            break
    partial = cursor is not None  # stopped at MAX_PAGES with records left
    approvals = await pending_approvals(
        src, sla_hours=sla_hours, timeout_hours=timeout_hours, escalations=escalations
    )
    reports = await asyncio.to_thread(src.profiles.list_reports, 1)
    last_run = reports[0] if reports else None
    counts = count_states(states, stale_before)
    overdue = sum(1 for a in approvals if a["overdue"])
    waits = allowance_waiting(await src.durable.instances("", ["Running"], 100))
    relay = await _relay(src)
    dead_letters = await _dead_letters(src)
    items = attention(counts, overdue, last_run, budget, reserve_percent, waits)
    at = _after_undo_failures(items)
    items[at:at] = dead_letter_attention(dead_letters)
    items += relay_attention(relay)
    return {
        "at": src.now().isoformat(),
        "records": counts,
        "partial": partial,
        "approvals": {"pending": len(approvals), "overdue": overdue},
        "lastReconciliation": (
            {
                "runId": last_run.run_id,
                "status": last_run.status,
                "startedAt": last_run.started_at.isoformat(),
                "repaired": last_run.repaired,
                "failed": last_run.failed,
            }
            if last_run
            else None
        ),
        "salesforceApi": (
            {**budget.as_dict(), "reservePercent": reserve_percent} if budget else None
        ),
        "waitingForAllowance": waits,
        "relay": relay,
        "eventGridDeadLetters": dead_letters,
        "attention": items,
        "fingerprint": fingerprint(items),
    }


async def _relay(src: Sources) -> list[dict[str, Any]]:
    """The Pub/Sub API relay's checkpoints (empty when it never ran or the lake is off)."""
    if src.lake is None:
        return []
    now_ms = int(src.now().timestamp() * 1000)
    try:
        return await asyncio.to_thread(relay_health, src.lake, now_ms)
    except CrosswalkError:
        return []


def relay_attention(relay: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A channel whose last session stopped on an error, or that no relay moved lately."""
    items = []
    for channel in relay:
        error = channel["lastError"]
        if error is not None:
            text = f"relay of {channel['topic']} stopped: {error['kind']}: {error['message']}"
        elif channel["stale"]:
            age = channel["checkpointAgeSeconds"]
            text = f"relay of {channel['topic']}: no checkpoint for {age} s"
        else:
            continue
        items.append({"kind": "relay", "count": 1, "text": text, "page": "#/"})
    return items


async def _dead_letters(src: Sources) -> int | None:
    """Blobs in Event Grid's dead-letter container (names only); None when unreadable."""
    if src.dead_letters is None:
        return None
    try:
        return await asyncio.to_thread(src.dead_letters.count)
    except CrosswalkError as exc:
        log.warning("health: the Event Grid dead-letter container is unreadable: %s", exc)
        return None


def dead_letter_attention(count: int | None) -> list[dict[str, Any]]:
    """Events Event Grid gave up delivering never reached the app: nothing else brings them
    back (they are not in the raw zone), so a person must look and replay them."""
    if not count:
        return []
    text = (
        "delivery(ies) Event Grid dead-lettered: events that never reached the app; "
        "look, fix the cause, then replay them"
    )
    return [
        {"kind": "eventgrid_dead_letters", "count": count, "text": text, "page": "#/deadletters"}
    ]


def _after_undo_failures(items: list[dict[str, Any]]) -> int:
    """Lost events come right after undos that keep failing, before everything else."""
    return 1 if items and items[0]["kind"] == "needs_attention" else 0
