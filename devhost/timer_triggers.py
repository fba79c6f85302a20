"""Timer triggers: NCRONTAB (six fields, seconds first) and TimeSpan schedules.

NCRONTAB runs in UTC unless the app setting `WEBSITE_TIME_ZONE` names an IANA zone, as on
Azure's Linux plans (Windows zone names belong to Windows plans and stop start-up here);
occurrences then follow that zone's daylight-saving changes. TimeSpans ignore the zone.

Each function has one loop, so runs never overlap. The loop waits on the host's clock
(virtual in tests: `advance()` fires what falls due). With `use_monitor` (the default for
schedules of a minute or more, as in Azure) the last and next occurrence are stored in the
task hub after every run; on start, an occurrence missed while devhost was down fires ONCE
with `past_due` true, never one run per missed occurrence. A jump of the clock over several
occurrences also fires once, with `past_due` true.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter

from devhost.clock import Clock
from devhost.history import iso
from devhost.index import Function, UnsupportedBinding
from devhost.store import Store
from devhost.workers import WorkerError, WorkerPool

log = logging.getLogger("devhost")

_TIMESPAN = re.compile(r"^(?:(\d+)\.)?(\d{1,2}):(\d{1,2})(?::(\d{1,2}))?$")


class Schedule:
    """`next_after(t)`: the first occurrence strictly after t (epoch seconds)."""

    def __init__(self, text: str, time_zone: tzinfo = UTC) -> None:
        self.text = text.strip()
        self.time_zone = time_zone
        match = _TIMESPAN.match(self.text)
        self.interval: float | None = None
        if match:
            days, hours, minutes, seconds = (int(g or 0) for g in match.groups())
            self.interval = float(((days * 24 + hours) * 60 + minutes) * 60 + seconds)
            if self.interval <= 0:
                raise ValueError(f"TimeSpan schedule '{text}' must be positive")
            return
        fields = self.text.split()
        if len(fields) not in (5, 6) or not croniter.is_valid(
            self.text, second_at_beginning=len(fields) == 6
        ):
            raise ValueError(f"'{text}' is neither an NCRONTAB expression nor a TimeSpan")
        self._seconds_first = len(fields) == 6

    def next_after(self, t: float, anchor: float = 0.0) -> float:
        if self.interval is not None:  # TimeSpan: every interval from the anchor (start)
            steps = int((t - anchor) // self.interval) + 1
            return anchor + steps * self.interval
        start = datetime.fromtimestamp(t, self.time_zone)
        it = croniter(self.text, start, second_at_beginning=self._seconds_first)
        return float(it.get_next(float))

    def period(self) -> float:
        """Gap between two consecutive occurrences (to pick the use_monitor default)."""
        if self.interval is not None:
            return self.interval
        first = self.next_after(time.time())
        return self.next_after(first) - first


def schedule_time_zone(settings: Mapping[str, str]) -> tzinfo:
    """The zone NCRONTAB schedules run in: `WEBSITE_TIME_ZONE` (an IANA name), else UTC."""
    name = (settings.get("WEBSITE_TIME_ZONE") or "").strip()
    if not name:
        return UTC
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
                    await asyncio.wait_for(wake.wait(), remaining)
        finally:
            self._wakes.discard(wake)

    async def _run(self, fn: Function) -> None:
        schedule = self.schedules[fn.name]
        monitor = fn.trigger.get("useMonitor")
        use_monitor = schedule.period() >= 60 if monitor is None else bool(monitor)
        anchor = self.clock.now()
        status = self.store.timer_status(fn.name) if use_monitor else None
        last: float | None = None
        if status is not None:
            last, due = status
            if due <= self.clock.now():  # missed while down: once, past due
                last = await self._fire(fn, schedule, due, last, past_due=True, monitor=True)
        if fn.trigger.get("runOnStartup"):
            await self._fire(
                fn, schedule, self.clock.now(), last, past_due=False, monitor=use_monitor
            )
        due = schedule.next_after(self.clock.now(), anchor)
        self._persist(fn, use_monitor, last, due)
        while True:
            self._due[fn.name] = due
            await self._sleep_until(due)
            now = self.clock.now()
            past_due = schedule.next_after(due, anchor) <= now  # the clock skipped one
            last = await self._fire(fn, schedule, due, last, past_due=past_due, monitor=use_monitor)
            due = schedule.next_after(self.clock.now(), anchor)
            self._persist(fn, use_monitor, last, due)

    def _persist(self, fn: Function, use_monitor: bool, last: float | None, due: float) -> None:
        if use_monitor:
            with self.store.tx():
                self.store.put_timer_status(fn.name, last, due, self.clock.now())

    async def _fire(
        self,
        fn: Function,
        schedule: Schedule,
        occurrence: float,
        last: float | None,
        *,
        past_due: bool,
        monitor: bool,
    ) -> float:
        """Run the function once (retrying only if its worker died); returns `occurrence`."""
        now = self.clock.now()
        payload = {
            "Schedule": {"AdjustForDST": True},
            "ScheduleStatus": (
                {
                    "Last": iso(last if last is not None else occurrence),
                    "Next": iso(schedule.next_after(now)),
                    "LastUpdated": iso(now),
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
        return occurrence
