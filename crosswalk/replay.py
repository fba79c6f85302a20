"""Re-drive the sync from the raw zone for a time window, after an outage or a bug fix.

    python -m crosswalk.replay --from 2026-03-04T10:00:00Z --to 2026-03-04T12:00:00Z \\
        --app-url https://crosswalk.example.com [--system salesforce] [--key KEY] [--dry-run]

Reads every event whose time is in the window from the raw zone (the lake in the app's
settings), each id once, oldest first, and asks the app's record entities (through the Durable
Functions HTTP API) what they already applied:

- a Salesforce Account change is applied when the Account's `record_sync` entity has a
  `last_modstamp` after the change's `LastModifiedDate`, or its change log names that
  modstamp (an echo of Crosswalk's own write, an ignored or stale edit). Salesforce stamps
  in whole seconds, so a person's edit in the same second as Crosswalk's write-back shares
  its stamp: an equal stamp counts only when the note names this commit (echo notes carry
  the event's `transactionKey:sequenceNumber`); otherwise it is re-driven and the entity
  decides again;
- a D2C customer event is applied when its organisation's `record_sync` (or its sign-up's
  `signup_link`) has a D2C version at or after the event's, or notes that version.

`--dry-run` prints what would be re-driven (`redrive`) and how many are already applied, and
sends nothing. Without
it, the events not yet applied are posted back to the app's Event Grid webhook exactly as
they were received, where the usual rules apply again (deterministic instance ids, the
entities' modstamp and version checks): re-driving an event twice, or one that was applied
meanwhile, changes nothing. In Azure pass the app's `eventgrid_extension` system key as
`--key` (or `CROSSWALK_REPLAY_KEY`); it is sent as the `code` parameter and never printed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import quote

import requests

from crosswalk.lake import open_lake
from crosswalk.lake.raw import RawZone
from crosswalk.settings import LakeSettings

FUNCTIONS = {"salesforce": "salesforce_change_events", "d2c": "d2c_events"}
DURABLE = "/runtime/webhooks/durabletask"

Verdict = Literal["redrive", "applied"]


@dataclass(frozen=True)
class Plan:
    """What the replay does with one raw event."""

    event: dict[str, Any]
    verdict: Verdict
    reason: str

    def summary(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict,
            "system": self.event["system"],
            "entity": self.event["entity"],
            "id": self.event["id"],
            "type": self.event["type"],
            "time": self.event["time"],
            "subject": self.event.get("subject"),
            "reason": self.reason,
        }


EntityReader = Callable[[str, str], dict[str, Any] | None]


def _instant(value: Any) -> datetime | None:
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value / 1000, tz=UTC)
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00").replace("+0000", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else None


def _notes(state: dict[str, Any]) -> list[dict[str, Any]]:
    """The entity's change log: echoes, ignored and stale events are noted with their stamp."""
    notes = state.get("changes")
    return [note for note in notes if isinstance(note, dict)] if isinstance(notes, list) else []


def _salesforce_plan(event: dict[str, Any], read_entity: EntityReader) -> Plan:
    payload = (event.get("data") or {}).get("payload") or {}
    header = payload.get("ChangeEventHeader") or {}
    if header.get("entityName") != "Account" or not header.get("recordIds"):
        return Plan(event, "redrive", "not an Account change: the app decides")
    modstamp = _instant(payload.get("LastModifiedDate")) or _instant(header.get("commitTimestamp"))
    key = (
        f"{header['transactionKey']}:{header.get('sequenceNumber')}"
        if header.get("transactionKey")
        else None
    )
    behind = []
    for record_id in header["recordIds"]:
        state = read_entity("record_sync", str(record_id)) or {}
        applied = _instant(state.get("last_modstamp"))
        seen = any(
            _instant(note.get("modstamp")) == modstamp and note.get("event") in (None, key)
            for note in _notes(state)
        )
        if modstamp is None or not (seen or (applied is not None and applied > modstamp)):
            behind.append(str(record_id))
    if not behind:
        return Plan(event, "applied", "record_sync already past this change, or noted it")
    return Plan(event, "redrive", f"not applied yet: {', '.join(behind)}")


def _d2c_plan(event: dict[str, Any], read_entity: EntityReader) -> Plan:
    customer = (event.get("data") or {}).get("customer") or {}
    customer_id, version = customer.get("id"), customer.get("version")
    if not isinstance(customer_id, str) or not isinstance(version, int):
        return Plan(event, "redrive", "no customer version: the app decides")
    ref = customer.get("external_ref")
    if ref:
        state, field = read_entity("record_sync", str(ref)), "d2c_version"
    else:
        state, field = read_entity("signup_link", customer_id), "version"
    applied = (state or {}).get(field)
    if isinstance(applied, int) and applied >= version:
        return Plan(event, "applied", f"{field} {applied} >= {version}")
    if any(note.get("version") == version for note in _notes(state or {})):
        return Plan(event, "applied", f"version {version} is in the entity's change log")
    return Plan(event, "redrive", f"version {version} not applied yet")


