"""Timer triggers: %SETTING% schedules, the virtual clock, run_on_startup, past-due on restart."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime, timedelta
from datetime import time as time_of_day
from pathlib import Path

import pytest

from devhost.clock import Clock
from devhost.index import UnsupportedBinding
from devhost.server import Host
from devhost.testing import run
from devhost.timer_triggers import Schedule, schedule_time_zone
from tests.devhost.conftest import APPS

APP = APPS / "triggers"
SIX_HOURS = "0 0 */6 * * *"  # NCRONTAB, seconds first; no wall-clock boundary during a test


def ticks(state: Path, name: str = "ticker") -> list[dict]:
    path = state / f"{name}.jsonl"
    return [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []


def wait_ticks(state: Path, n: int, name: str = "ticker", timeout: float = 10) -> list[dict]:
    """Poll until `n` runs are recorded, then check a moment later that no more came."""
    deadline = time.monotonic() + timeout
    while len(ticks(state, name)) < n:
        assert time.monotonic() < deadline, f"{name}: {ticks(state, name)}"
        time.sleep(0.02)
    time.sleep(0.2)  # a burst would show up here
    got = ticks(state, name)
    assert len(got) == n, got
    return got


NEVER = "0001-01-01T00:00:00+00:00"  # .NET default(DateTime) in local time (UTC here)


def at(text: str) -> datetime:
    assert not text.endswith("Z"), f"{text}: Azure writes local times with an offset"
    return datetime.fromisoformat(text)


def test_schedule_from_setting_fired_by_virtual_clock(tmp_path) -> None:
    env = {"CONFORMANCE_STATE_DIR": str(tmp_path), "TICK_SCHEDULE": SIX_HOURS}
    with run(APP, env=env) as host:
        assert wait_ticks(tmp_path, 0) == []
        host.advance(timedelta(hours=6))
        (first,) = wait_ticks(tmp_path, 1)
        assert first["past_due"] is False
        host.advance(timedelta(hours=6))
        wait_ticks(tmp_path, 2)
        host.advance(timedelta(days=2))  # eight occurrences skipped: one late run
        assert wait_ticks(tmp_path, 3)[-1]["past_due"] is False  # a late timer is not past due


def test_each_run_gets_the_status_saved_after_the_previous_run(tmp_path) -> None:
    """Azure's ScheduleStatus: Next is the occurrence firing now; Last and LastUpdated are
    the previous run's time, 0001-01-01 before the first run; offsets, never `Z`."""
    env = {"CONFORMANCE_STATE_DIR": str(tmp_path), "TICK_SCHEDULE": SIX_HOURS}
    with run(APP, env=env) as host:
        host.advance(timedelta(hours=6))
        (first,) = wait_ticks(tmp_path, 1)
        host.advance(timedelta(hours=6))
        second = wait_ticks(tmp_path, 2)[-1]["status"]

    status = first["status"]
    assert status["Last"] == NEVER and status["LastUpdated"] == NEVER
    firing = at(status["Next"])
    assert firing.utcoffset() == timedelta(0)
    assert (firing.hour % 6, firing.minute, firing.second) == (0, 0, 0)
    assert at(second["Next"]) == firing + timedelta(hours=6)
    assert second["Last"] == second["LastUpdated"]
    assert firing <= at(second["Last"]) < at(second["Next"])


def test_run_on_startup_and_the_first_occurrence_see_the_same_next(tmp_path) -> None:
    """The startup run is told the upcoming occurrence as `Next`, and so is that occurrence's
    own run: an app must not name runs after `Next` alone."""
    env = {"CONFORMANCE_STATE_DIR": str(tmp_path), "TICK_SCHEDULE": SIX_HOURS}
    with run(APP, env=env) as host:
        (startup,) = wait_ticks(tmp_path, 1, "startup")
        host.advance(timedelta(hours=6))
        scheduled = wait_ticks(tmp_path, 2, "startup")[-1]

    assert startup["past_due"] is False and scheduled["past_due"] is False
    assert startup["status"]["Last"] == NEVER
    assert startup["status"]["Next"] == scheduled["status"]["Next"]
    assert at(scheduled["status"]["Last"]) < at(scheduled["status"]["Next"])


