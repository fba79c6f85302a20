"""A reconciliation run's own state: its input and what it carries from page to page, the
`watermark` entity's lease and owed write-backs, and the ids of timer-started runs.

Plain typed Python, no I/O: the orchestrator, the entity and the triggers share it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

WATERMARK_ENTITY = "watermark"
WATERMARK_KEY = "accounts"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _status_time(raw: Any) -> datetime | None:
    """A `ScheduleStatus` time (.NET local time with an offset); None for a missing or
    unreadable one and for .NET's default(DateTime), 0001-01-01, which means "never"."""
    if not isinstance(raw, str):
        return None
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        return None
    if moment.year == 1:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _stamp(moment: datetime) -> str:
    return f"{moment.astimezone(UTC):%Y%m%dT%H%M%S}Z"


def scheduled_run_id(schedule_status: Any, now: datetime) -> str:
    """The instance id of a timer-started run, the same each time the host fires the same
    saved status, so a repeated firing finds the run and does nothing.

    The Functions host hands each run the status it saved after the previous run: `Next` is
    the occurrence now firing, `Last` the previous run (0001-01-01 before the first). A
    run-on-startup run is told the upcoming occurrence as `Next` too, and so is that
    occurrence's own run a moment later; only `Last` tells them apart, so both go into the id.
    Without a schedule monitor there is no status: the id is `now`, to the second.
    """
    status = schedule_status if isinstance(schedule_status, dict) else {}
    firing = _status_time(status.get("Next"))
    if firing is None:
        return f"reconcile-at-{_stamp(now)}"
    last = _status_time(status.get("Last"))
    return f"reconcile-{_stamp(firing)}-after-{_stamp(last) if last else 'none'}"


class WatermarkState(BaseModel):
    """What the `watermark` entity remembers: how far runs got, and which run holds the lease.

    The lease is how "a run never starts while another is active" holds under races: the
    entity runs one operation at a time, so of two runs asking at once exactly one gets it.
    The watermark only moves forward, and only for the run that holds the lease.
    """

    model_config = ConfigDict(extra="ignore")

    watermark: AwareDatetime | None = None
    holder: str | None = None
    held_since: AwareDatetime | None = None
    last_run: str | None = None
    owed: list[dict[str, Any]] = Field(default_factory=list)
    """Salesforce write-backs a run ended without sending: the next run sends them first."""
    owed_staged: list[str] = Field(default_factory=list)
    """Lake paths of staged write-backs (bulk runs) a run ended without sending."""

    def acquire(self, run_id: str, at: datetime, *, take_owed: bool = True) -> dict[str, Any]:
        """The lease for `run_id`, handing it the write-backs earlier runs still owe (not to
        a dry run, which writes nothing; asked again, nothing is handed twice)."""
        if self.holder not in (None, run_id):
            return {"granted": False, "holder": self.holder, "watermark": self._iso()}
        if self.holder is None:
            self.holder, self.held_since = run_id, at
        owed: list[dict[str, Any]] = []
        staged: list[str] = []
        if take_owed:
            owed, self.owed = self.owed, []
            staged, self.owed_staged = self.owed_staged, []
        return {
            "granted": True,
            "holder": run_id,
            "watermark": self._iso(),
            "owed": owed,
            "owed_staged": staged,
        }

    def owe(
        self, run_id: str, writes: list[dict[str, Any]], staged: list[str] | None = None
    ) -> int:
        """Keep a run's unsent write-backs (the lease holder's only); one per record, the
        later one winning. Returns how many are owed."""
        if self.holder != run_id:
            raise ValueError(f"run {run_id} does not hold the reconciliation lease")
        by_record = {(w["record"]["attributes"]["type"], w["record"]["Id"]): w for w in self.owed}
        for write in writes:
            by_record[(write["record"]["attributes"]["type"], write["record"]["Id"])] = write
        self.owed = list(by_record.values())
        self.owed_staged.extend(p for p in staged or [] if p not in self.owed_staged)
        return len(self.owed)

    def advance(self, run_id: str, to: datetime) -> None:
        if self.holder != run_id:
            raise ValueError(f"run {run_id} does not hold the reconciliation lease")
        if self.watermark is None or to > self.watermark:
            self.watermark = to

    def release(self, run_id: str) -> bool:
        if self.holder != run_id:
            return False
        self.holder, self.held_since, self.last_run = None, None, run_id
        return True

    def _iso(self) -> str | None:
        return self.watermark.isoformat() if self.watermark else None


class BulkScan(BaseModel):
    """Where a large scan through Bulk API 2.0 query jobs stands, carried page to page: the
    two jobs, the next results set of Accounts, the Contacts' position, the staged chunks
    not yet scanned (lake paths). Small however large the org is."""

    model_config = ConfigDict(extra="forbid")

    accounts_job: str
    contacts_job: str
    total: int = 0
    split: int = 0
    """Results sets of Accounts staged so far."""
    locator: str | None = None
    exhausted: bool = False
    contacts: dict[str, Any] = Field(default_factory=dict)
    chunks: list[str] = Field(default_factory=list)
    closed: bool = False
    """The query jobs are deleted (their results read, or the run ended)."""
    read_at: AwareDatetime | None = None
    """When the jobs were created: their rows are no older (a profile's people read from them
    never overwrite a later read's)."""


class RunInput(BaseModel):
    """The `reconciliation` orchestrator's input, and what it carries to its next page.

    `policy` is the settings snapshot the run started with (reconcile, onboarding, approval
    and retry groups), so a run keeps its rules through every `continue_as_new`.
    """

    model_config = ConfigDict(extra="forbid")

    run_id: str
    trigger: str = "http"
    dry_run: bool = False
    since: AwareDatetime | None = None
    policy: dict[str, Any]
    started_at: AwareDatetime | None = None
    # carried from page to page
    page: int = 0
    resolved_since: AwareDatetime | None = None
    locator: str | None = None
    after: dict[str, str] | None = None
    pending_writes: list[dict[str, Any]] = Field(default_factory=list)
    bulk: bool = False
    """Write-backs go through Bulk API 2.0: staged per page, sent after the last one."""
    staged: list[str] = Field(default_factory=list)
    pending_watermark: AwareDatetime | None = None
    scan: BulkScan | None = None
    """Set when the scan reads through Bulk API 2.0 query jobs (RECONCILE_BULK_SCAN_THRESHOLD)."""
    totals: dict[str, int] = Field(default_factory=dict)


def reconcile_policy(settings: Any) -> dict[str, Any]:
    """The settings a run needs, snapshotted at its start (see `RunInput.policy`)."""
    return {
        "reconcile": settings.reconcile.model_dump(mode="json"),
        "onboarding": settings.onboarding.model_dump(mode="json"),
        "approval": settings.approval.model_dump(mode="json"),
        "retry": settings.retry.model_dump(mode="json"),
        "ownership": settings.ownership.model_dump(mode="json"),
        "sync": settings.sync.model_dump(mode="json"),
    }
