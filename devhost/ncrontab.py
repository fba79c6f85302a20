"""NCRONTAB expressions as the NCrontab library reads them, and TimeSpans as .NET parses them.

Read from atifaziz/NCrontab (`CrontabSchedule`, `CrontabField`, `CrontabFieldImpl`) and the
timer extension's `TimerSchedule.Create` / `CronSchedule`:

* Five fields (minute first, seconds 0) or six (seconds first); anything else is refused.
* A field is `*`, `n`, `a-b` (reversed ranges are swapped), with `/step` after `*`, a value
  or a range (`n/step` runs from n to the maximum), or a comma list of those. Numbers only
  in 0-59 / 0-23 / 1-31 / 1-12 / 0-6 (Sunday 0; 7 is refused). Month and day names are
  English, case-insensitive and may be any prefix (`Mon`, `Monday`, `M`). No `L`, `W`, `#`,
  `?` and no `@daily`-style macros.
* Day of month and day of week must BOTH match (`0 0 9 1-7 * MON` is the first Monday).
* The next occurrence is strictly after the base time, counted in whole seconds.

A schedule the extension would not read as NCRONTAB is tried as a TimeSpan
(`TimeSpan.TryParse`): `d`, `hh:mm`, `hh:mm:ss`, `d.hh:mm[:ss[.fffffff]]`, `d:hh:mm:ss`,
and `hh:mm:ss` whose hours are 24 or more read as `d:hh:mm` (`"24:00:00"` is 24 days).
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

_MONTHS = [calendar.month_name[i] for i in range(1, 13)]
_DAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]
_FIELDS = {  # name: (low, high, names)
    "second": (0, 59, None),
    "minute": (0, 59, None),
    "hour": (0, 23, None),
    "day": (1, 31, None),
    "month": (1, 12, _MONTHS),
    "day of week": (0, 6, _DAYS),
}
_INT = re.compile(r"\s*[+-]?\d+\s*")  # int.Parse with NumberStyles.Integer


class CrontabError(ValueError):
    """Not an expression NCrontab parses."""


def _int(text: str, what: str) -> int:
    if not _INT.fullmatch(text):
        raise CrontabError(f"'{text}' is not a number ({what})")
    value = int(text.strip())
    if not -(2**31) <= value < 2**31:
        raise CrontabError(f"'{text}' is out of range ({what})")
    return value


def _field(text: str, kind: str) -> frozenset[int]:
    low, high, names = _FIELDS[kind]
    values: set[int] = set()

    def value(part: str) -> int:
        if not part:
            raise CrontabError(f"an empty value in the {kind} field")
        if part[0].isdigit():
            return _int(part, kind)
        for index, name in enumerate(names or []):
            if name.lower().startswith(part.lower()):
                return index + low
        raise CrontabError(f"'{part}' is not a valid {kind} value")

    def accumulate(start: int, end: int, step: int) -> None:
        if start == end == -1:
            start, end = low, high
        elif start == end:
            if not low <= start <= high:
                raise CrontabError(f"{start} is outside {low}-{high} ({kind})")
        else:
            start, end = min(start, end), max(start, end)
            if start < low or end > high:
                raise CrontabError(f"{start}-{end} is outside {low}-{high} ({kind})")
        values.update(range(start, end + 1, max(step, 1)))

    def part(item: str) -> None:
        step = None
        if item.find("/") > 0:
            item, _, every = item.partition("/")
            step = _int(every, kind)
        if item == "*":
            accumulate(-1, -1, step or 1)
        elif item.find("-") > 0:
            first, _, last = item.partition("-")
            accumulate(value(first), value(last), step or 1)
        elif step is not None:
            accumulate(value(item), high, step)
        else:
            single = value(item)
            accumulate(single, single, 1)

    if text.find(",") > 0:
        for item in text.split(","):
            part(item)
    else:
        part(text)
    return frozenset(values)


@dataclass(frozen=True)
class Crontab:
    """A parsed NCRONTAB expression; `next_after(wall)` works on naive local wall times."""

    text: str
    seconds: tuple[int, ...]
    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    days: frozenset[int]
    months: tuple[int, ...]
    weekdays: frozenset[int]  # .NET DayOfWeek: Sunday 0
    has_seconds: bool

    @classmethod
    def parse(cls, text: str) -> Crontab:
        tokens = [t for t in text.split(" ") if t]
        has_seconds = len(tokens) != 5  # CronSchedule.HasSeconds
        if len(tokens) != (6 if has_seconds else 5):
            raise CrontabError(
                f"'{text}' needs 6 fields (second minute hour day month day-of-week) or 5"
            )
        kinds = ["second", "minute", "hour", "day", "month", "day of week"]
        fields = [_field(t, k) for t, k in zip(tokens, kinds[6 - len(tokens) :], strict=True)]
        if not has_seconds:
            fields.insert(0, frozenset({0}))
        seconds, minutes, hours, days, months, weekdays = fields
        return cls(
            text,
            tuple(sorted(seconds)),
            tuple(sorted(minutes)),
            tuple(sorted(hours)),
            days,
            tuple(sorted(months)),
            weekdays,
            has_seconds,
        )

    @property
    def is_interval(self) -> bool:
        """CronSchedule.IsInterval: the schedule's formatted seconds (when present), minutes or
        hours hold `*` (every value) or `-` (a run of consecutive values)."""
        fields = [(self.minutes, 59), (self.hours, 23)]
        if self.has_seconds:
            fields.insert(0, (self.seconds, 59))
        for values, high in fields:
            if len(values) == high + 1:
                return True
            if any(b - a == 1 for a, b in zip(values, values[1:], strict=False)):
                return True
        return False

    def next_after(self, wall: datetime) -> datetime | None:
        """The first occurrence strictly after `wall` (whole seconds), None if there is none
        before year 10000 (NCrontab then answers DateTime.MaxValue: never)."""
        start = wall.replace(microsecond=0, tzinfo=None) + timedelta(seconds=1)
        for year in range(start.year, min(start.year + 401, 10000)):  # 400 years repeat
            for month in self.months:
                if (year, month) < (start.year, start.month):
                    continue
                for day in range(1, calendar.monthrange(year, month)[1] + 1):
                    on = date(year, month, day)
                    if on < start.date() or day not in self.days:
                        continue
                    if (on.weekday() + 1) % 7 not in self.weekdays:
                        continue
                    after = start.time() if on == start.date() else time(0)
                    moment = self._time_of_day(after)
                    if moment is not None:
                        return datetime.combine(on, moment)
        return None

    def _time_of_day(self, after: time) -> time | None:
        for hour in self.hours:
            if hour < after.hour:
                continue
            for minute in self.minutes:
                if (hour, minute) < (after.hour, after.minute):
                    continue
                for second in self.seconds:
                    if (hour, minute, second) >= (after.hour, after.minute, after.second):
                        return time(hour, minute, second)
        return None


_CLOCK = r"(?P<h>\d+):(?P<m>\d+)(?::(?P<s>\d+)(?:\.(?P<f>\d{1,7}))?)?"
_SPANS = [
    re.compile(r"\s*(?P<neg>-)?(?P<d>\d+)\s*"),  # days alone
    re.compile(rf"\s*(?P<neg>-)?(?:(?P<d>\d+)\.)?{_CLOCK}\s*"),  # [d.]hh:mm[:ss[.f]]
    re.compile(
        r"\s*(?P<neg>-)?(?P<d>\d+):(?P<h>\d+):(?P<m>\d+):(?P<s>\d+)(?:\.(?P<f>\d{1,7}))?\s*"
    ),  # d:hh:mm:ss[.f]
]


def parse_timespan(text: str) -> timedelta | None:
    """`TimeSpan.TryParse` (invariant culture); None where it fails."""
    m = next((m for p in _SPANS if (m := p.fullmatch(text))), None)
    if m is None:
        return None
    groups = m.groupdict()
    days = int(groups.get("d") or 0)
    hours, minutes = int(groups.get("h") or 0), int(groups.get("m") or 0)
    seconds = int(groups.get("s") or 0)
    fraction = int((groups.get("f") or "0").ljust(7, "0")) / 10**7
    three_parts = groups.get("h") is not None and groups.get("d") is None and groups.get("s")
    if three_parts and groups.get("f") is None and hours > 23:
        days, hours, minutes, seconds = hours, minutes, seconds, 0  # hh >= 24: dd:hh:mm
    if hours > 23 or minutes > 59 or seconds > 59:
        return None
    span = timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds + fraction)
    return -span if groups.get("neg") else span
