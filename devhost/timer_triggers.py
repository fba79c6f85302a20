"""Timer triggers: NCRONTAB and TimeSpan schedules (parsed in devhost/ncrontab.py).

NCRONTAB runs in UTC unless the app setting `WEBSITE_TIME_ZONE` names an IANA zone, as on
Azure's Linux Premium/Dedicated plans (Flex Consumption and Consumption do not support it;
a warning says so; Windows zone names stop start-up here). Occurrences are found on the
zone's wall clock and adjusted for daylight saving as CronSchedule does. TimeSpans ignore
the zone.

Each function has one loop, so runs never overlap (the extension's TimerListener). The loop
waits on the host's clock (virtual in tests: `advance()` fires what falls due). With
`use_monitor` (default true; off for schedules under a minute whatever the binding says) the
ScheduleStatus is saved in the task hub after every run, and each run receives the status
saved after the previous one: `Next` is the occurrence now firing, `Last`/`LastUpdated` the
previous run (0001-01-01 before the first). On start, an occurrence missed while devhost was
down fires ONCE with `past_due` true. A clock jump over several occurrences while running
fires once, late, with `past_due` false, as a late System.Timers.Timer does on Azure.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from devhost.clock import Clock
from devhost.index import Function, UnsupportedBinding
from devhost.ncrontab import Crontab, CrontabError, parse_timespan
from devhost.store import Store
from devhost.workers import WorkerError, WorkerPool

log = logging.getLogger("devhost")


@dataclass
class ScheduleStatus:
    """What the timer extension saves after a run; None is .NET's default(DateTime)."""

    last: float | None
    next: float
    last_updated: float | None


def net_local(ts: float | None, zone: tzinfo) -> str:
    """A .NET local DateTime as the host's JSON serializer writes it: the zone's offset,
    seven fractional digits at most with trailing zeros dropped; None is default(DateTime)
    in local time (0001-01-01T00:00:00 with the zone's offset)."""
    if ts is None:
        offset = datetime(2001, 1, 1, tzinfo=zone).utcoffset() or timedelta(0)
        minutes = int(offset.total_seconds()) // 60
        sign = "-" if minutes < 0 else "+"
        return f"0001-01-01T00:00:00{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
    moment = datetime.fromtimestamp(ts, zone)
    fraction = f"{moment.microsecond:06d}".rstrip("0")
    text = moment.replace(microsecond=0, tzinfo=None).isoformat()
    offset = moment.isoformat()[-6:]
    return f"{text}.{fraction}{offset}" if fraction else f"{text}{offset}"


def _aware(wall: datetime, zone: tzinfo, fold: int = 0) -> datetime:
    return wall.replace(tzinfo=zone, fold=fold)


def _exists(wall: datetime, zone: tzinfo, fold: int) -> bool:
    aware = _aware(wall, zone, fold)
    return aware.astimezone(UTC).astimezone(zone).replace(tzinfo=None) == wall


def _ambiguous(wall: datetime, zone: tzinfo) -> bool:
    """TimeZoneInfo.IsAmbiguousTime: the wall time happens twice (the hour repeated when
    daylight saving ends)."""
    first, second = _aware(wall, zone, 0), _aware(wall, zone, 1)
    return first.utcoffset() != second.utcoffset() and _exists(wall, zone, 0)


def _instant(wall: datetime, zone: tzinfo) -> datetime:
    """new DateTimeOffset(local DateTime): an ambiguous time is read as standard time (the
    later one); a time skipped when daylight saving starts with the offset before the jump."""
    return _aware(wall, zone, 1 if _ambiguous(wall, zone) else 0)


