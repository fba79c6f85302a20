"""One time-ordered story of a record, merged from everything Crosswalk knows about it.

Sources: the record_sync entity (state transitions, applied/ignored changes), each instance's
history (start, steps, retries, compensations, approvals, end), reconciliation findings, dead
letters that mention the record, and support actions from the audit log.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from crosswalk.support.history import COMPENSATIONS, decoded, step_runs

APPROVAL_EVENT = "ApprovalDecision"


def _event(
    at: Any, source: str, kind: str, summary: str, instance_id: str | None = None, **details: Any
) -> dict[str, Any]:
    return {
        "at": str(at) if at is not None else None,
        "source": source,
        "kind": kind,
        "summary": summary,
        "instance_id": instance_id,
        "details": {k: v for k, v in details.items() if v is not None},
    }


def entity_events(state: dict[str, Any] | None) -> list[dict[str, Any]]:
    if not state:
        return []
    out = [
        _event(
            t.get("at"),
            "entity",
            "state",
            f"{t.get('from')} -> {t.get('to')}" + (f": {t['note']}" if t.get("note") else ""),
            t.get("instance_id"),
        )
        for t in state.get("transitions") or []
    ]
    for change in state.get("changes") or []:
        origin = change.get("origin") or "unknown"
        out.append(
            _event(
                change.get("at"),
                f"{origin}_change" if origin in ("salesforce", "d2c") else "change",
                "change",
                f"{origin} change {change.get('outcome')}"
                + (f": {change['note']}" if change.get("note") else ""),
                change.get("instance_id"),
                modstamp=change.get("modstamp"),
                version=change.get("version"),
            )
        )
    return out


def instance_events(status: dict[str, Any]) -> list[dict[str, Any]]:
    """Start, steps (with retry counts), compensations, approvals and the end of one instance."""
    iid = status.get("instanceId")
    history = status.get("historyEvents") or []
    out: list[dict[str, Any]] = []
    for event in history:
        kind, at = event.get("EventType"), event.get("Timestamp")
        if kind == "ExecutionStarted":
            data = decoded(event.get("Input"))
            source = data.get("source") if isinstance(data, dict) else None
            label = {"event": "a Salesforce change event", "http": "an HTTP start"}.get(
                source or "", source or "a start"
            )
            out.append(
                _event(
                    at,
                    "salesforce_event" if source == "event" else "workflow",
                    "started",
                    f"{status.get('name')} started by {label}",
                    iid,
                    modstamp=data.get("modstamp") if isinstance(data, dict) else None,
                )
            )
        elif kind == "EventRaised" and event.get("Name") == APPROVAL_EVENT:
            data = decoded(event.get("Input")) or {}
            if isinstance(data, dict):
                out.append(
                    _event(
                        at,
                        "approval",
                        str(data.get("decision") or "decision"),
                        f"{data.get('decision')} by {data.get('approver')}: {data.get('reason')}",
                        iid,
                        approver=data.get("approver"),
                        reason=data.get("reason"),
                    )
                )
        elif kind == "ExecutionCompleted":
            result = decoded(event.get("Result"))
            outcome = result.get("outcome") if isinstance(result, dict) else None
            out.append(_event(at, "workflow", "completed", f"ended: {outcome or 'completed'}", iid))
        elif kind == "ExecutionTerminated":
            reason = decoded(event.get("Input")) or event.get("Reason")
            out.append(_event(at, "workflow", "terminated", f"terminated: {reason}", iid))
    for run in step_runs(history):
        is_undo = run.name in COMPENSATIONS
        source = "compensation" if is_undo else "workflow"
        retries = f" after {run.attempts} attempts" if run.attempts > 1 else ""
        if run.outcome == "completed":
            summary = f"{'undid' if is_undo else 'did'} {run.name}{retries}"
        elif run.outcome == "failed":
            summary = f"{run.name} failed{retries}: {run.error or ''}"[:500]
        else:
            summary = f"{run.name} in flight"
        out.append(
            _event(
                run.ended_at or run.scheduled_at,
                source,
                f"step_{run.outcome}",
                summary,
                iid,
                step=run.name,
                attempts=run.attempts,
            )
        )
    if not history and status.get("createdTime"):
        out.append(
            _event(
                status.get("createdTime"),
                "workflow",
                "started",
                f"{status.get('name')} {status.get('runtimeStatus')}",
                iid,
            )
        )
    return out


def finding_events(account_id: str, reports: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for report in reports:
        for finding in report.get("findings") or []:
            if finding.get("sf_account_id") != account_id:
                continue
            repaired = finding.get("repaired_by")
            out.append(
                _event(
                    report.get("finished_at") or report.get("started_at"),
                    "reconciliation",
                    str(finding.get("drift")),
                    f"reconciliation {report.get('run_id')}: {finding.get('drift')} "
                    f"({finding.get('reason')})" + (f", repair {repaired}" if repaired else ""),
                    repaired,
                    run_id=report.get("run_id"),
                    repair_error=finding.get("repair_error"),
                )
            )
    return out


def dead_letter_events(letters: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        _event(
            letter.get("received_at"),
            "dead_letter",
            "dead_letter",
            f"{letter.get('source')} event dead-lettered: {letter.get('reason')}"[:500],
            event_id=(letter.get("event") or {}).get("id"),
        )
        for letter in letters
    ]


def erasure_events(receipts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A person of the record was erased: when, who asked, how it ended (no personal data)."""
    return [
        _event(
            r.get("finished_at"),
            "erasure",
            str(r.get("outcome")),
            f"a person was erased on request ({r.get('source')}): {r.get('outcome')}"
            + (f", failed at {r['failed_step']}" if r.get("failed_step") else ""),
            instance_id=f"erase-{r.get('request_id')}",
            request_id=r.get("request_id"),
        )
        for r in receipts
    ]


def audit_events(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        _event(
            e.get("at"),
            "support",
            str(e.get("action")),
            f"{e.get('action')} by {e.get('actor')} ({e.get('outcome')}): {e.get('reason') or ''}",
            (e.get("details") or {}).get("instance_id"),
        )
        for e in entries
    ]


def merge(*streams: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """All events, oldest first; events without a readable time go last."""
    events = [event for stream in streams for event in stream]
    return sorted(events, key=lambda e: parse_instant(e["at"]) or _LAST)


_LAST = datetime.max.replace(tzinfo=UTC)
_FRACTION = re.compile(r"\.(\d{1,9})")


def parse_instant(at: str | None) -> datetime | None:
    """ISO 8601 from any source here: `Z` or offsets, 0-7 fractional digits (.NET writes 7)."""
    if not at:
        return None
    text = _FRACTION.sub(lambda m: "." + m.group(1)[:6].ljust(6, "0"), at.replace("Z", "+00:00"))
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
