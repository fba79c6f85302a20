"""The worker's memos of the SDK's replay work give the SDK exactly what it would compute."""

from __future__ import annotations

import collections
import os
import subprocess
import sys
from pathlib import Path

from devhost import sdk_memo

ROOT = Path(__file__).resolve().parents[2]

# Compares the memoised parse with dateutil's for the timestamps devhost writes (and a few
# it does not), around the zone's transitions too; prints the first difference.
_COMPARE = """
import sys
from datetime import UTC, datetime, timedelta
from dateutil.parser import parse
from devhost import sdk_memo

fast = sdk_memo.timestamp_parser(parse)
texts = ["2026-12-06T08:08:11Z", "2026-12-06T08:08:11+01:00", "2026-12-06"]
for start in ("2026-03-08T06:59:58", "2026-03-29T00:59:58", "2026-10-25T00:59:58",
              "2026-11-01T05:59:58", "2026-12-06T08:08:11"):
    base = datetime.fromisoformat(start).replace(tzinfo=UTC)
    for step in range(0, 4_000_000, 123_457):
        t = base + timedelta(microseconds=step)
        text = t.isoformat(timespec="microseconds")[:26]
        texts += [text + "0Z", text + "7Z", text[:23] + "Z", text[:20] + "5Z"]
for text in texts:
    a, b = parse(text), fast(text)
    same = (a == b, repr(a), a.utcoffset(), a.tzname(), a.fold)
    if same != (True, repr(b), b.utcoffset(), b.tzname(), b.fold):
        sys.exit(f"{text}: dateutil {a!r}, memo {b!r}")
print(len(texts))
"""


def test_remembered_timestamps_are_dateutils_own_in_any_local_zone():
    for zone in ("UTC", "Europe/London", "America/New_York", "Australia/Lord_Howe"):
        done = subprocess.run(
            [sys.executable, "-c", _COMPARE],
            cwd=ROOT,
            env={**os.environ, "TZ": zone},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, (zone, done.stderr)
        assert int(done.stdout) > 100


def test_remembered_namedtuple_returns_one_class_per_name_and_fields():
    first = sdk_memo.remembered_namedtuple("Payload", ("is_success", "task_id_key"))
    again = sdk_memo.remembered_namedtuple("Payload", ("is_success", "task_id_key"))
    other = sdk_memo.remembered_namedtuple("Payload", ("is_success",))

    assert first is again and other is not first
    assert first(True, "TimerId") == (True, "TimerId")
    assert first(True, "TimerId").task_id_key == "TimerId"
    assert first._fields == collections.namedtuple("Payload", ("is_success", "task_id_key"))._fields