class Schedule:
    """`next_after(t)`: the first occurrence strictly after t (epoch seconds); inf if never.

    NCRONTAB occurrences are found on the local wall clock and then adjusted for daylight
    saving as the extension's CronSchedule does: a time skipped in spring moves forward by
    the jump; in the repeated autumn hour a fixed-time schedule runs once (in daylight time)
    and an interval schedule carries on through both hours.
    """

    def __init__(self, text: str, time_zone: tzinfo = UTC) -> None:
        self.text = text.strip()
        self.time_zone = time_zone
        self.interval: float | None = None
        self.cron: Crontab | None = None
        try:  # TimerSchedule.Create: NCRONTAB first, then TimeSpan
            self.cron = Crontab.parse(text)
            return
        except CrontabError as exc:
            cron_error = exc
        span = parse_timespan(text)
        if span is None:
            raise ValueError(
                f"'{text}' is neither an NCRONTAB expression ({cron_error}) nor a TimeSpan"
            )
        if span <= timedelta(0):  # Azure would fire it back to back; refused here
            raise ValueError(f"TimeSpan schedule '{text}' must be positive")
        self.interval = span.total_seconds()

    def next_after(self, t: float) -> float:
        if self.interval is not None:  # TimeSpan: ConstantSchedule, t + interval
            return t + self.interval
        assert self.cron is not None
        zone = self.time_zone
        now = datetime.fromtimestamp(t, zone)
        wall = self.cron.next_after(now.replace(tzinfo=None))
        if wall is None:
            return math.inf
        after = _instant(wall, zone)
        now_ambiguous = _ambiguous(now.replace(tzinfo=None), zone)
        next_ambiguous = _ambiguous(wall, zone)
        shift = (after.utcoffset() or timedelta(0)) - (now.utcoffset() or timedelta(0))
        if not self.cron.is_interval and next_ambiguous and shift:
            return after.timestamp() + shift.total_seconds()  # the daylight-time one
        if not self.cron.is_interval and next_ambiguous:
            while wall is not None and _ambiguous(wall, zone):  # already ran in daylight time
                wall = self.cron.next_after(wall)
            return math.inf if wall is None else _instant(wall, zone).timestamp()
        if self.cron.is_interval and (now_ambiguous or next_ambiguous) and shift:
            return after.timestamp() + shift.total_seconds()
        return after.timestamp()

    def monitor_allowed(self, now: float) -> bool:
        """False where TimerSchedule.Create turns use_monitor off: a TimeSpan under a minute,
        or an NCRONTAB whose fields other than seconds are all `*` and that fires more than
        once in the coming minute."""
        if self.interval is not None:
            return self.interval >= 60
        assert self.cron is not None
        cron = self.cron
        wild = (
            len(cron.minutes) == 60
            and len(cron.hours) == 24
            and len(cron.days) == 31
            and len(cron.months) == 12
            and len(cron.weekdays) == 7
        )
        if not wild:
            return True
        first = self.next_after(now)
        return not self.next_after(first) <= now + 60


def schedule_time_zone(settings: Mapping[str, str]) -> tzinfo:
    """The zone NCRONTAB schedules run in: `WEBSITE_TIME_ZONE` (an IANA name), else UTC."""
    name = (settings.get("WEBSITE_TIME_ZONE") or "").strip()
    if not name:
        return UTC
    log.warning(
        "WEBSITE_TIME_ZONE=%s: timers run in that zone as on Linux Premium/Dedicated plans; "
        "Flex Consumption and Consumption do not support the setting (timers run in UTC)",
        name,
    )
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise UnsupportedBinding(
            f"app setting WEBSITE_TIME_ZONE={name!r} is not an IANA time zone name; devhost "
            "runs timers as Azure's Linux plans do (e.g. 'Europe/Berlin', 'America/New_York')"
        ) from None


def check_schedules(functions: list[Function], time_zone: tzinfo = UTC) -> dict[str, Schedule]:
    """Parse every schedule at start-up; a bad one stops start-up naming the function."""
    schedules = {}
    for fn in functions:
        try:
            schedules[fn.name] = Schedule(str(fn.trigger.get("schedule", "")), time_zone)
        except ValueError as exc:
            raise UnsupportedBinding(f"function '{fn.name}': {exc}") from exc
    return schedules