def test_run_on_startup_without_monitor(tmp_path) -> None:
    env = {"CONFORMANCE_STATE_DIR": str(tmp_path), "TICK_SCHEDULE": SIX_HOURS}
    with run(APP, env=env) as host:
        (first,) = wait_ticks(tmp_path, 1, "hourly")
        assert first == {"past_due": False, "status": {}}  # use_monitor=False: no status
        host.advance(timedelta(hours=1))  # TimeSpan 01:00:00 from start
        wait_ticks(tmp_path, 2, "hourly")


def test_missed_occurrence_fires_once_past_due_after_restart(tmp_path) -> None:
    state, data = tmp_path / "state", tmp_path / "data"
    state.mkdir()
    env = {"CONFORMANCE_STATE_DIR": str(state), "TICK_SCHEDULE": SIX_HOURS}
    with run(APP, env=env, data_dir=data):
        wait_ticks(state, 0)
    down = Clock()
    down.advance(timedelta(days=3))  # devhost was down for three days (12 occurrences)
    with run(APP, env=env, data_dir=data, clock=down) as host:
        (missed,) = wait_ticks(state, 1)
        assert missed["past_due"] is True
        status = missed["status"]  # as saved at the first start: never run, next occurrence
        assert status["Last"] == NEVER
        assert (
            at(status["LastUpdated"])
            < at(status["Next"])
            < at(status["LastUpdated"]) + timedelta(hours=6)
        )
        host.advance(timedelta(hours=6))
        assert wait_ticks(state, 2)[-1]["past_due"] is False


def test_a_missing_setting_disables_only_that_function(tmp_path, caplog) -> None:
    env = {"CONFORMANCE_STATE_DIR": str(tmp_path)}  # no TICK_SCHEDULE
    with caplog.at_level("ERROR", logger="devhost"), run(APP, env=env) as host:
        event = {"id": "e1", "subject": "s", "eventType": "t", "data": {}}
        headers = {"aeg-event-type": "Notification"}
        hook = "/runtime/webhooks/eventgrid?functionName=on_event"
        assert host.post(hook, json=event, headers=headers).status == 202  # the rest runs
        host.advance(timedelta(days=1))
        wait_ticks(tmp_path, 2, "startup")  # the other timers still fire
        assert ticks(tmp_path) == []
    assert "'ticker' is disabled: '%TICK_SCHEDULE%'" in caplog.text


def test_functions_disabled_by_setting_do_not_run(tmp_path) -> None:
    env = {
        "CONFORMANCE_STATE_DIR": str(tmp_path),
        "TICK_SCHEDULE": SIX_HOURS,
        "AzureWebJobs.ticker.Disabled": "true",
        "AzureWebJobs_on_event_Disabled": "1",  # the Linux spelling
    }
    with run(APP, env=env) as host:
        hook = "/runtime/webhooks/eventgrid?functionName=on_event"
        assert host.post(hook, json=[], headers={"aeg-event-type": "Notification"}).status == 404
        host.advance(timedelta(hours=6))
        wait_ticks(tmp_path, 2, "startup")
        assert ticks(tmp_path) == []


def test_setting_names_resolve_case_insensitively(tmp_path) -> None:
    env = {"CONFORMANCE_STATE_DIR": str(tmp_path), "tick_schedule": SIX_HOURS}
    with run(APP, env=env) as host:
        host.advance(timedelta(hours=6))
        wait_ticks(tmp_path, 1)


def test_ncrontab_follows_website_time_zone_across_daylight_saving() -> None:
    nine_daily = Schedule("0 0 9 * * *", schedule_time_zone({"WEBSITE_TIME_ZONE": "Europe/Berlin"}))

    def next_utc(iso_utc: str) -> str:
        after = datetime.fromisoformat(iso_utc).timestamp()
        return datetime.fromtimestamp(nine_daily.next_after(after), UTC).isoformat()

    assert next_utc("2026-03-27T12:00:00+00:00") == "2026-03-28T08:00:00+00:00"  # CET
    assert next_utc("2026-03-28T12:00:00+00:00") == "2026-03-29T07:00:00+00:00"  # CEST


