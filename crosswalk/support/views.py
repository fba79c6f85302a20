"""The support views, assembled from the Durable task hub, the profile store, the lake and
the audit log. All I/O goes through `Sources`, so this is plain, testable Python.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from crosswalk.erasure.requests import receipts_for
from crosswalk.lake.base import Lake
from crosswalk.lake.eventgrid_deadletters import EventGridDeadLetters
from crosswalk.profiles.base import ProfileStore
from crosswalk.support import timeline
from crosswalk.support.audit import AuditStore
from crosswalk.support.batch_held import batch_ids, batch_instance
from crosswalk.support.history import decoded, ledger
from crosswalk.support.lookup import account_of_instance
from crosswalk.sync_status import SyncStatus

ONBOARD_PREFIX = "onboard-"
CANCEL_PREFIX = "support-cancel-"
UNDO_PREFIX = "support-undo-"
APPROVAL_EVENT = "ApprovalDecision"
ENDED_FAILED = {SyncStatus.FAILED, SyncStatus.COMPENSATED, SyncStatus.NEEDS_ATTENTION}
"""What a bulk retry may pick up; `cancelled` is a person's decision and is left alone."""
LIST_STATES = (
    "failed",
    "compensated",
    "needs_attention",
    "cancelled",
    "awaiting_approval",
    "stale",
)


class Durable(Protocol):
    """What the views need from the task hub (the Durable HTTP API's shapes, as dicts)."""

    async def entity(self, account_id: str) -> dict[str, Any] | None: ...

    async def entities(
        self, top: int, cursor: str | None
    ) -> tuple[list[dict[str, Any]], str | None]: ...

    async def instances(
        self, prefix: str, statuses: list[str] | None = None, top: int = 100
    ) -> list[dict[str, Any]]: ...

    async def instance(self, instance_id: str, history: bool = False) -> dict[str, Any] | None: ...


@dataclass
class Sources:
    durable: Durable
    profiles: ProfileStore
    lake: Lake | None
    audit: AuditStore
    now: Callable[[], datetime] = lambda: datetime.now(UTC)
    trace_url: str | None = None  # SUPPORT_TRACE_URL, with {operation_id}
    dead_letters: EventGridDeadLetters | None = None  # what Event Grid could not deliver