class TimerTriggers:
    """One loop per timer function; `next_due()` feeds the engine's time skipping."""

    def __init__(
        self,
        functions: list[Function],
        pool: WorkerPool,
        store: Store,
        clock: Clock,
        *,
        spawn: Callable[[Any], None],
        busy: Callable[[int], None],
        client_binding: Callable[[], dict[str, Any]] | None = None,
        time_zone: tzinfo = UTC,
    ) -> None:
        self.client_binding = client_binding
        self.pool = pool
        self.store = store
        self.clock = clock
        self._spawn = spawn
        self._busy = busy
        self._wakes: set[asyncio.Event] = set()
        self._due: dict[str, float] = {}
        self.schedules: dict[str, Schedule] = {}
        self.functions = functions
        self.schedules = check_schedules(functions, time_zone)
        loop = asyncio.get_running_loop()
        clock.on_advance(lambda: loop.call_soon_threadsafe(self._wake_all))

    def _wake_all(self) -> None:
        for wake in self._wakes:
            wake.set()

    def start(self) -> None:
        for fn in self.functions:
            self._spawn(self._run(fn))

    def next_due(self) -> float | None:
        return min(self._due.values(), default=None)

    async def _sleep_until(self, when: float) -> None:
        wake = asyncio.Event()
        self._wakes.add(wake)
        try:
            while (remaining := when - self.clock.now()) > 0:
                wake.clear()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(remaining):  # not wait_for: see DurableTimers
                        await wake.wait()
        finally:
            self._wakes.discard(wake)

    def _use_monitor(self, fn: Function, schedule: Schedule) -> bool:
        """`use_monitor` (default true), turned off for schedules under a minute even when
        set, as the extension's TimerSchedule.Create does."""
        wanted = fn.trigger.get("useMonitor")
        return (wanted is None or bool(wanted)) and schedule.monitor_allowed(self.clock.now())

    def _check_past_due(
        self, fn: Function, schedule: Schedule, now: float
    ) -> tuple[ScheduleStatus | None, bool]:
        """The saved status (None if there was none) and whether it is past due, as
        ScheduleMonitor.CheckPastDueAsync: a status that no longer fits the schedule (the
        schedule changed) is reset, and a first start saves the next occurrence."""
        saved = self.store.timer_status(fn.name)
        if saved is None:
            first = ScheduleStatus(None, schedule.next_after(now), now)
            self._save(fn, first)
            return None, False
        status = ScheduleStatus(*saved)
        if status.last is not None:
            expected, updated = schedule.next_after(status.last), status.last
        elif status.last_updated is not None:
            expected, updated = schedule.next_after(status.last_updated), status.last_updated
        else:
            expected, updated = schedule.next_after(now), now
        if status.next != expected:
            if now > expected:
                expected, updated = schedule.next_after(now), now
            status = ScheduleStatus(None, expected, updated)
            self._save(fn, status)
        return status, now > status.next

    def _save(self, fn: Function, status: ScheduleStatus) -> None:
        with self.store.tx():
            self.store.put_timer_status(fn.name, status.last, status.next, status.last_updated)

    async def _run(self, fn: Function) -> None:
        """TimerListener: a past-due or run-on-startup invocation first, then the schedule."""
        schedule = self.schedules[fn.name]
        monitor = self._use_monitor(fn, schedule)
        now = self.clock.now()
        status, past_due = self._check_past_due(fn, schedule, now) if monitor else (None, False)
        if status is None:
            status = ScheduleStatus(None, schedule.next_after(now), None)
        if past_due:
            status = await self._fire(fn, schedule, status, monitor, past_due=True)
        elif fn.trigger.get("runOnStartup"):
            status = await self._fire(fn, schedule, status, monitor, on_startup=True)
        while True:
            if math.isinf(status.next):  # NCrontab finds no occurrence: never fires again
                log.warning("%s (timer): the schedule has no next occurrence", fn.name)
                await asyncio.Event().wait()
            self._due[fn.name] = status.next
            await self._sleep_until(status.next)
            status = await self._fire(fn, schedule, status, monitor)

    async def _fire(
        self,
        fn: Function,
        schedule: Schedule,
        status: ScheduleStatus,
        monitor: bool,
        *,
        past_due: bool = False,
        on_startup: bool = False,
    ) -> ScheduleStatus:
        """Run the function once (retrying only if its worker died) with the status saved
        after the previous run; returns the status to save after this one."""
        invoked = self.clock.now()
        zone = schedule.time_zone
        payload = {
            "Schedule": {"AdjustForDST": schedule.interval is None},
            "ScheduleStatus": (
                {
                    "Last": net_local(status.last, zone),
                    "Next": net_local(status.next, zone),
                    "LastUpdated": net_local(status.last_updated, zone),
                }
                if monitor
                else None
            ),
            "IsPastDue": past_due,
        }
        # a durable client binding (a timer that starts orchestrations), as Event Grid has it
        wants_client = fn.binding("durableClient") and self.client_binding is not None
        client = json.dumps(self.client_binding()) if wants_client else None
        self._busy(1)
        self._due.pop(fn.name, None)
        try:
            while True:
                started = time.perf_counter()
                try:
                    reply = await self.pool.call(
                        "trigger", name=fn.name, payload=json.dumps(payload), client=client
                    )
                    break
                except WorkerError:
                    await asyncio.sleep(0.2)
            ms = (time.perf_counter() - started) * 1000
            outcome = "ok" if reply["ok"] else f"failed: {reply['error']}"
            log.info(
                "%s (timer%s) %s %.1fms", fn.name, ", past due" if past_due else "", outcome, ms
            )
        finally:
            self._busy(-1)
        # a run that fired a little early counts as the occurrence it was due for, so the
        # next occurrence is never the same one again (TimerListener.InvokeJobFunction)
        at = invoked
        if not past_due and not on_startup and status.next > invoked:
            at = status.next
        after = ScheduleStatus(at, schedule.next_after(at), at)
        if monitor:
            self._save(fn, after)
        return after