def plan(events: Sequence[dict[str, Any]], read_entity: EntityReader) -> list[Plan]:
    """Decide, per raw event, whether the entities already applied it."""
    planners = {"salesforce": _salesforce_plan, "d2c": _d2c_plan}
    return [planners[event["system"]](event, read_entity) for event in events]


def cloud_event(event: dict[str, Any]) -> dict[str, Any]:
    """The event as the app received it (CloudEvents 1.0, structured JSON)."""
    envelope = {
        "specversion": "1.0",
        "id": event["id"],
        "source": event.get("source") or f"/crosswalk/replay/{event['system']}",
        "type": event["type"],
        "time": event["time"],
        "datacontenttype": "application/json",
        "data": event["data"],
    }
    if event.get("subject"):
        envelope["subject"] = event["subject"]
    return envelope


class AppClient:
    """The running app: its Durable HTTP API (entity state) and Event Grid webhook."""

    def __init__(self, base_url: str, key: str | None, *, timeout: float = 30) -> None:
        self._base = base_url.rstrip("/")
        self._key = key
        self._session = requests.Session()
        self._timeout = timeout

    def _params(self) -> dict[str, str]:
        return {"code": self._key} if self._key else {}

    def entity(self, name: str, key: str) -> dict[str, Any] | None:
        url = f"{self._base}{DURABLE}/entities/{name}/{quote(key, safe='')}"
        response = self._session.get(url, params=self._params(), timeout=self._timeout)
        if response.status_code == 404:
            return None
        response.raise_for_status()
        state = response.json()
        return state if isinstance(state, dict) else None

    def deliver(self, event: dict[str, Any]) -> int:
        response = self._session.post(
            f"{self._base}/runtime/webhooks/eventgrid",
            params={"functionName": FUNCTIONS[event["system"]], **self._params()},
            data=json.dumps(cloud_event(event)),
            headers={
                "Content-Type": "application/cloudevents+json; charset=utf-8",
                "aeg-event-type": "Notification",
            },
            timeout=self._timeout,
        )
        return response.status_code

    def close(self) -> None:
        self._session.close()


def replay(
    zone: RawZone,
    app: AppClient,
    start: datetime,
    end: datetime,
    *,
    systems: Sequence[str] = ("salesforce", "d2c"),
    dry_run: bool = True,
) -> dict[str, Any]:
    """Plan (and unless `dry_run`, re-drive) the window; returns a report."""
    plans = plan(zone.read(start, end, systems=systems), app.entity)
    delivered: list[str] = []
    failed: list[dict[str, Any]] = []
    if not dry_run:
        for item in plans:
            if item.verdict != "redrive":
                continue
            status = app.deliver(item.event)
            if 200 <= status < 300:
                delivered.append(item.event["id"])
            else:
                failed.append({"id": item.event["id"], "status": status})
    return {
        "window": {"from": start.isoformat(), "to": end.isoformat()},
        "dry_run": dry_run,
        "events": len(plans),
        "redrive": [p.summary() for p in plans if p.verdict == "redrive"],
        "already_applied": sum(1 for p in plans if p.verdict == "applied"),
        "delivered": delivered,
        "failed": failed,
    }


def _moment(text: str) -> datetime:
    moment = _instant(text)
    if moment is None:
        raise argparse.ArgumentTypeError(f"{text!r}: ISO 8601 with an offset, e.g. ...T10:00:00Z")
    return moment


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m crosswalk.replay", description=__doc__)
    parser.add_argument("--from", dest="start", type=_moment, required=True)
    parser.add_argument("--to", dest="end", type=_moment, required=True)
    parser.add_argument("--app-url", required=True, help="e.g. http://127.0.0.1:7071")
    parser.add_argument("--system", choices=sorted(FUNCTIONS), action="append")
    parser.add_argument("--key", default=os.environ.get("CROSSWALK_REPLAY_KEY"))
    parser.add_argument("--dry-run", action="store_true")
    args = parser.parse_args(argv)
    if args.end <= args.start:
        parser.error("--to must be after --from")
    lake = open_lake(LakeSettings())  # the app's LAKE_* settings from the environment
    app = AppClient(args.app_url, args.key)
    try:
        report = replay(
            RawZone(lake),
            app,
            args.start,
            args.end,
            systems=args.system or sorted(FUNCTIONS),
            dry_run=args.dry_run,
        )
    finally:
        app.close()
        lake.close()
    json.dump(report, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 1 if report["failed"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