async def _thread(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    return await asyncio.to_thread(fn, *args, **kwargs)


def record_instances_prefixes(account_id: str) -> tuple[str, str, str]:
    onboard = f"{ONBOARD_PREFIX}{account_id}-"
    return onboard, f"{CANCEL_PREFIX}{onboard}", f"{UNDO_PREFIX}{onboard}"


async def record_view(src: Sources, account_id: str) -> dict[str, Any] | None:
    """Everything about one record; None when Crosswalk has never seen it."""
    onboard, cancel, undo = record_instances_prefixes(account_id)
    entity, listed, cancels, undos, profile, reports, audit = await asyncio.gather(
        src.durable.entity(account_id),
        src.durable.instances(onboard),
        src.durable.instances(cancel),
        src.durable.instances(undo),
        _thread(src.profiles.get, account_id),
        _thread(src.profiles.list_reports, 10),
        _thread(src.audit.list, target=account_id, limit=100),
    )
    if entity is None and not listed and not cancels and not undos and profile is None:
        return None
    statuses = sorted(
        [*listed, *cancels, *undos],
        key=lambda s: (s.get("createdTime") or "", s.get("instanceId") or ""),
        reverse=True,
    )
    detailed = await asyncio.gather(
        *(src.durable.instance(s["instanceId"], history=True) for s in statuses[:20])
    )
    batches = await asyncio.gather(*(src.durable.instance(b) for b in batch_ids(entity)))
    instances = [batch_instance(b, account_id) for b in batches if b is not None]
    for status in [d for d in detailed if d is not None]:
        instances.append(
            {
                "instanceId": status.get("instanceId"),
                "name": status.get("name"),
                "runtimeStatus": status.get("runtimeStatus"),
                "createdTime": status.get("createdTime"),
                "lastUpdatedTime": status.get("lastUpdatedTime"),
                "customStatus": decoded(status.get("customStatus")),
                "output": decoded(status.get("output")),
                "ledger": ledger(status),
                **trace_of(status, src.trace_url),
            }
        )
    report_dicts = [r.model_dump(mode="json") for r in reports]
    letters = await _thread(_dead_letters, src.lake, account_id, src.now())
    receipts = await _thread(_erasures, src.lake, account_id)
    events = timeline.merge(
        timeline.entity_events(entity),
        *(timeline.instance_events(s) for s in detailed if s is not None),
        timeline.finding_events(account_id, report_dicts),
        timeline.dead_letter_events(letters),
        timeline.erasure_events(receipts),
        timeline.audit_events([e.model_dump(mode="json") for e in audit]),
    )
    instances.sort(key=lambda i: (i.get("createdTime") or "", i.get("instanceId") or ""))
    instances.reverse()  # newest first, a record's batch among its own instances
    latest = instances[0] if instances else None
    return {
        "accountId": account_id,
        "state": entity,
        "profile": profile.model_dump(mode="json") if profile else None,
        "instances": instances,
        "timeline": events,
        "ledger": latest["ledger"] if latest else None,
        "findings": [e for e in events if e["source"] == "reconciliation"],
    }


def trace_of(status: dict[str, Any], trace_url: str | None) -> dict[str, Any]:
    """The instance's operation id (the trace its start continued, carried in its input as
    `traceparent`), and the link to that trace where SUPPORT_TRACE_URL says where traces are."""
    given = decoded(status.get("input"))
    traceparent = given.get("traceparent") if isinstance(given, dict) else None
    match = _TRACEPARENT.fullmatch(traceparent) if isinstance(traceparent, str) else None
    if match is None:
        return {"operationId": None, "traceUrl": None}
    operation_id = match.group(1)
    link = trace_url.replace("{operation_id}", operation_id) if trace_url else None
    return {"operationId": operation_id, "traceUrl": link}


_TRACEPARENT = re.compile(r"[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}")


def _dead_letters(lake: Lake | None, account_id: str, now: datetime) -> list[dict[str, Any]]:
    """Dead-lettered change events of the last week that mention the record (bounded scan)."""
    if lake is None:
        return []
    found: list[dict[str, Any]] = []
    for back in range(7):
        day = (now - timedelta(days=back)).strftime("%Y/%m/%d")
        for path in lake.list(f"deadletter/salesforce/{day}/")[:200]:
            try:
                letter = lake.get_json(path)
            except Exception:  # a letter that cannot be read is not this view's problem
                continue
            if account_id[:15] in str(letter.get("event")):
                found.append(letter)
    return found


def _erasures(lake: Lake | None, account_id: str) -> list[dict[str, Any]]:
    if lake is None:
        return []
    return [r.model_dump(mode="json") for r in receipts_for(lake, account_id)]


# ---------------------------------------------------------------------------- lists

_DURATION = re.compile(r"^(\d+(?:\.\d+)?)\s*([mhd])$")


def parse_older_than(raw: str | None, now: datetime) -> datetime | None:
    """`30m`, `24h`, `7d`, or an ISO 8601 instant -> the cut-off instant. ValueError if bad."""
    if raw is None or raw == "":
        return None
    match = _DURATION.match(raw.strip().lower())
    if match:
        amount, unit = float(match.group(1)), match.group(2)
        return now - timedelta(**{{"m": "minutes", "h": "hours", "d": "days"}[unit]: amount})
    moment = timeline.parse_instant(raw.strip())
    if moment is None:
        raise ValueError("use a duration like 30m, 24h or 7d, or an ISO 8601 instant")
    return moment


def _last_change(state: dict[str, Any]) -> datetime | None:
    transitions = state.get("transitions") or []
    return timeline.parse_instant(transitions[-1].get("at")) if transitions else None


def matches_state(
    state: dict[str, Any], wanted: str, cutoff: datetime | None, stale_before: datetime
) -> bool:
    status = state.get("status")
    changed = _last_change(state)
    if wanted == "stale":
        active = status in (SyncStatus.ONBOARDING, SyncStatus.AWAITING_APPROVAL)
        return active and changed is not None and changed < (cutoff or stale_before)
    if status != wanted:
        return False
    return cutoff is None or (changed is not None and changed < cutoff)


def failure_reason(error: dict[str, Any] | None) -> str | None:
    """A stable label to group failures by: `<step>:<system> <status or code>`."""
    if not error:
        return None
    what = error.get("status") or error.get("code") or error.get("kind")
    return f"{error.get('step') or 'unknown'}:{error.get('system') or '?'} {what}"


def record_summary(account_id: str, state: dict[str, Any]) -> dict[str, Any]:
    error = state.get("last_error")
    changed = _last_change(state)
    return {
        "accountId": account_id,
        "status": state.get("status"),
        "since": changed.isoformat() if changed else None,
        "instanceId": state.get("current_instance_id") or state.get("last_instance_id"),
        "attempts": state.get("attempts"),
        "failureReason": failure_reason(error),
        "error": error,
    }


async def list_records(
    src: Sources,
    *,
    wanted: str,
    cutoff: datetime | None,
    stale_before: datetime,
    limit: int,
    cursor: str | None,
    max_pages: int = 20,
) -> dict[str, Any]:
    """Scan the record_sync entities page by page; whole pages are consumed, so the cursor
    never skips a record (a page may hold a few more than `limit`)."""
    items: list[dict[str, Any]] = []
    for _ in range(max_pages):
        page, cursor = await src.durable.entities(limit, cursor)
        for entity in page:
            state = entity.get("state") or {}
            key = (entity.get("entityId") or {}).get("key", "")
            if isinstance(state, dict) and matches_state(state, wanted, cutoff, stale_before):
                items.append(record_summary(key, state))
        if len(items) >= limit or cursor is None:
            break
    return {"items": items, "nextCursor": cursor}


async def failed_records(src: Sources, *, reason: str | None, limit: int) -> list[dict[str, Any]]:
    """Every failed / compensated / needs-attention record, optionally of one failure reason."""
    out: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        page, cursor = await src.durable.entities(200, cursor)
        for entity in page:
            state = entity.get("state") or {}
            if not isinstance(state, dict) or state.get("status") not in ENDED_FAILED:
                continue
            summary = record_summary((entity.get("entityId") or {}).get("key", ""), state)
            if reason is None or summary["failureReason"] == reason:
                out.append(summary)
        if cursor is None or len(out) >= limit:
            return out[:limit]


# ---------------------------------------------------------------------------- approvals


async def pending_approvals(
    src: Sources, *, sla_hours: float, timeout_hours: float, escalations: int
) -> list[dict[str, Any]]:
    """Onboardings waiting for a person, oldest first, with reasons, waiting time and SLA."""
    running = await src.durable.instances(ONBOARD_PREFIX, ["Running"], top=500)
    waiting = [
        s
        for s in running
        if (decoded(s.get("customStatus")) or {}).get("waiting_for") == APPROVAL_EVENT
    ]
    states = await asyncio.gather(
        *(src.durable.entity(account_of_instance(s["instanceId"]) or "") for s in waiting)
    )
    now = src.now()
    out = []
    for status, state in zip(waiting, states, strict=True):
        custom = decoded(status.get("customStatus")) or {}
        account_id = account_of_instance(status["instanceId"])
        since = _awaiting_since(state) or timeline.parse_instant(status.get("createdTime"))
        deadline = timeline.parse_instant(custom.get("deadline"))
        escalation = int(custom.get("escalation") or 0)
        final = (
            deadline + timedelta(hours=timeout_hours * (escalations - escalation))
            if deadline
            else None
        )
        waited = (now - since).total_seconds() / 3600 if since else None
        out.append(
            {
                "instanceId": status["instanceId"],
                "accountId": account_id,
                "reasons": custom.get("reasons") or [],
                "waitingSince": since.isoformat() if since else None,
                "waitingHours": round(waited, 2) if waited is not None else None,
                "deadline": custom.get("deadline"),
                "escalation": escalation,
                "rejectedAutomaticallyAt": final.isoformat() if final else None,
                "slaHours": sla_hours,
                "overdue": waited is not None and waited > sla_hours,
            }
        )
    return sorted(out, key=lambda a: a["waitingSince"] or "")


def _awaiting_since(state: dict[str, Any] | None) -> datetime | None:
    for transition in reversed((state or {}).get("transitions") or []):
        if transition.get("to") == SyncStatus.AWAITING_APPROVAL:
            return timeline.parse_instant(transition.get("at"))
    return None
