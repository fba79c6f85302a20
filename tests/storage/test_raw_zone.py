"""The raw zone: events as received, in JSON Lines batches per hour folder, each id once.

Runs on every lake implementation (the folder, and Blob on Azurite: see conftest `lake`).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from crosswalk.lake.base import Lake
from crosswalk.lake.folder import FolderLake
from crosswalk.lake.raw import RawEvent, RawLanding, RawZone, decode_lines

HOUR = datetime(2026, 3, 4, 10, 0, tzinfo=UTC)


def event(n: int, *, at: datetime = HOUR, system: str = "salesforce", entity: str = "account"):
    return RawEvent(
        system=system,
        entity=entity,
        id=f"evt-{n}",
        type="UPDATE",
        time=at + timedelta(seconds=n),
        data={"payload": {"n": n, "Name": f"Acme {n}"}},
        source="/salesforce/test",
        subject=f"001{n:015d}",
    )


def lines_under(lake: Lake, prefix: str) -> list[dict]:
    found = []
    for path in lake.list(prefix):
        found.extend(decode_lines(lake.get_bytes(path), path))
    return found


def test_a_batch_lands_as_one_json_lines_file_per_hour_folder_with_each_event_as_received(
    lake: Lake,
) -> None:
    zone = RawZone(lake)
    later = HOUR + timedelta(hours=1)

    count, paths = zone.write([event(1), event(2), event(3, at=later)])

    assert count == 3
    assert [p.rsplit("/", 1)[0] for p in paths] == [
        "raw/salesforce/account/2026/03/04/10",
        "raw/salesforce/account/2026/03/04/11",
    ]
    assert all(p.endswith(".jsonl") for p in paths)
    (first, second) = decode_lines(lake.get_bytes(paths[0]), paths[0])
    assert first["id"] == "evt-1" and second["id"] == "evt-2"
    assert first["data"] == {"payload": {"n": 1, "Name": "Acme 1"}}
    assert first["system"] == "salesforce" and first["entity"] == "account"
    assert first["type"] == "UPDATE" and first["time"] == "2026-03-04T10:00:01+00:00"


def test_a_repeated_event_lands_once_within_a_batch_and_across_batches(lake: Lake) -> None:
    zone = RawZone(lake)

    zone.write([event(1), event(1), event(2)])
    count, paths = zone.write([event(2), event(3)])
    again, nothing = zone.write([event(1), event(3)])

    assert (count, again, nothing) == (1, 0, [])
    assert sorted(line["id"] for line in lines_under(lake, "raw/")) == ["evt-1", "evt-2", "evt-3"]


def test_a_restarted_writer_does_not_land_again_what_is_already_in_the_folder(lake: Lake) -> None:
    RawZone(lake).write([event(1), event(2)])

    count, _ = RawZone(lake).write([event(2), event(3)])

    assert count == 1
    assert sorted(line["id"] for line in lines_under(lake, "raw/")) == ["evt-1", "evt-2", "evt-3"]


def test_reading_a_window_gives_each_event_once_in_time_order_even_if_two_writers_raced(
    lake: Lake,
) -> None:
    first, second = RawZone(lake), RawZone(lake)
    second.write([event(5)])  # `second` now knows the folder as it was
    first.write([event(1), event(2)])
    second.write([event(2)])  # it has not seen `first`'s evt-2: the folder now holds it twice
    first.write([event(1, system="d2c", entity="customer")])  # same id, other system: kept

    window = first.read(HOUR, HOUR + timedelta(hours=1))
    only_first_seconds = first.read(HOUR, HOUR + timedelta(seconds=2))

    assert [(line["system"], line["id"]) for line in window] == [
        ("d2c", "evt-1"),
        ("salesforce", "evt-1"),
        ("salesforce", "evt-2"),
        ("salesforce", "evt-5"),
    ]
    assert [line["id"] for line in only_first_seconds] == ["evt-1", "evt-1"]
    assert first.read(HOUR, HOUR + timedelta(hours=1), systems=["d2c"])[0]["system"] == "d2c"


def test_landing_buffers_and_writes_in_batches_only_when_flushed(lake: Lake) -> None:
    landing = RawLanding(RawZone(lake), batch_size=100, start_thread=False)

    for n in range(10):
        landing.land(event(n))
    landing.land(event(3))  # a repeated delivery
    before = lake.list("raw/")
    written = landing.flush()

    assert before == []
    assert written == 10 and landing.landed == 10 and landing.duplicates == 1
    assert len(lake.list("raw/")) == 1  # one batch, not a file per event
    assert landing.pending() == 0


def test_landing_never_raises_and_keeps_events_while_the_lake_cannot_be_written(
    tmp_path: Path,
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the lake's folder should be")
    landing = RawLanding(RawZone(FolderLake(blocker / "lake")), start_thread=False)

    landing.land(event(1))
    assert landing.flush() == 0  # the write failed; nothing raised
    blocker.unlink()
    written = landing.flush()

    assert (landing.failures, written, landing.pending()) == (1, 1, 0)
    assert [line["id"] for line in lines_under(FolderLake(blocker / "lake"), "raw/")] == ["evt-1"]


def test_landing_keeps_at_most_max_buffer_events_dropping_the_oldest(lake: Lake) -> None:
    landing = RawLanding(RawZone(lake), max_buffer=3, start_thread=False)

    for n in range(5):
        landing.land(event(n))
    landing.flush()

    assert landing.dropped == 2
    assert sorted(line["id"] for line in lines_under(lake, "raw/")) == ["evt-2", "evt-3", "evt-4"]


@pytest.mark.parametrize(
    "bad",
    [
        RawEvent("salesforce", "account", "x", "UPDATE", datetime(2026, 3, 4), {}),  # naive
        RawEvent("salesforce", "../escape", "y", "UPDATE", HOUR, {}),
        RawEvent("crm", "account", "z", "UPDATE", HOUR, {}),
    ],
    ids=["naive-time", "path-escape", "unknown-system"],
)
def test_an_event_with_no_usable_place_is_refused_at_landing_without_raising(
    lake: Lake, bad: RawEvent
) -> None:
    landing = RawLanding(RawZone(lake), start_thread=False)

    landing.land(bad)
    landing.land(event(1))
    landing.flush()

    assert landing.refused == 1
    assert [line["id"] for line in lines_under(lake, "raw/")] == ["evt-1"]


def test_closing_the_landing_writes_what_is_still_buffered(lake: Lake) -> None:
    landing = RawLanding(RawZone(lake), flush_seconds=300)  # its thread would wait 5 minutes

    landing.land(event(1))
    landing.close()
    landing.land(event(2))  # after close: ignored, never raises

    assert [line["id"] for line in lines_under(lake, "raw/")] == ["evt-1"]