def test_a_timer_runs_in_the_zone_the_app_setting_names(tmp_path) -> None:
    env = {
        "CONFORMANCE_STATE_DIR": str(tmp_path),
        "TICK_SCHEDULE": "0 30 9 * * *",
        "WEBSITE_TIME_ZONE": "Asia/Kolkata",  # UTC+05:30 all year
    }
    with run(APP, env=env) as host:
        host.advance(timedelta(days=1))
        (tick,) = wait_ticks(tmp_path, 1)

    firing = at(tick["status"]["Next"])
    assert firing.utcoffset() == timedelta(hours=5, minutes=30)
    assert firing.astimezone(UTC).time() == time_of_day(4, 0)  # 09:30 in Kolkata


def test_a_windows_time_zone_name_stops_startup_naming_the_setting(tmp_path) -> None:
    env = {
        "CONFORMANCE_STATE_DIR": str(tmp_path),
        "TICK_SCHEDULE": SIX_HOURS,
        "WEBSITE_TIME_ZONE": "W. Europe Standard Time",
    }
    host = Host(APP, port=0, data_dir=tmp_path, workers=1, env=env)
    with pytest.raises(UnsupportedBinding, match="WEBSITE_TIME_ZONE.*IANA"):
        asyncio.run(host.start())


# -- NCRONTAB and TimeSpan as the timer extension reads them ---------------------------------
LOS_ANGELES = {"WEBSITE_TIME_ZONE": "America/Los_Angeles"}  # falls back 2026-11-01 02:00


def occurrences(expression: str, after: str, count: int, settings=LOS_ANGELES) -> list[str]:
    zone = schedule_time_zone(settings)
    schedule = Schedule(expression, zone)
    t, out = datetime.fromisoformat(after).timestamp(), []
    for _ in range(count):
        t = schedule.next_after(t)
        out.append(datetime.fromtimestamp(t, zone).isoformat())
    return out


def test_day_of_month_and_day_of_week_must_both_match() -> None:
    first_mondays = occurrences("0 0 9 1-7 * MON", "2026-12-01T00:00:00+00:00", 2, {})
    assert first_mondays == ["2026-12-07T09:00:00+00:00", "2027-01-04T09:00:00+00:00"]


def test_a_fixed_time_in_the_repeated_autumn_hour_runs_once() -> None:
    assert occurrences("0 30 1 * * *", "2026-10-31T12:00:00-07:00", 3) == [
        "2026-11-01T01:30:00-07:00",  # daylight time; 01:30-08:00 the same night is skipped
        "2026-11-02T01:30:00-08:00",
        "2026-11-03T01:30:00-08:00",
    ]


def test_an_interval_schedule_runs_through_both_repeated_hours() -> None:
    assert occurrences("0 0,30 * * * *", "2026-11-01T00:45:00-07:00", 5) == [
        "2026-11-01T01:00:00-07:00",
        "2026-11-01T01:30:00-07:00",
        "2026-11-01T01:00:00-08:00",
        "2026-11-01T01:30:00-08:00",
        "2026-11-01T02:00:00-08:00",
    ]


def test_a_time_skipped_in_spring_runs_an_hour_later() -> None:
    assert occurrences("0 30 2 * * *", "2026-03-07T12:00:00-08:00", 2) == [
        "2026-03-08T03:30:00-07:00",
        "2026-03-09T02:30:00-07:00",
    ]


def test_names_are_english_prefixes_and_five_fields_mean_no_seconds() -> None:
    assert occurrences("0 30 9 * Jan Monday", "2026-12-01T00:00:00+00:00", 1, {}) == [
        "2027-01-04T09:30:00+00:00"
    ]
    assert occurrences("*/20 * * * *", "2026-12-01T00:05:00+00:00", 1, {}) == [
        "2026-12-01T00:20:00+00:00"
    ]


@pytest.mark.parametrize(
    "expression",
    ["0 0 0 L * *", "0 0 0 ? * MON", "0 0 0 * * MON#2", "0 0 0 * * 5L", "@daily", "0 0 0 * * 7"],
)
def test_expressions_ncrontab_refuses_stop_startup(expression: str) -> None:
    with pytest.raises(ValueError, match="neither an NCRONTAB expression"):
        Schedule(expression)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("01:00:00", 3600),
        ("1.00:00:00", 86400),
        ("24:00:00", 24 * 86400),  # hours of 24 or more read as dd:hh:mm
        ("25:00:00:00", 25 * 86400),
        ("7", 7 * 86400),  # a bare number is days
    ],
)
def test_timespans_follow_dotnet_timespan_parsing(text: str, seconds: int) -> None:
    assert Schedule(text).interval == seconds
