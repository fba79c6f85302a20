"""The reader of Event Grid's dead-letter container, on a folder and on Azurite alike: the
documented names (any prefix before the subscription), newest hour first though the hours
are not zero-padded, arrays of any length, unreadable blobs kept with the reason."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from crosswalk.errors import NotFound
from crosswalk.lake.base import Lake
from crosswalk.lake.eventgrid_deadletters import (
    DEAD_LETTER_PROPERTIES,
    EventGridDeadLetters,
    parse_name,
    topic_of,
)


def dead(event_id: str, *, source: str = "/d2c/customers", email: str = "a@b.example") -> dict:
    return {
        "id": event_id,
        "source": source,
        "specversion": "1.0",
        "type": "customer.registered",
        "data": {"customer": {"email": email}},
        "deadletterreason": "MaxDeliveryAttemptsExceeded",
        "deliveryattempts": 30,
        "lastdeliveryoutcome": "Busy",
        "lasthttpstatuscode": 503,
        "publishtime": "2026-03-04T09:00:00+00:00",
        "lastdeliveryattempttime": "2026-03-04T09:59:00+00:00",
    }


def put(lake: Lake, name: str, events: list[dict]) -> None:
    lake.put_bytes(name, json.dumps(events).encode(), content_type="application/json")


GUID = "0b5e3a56-3f0e-4ad6-8d3c-4f3f7e0a6b1{}"


def test_hours_are_ordered_as_times_not_as_text(lake: Lake) -> None:
    put(lake, f"CROSSWALK-D2C/2026/3/4/9/{GUID.format(1)}.json", [dead("nine")])
    put(lake, f"CROSSWALK-D2C/2026/3/4/10/{GUID.format(2)}.json", [dead("ten")])
    put(lake, f"CROSSWALK-D2C/2026/12/31/23/{GUID.format(3)}.json", [dead("late")])
    letters = EventGridDeadLetters(lake)

    page, total = letters.newest(2)

    assert total == 3
    assert [b.events[0].event["id"] for b in page] == ["late", "ten"]
    assert page[0].subscription == "CROSSWALK-D2C"
    assert page[0].hour == datetime(2026, 12, 31, 23, tzinfo=UTC)


def test_a_prefix_before_the_subscription_and_other_names_are_taken_as_they_come(
    lake: Lake,
) -> None:
    put(lake, f"crosswalk-x-d2c-events/CROSSWALK-D2C/2026/3/4/9/{GUID.format(1)}.json", [dead("a")])
    put(lake, "notes/readme.json", [])  # not a dead letter: ignored
    letters = EventGridDeadLetters(lake)

    [blob], total = letters.newest(10)

    assert total == 1 and blob.subscription == "CROSSWALK-D2C"
    assert blob.events[0].topic == "d2c"


def test_every_event_of_a_blob_is_read_with_how_its_delivery_ended(lake: Lake) -> None:
    name = f"CROSSWALK-SALESFORCE/2026/3/4/9/{GUID.format(1)}.json"
    put(lake, name, [dead("one", source="/data/AccountChangeEvent"), dead("two")])

    blob = EventGridDeadLetters(lake).read(name)

    first, second = blob.events
    assert first.event["id"] == "one" and first.event["data"]["customer"]["email"]
    assert not DEAD_LETTER_PROPERTIES & set(first.event)  # the event as it was published
    assert (first.reason, first.attempts, first.outcome, first.http_status) == (
        "MaxDeliveryAttemptsExceeded",
        30,
        "Busy",
        503,
    )
    assert (first.topic, second.topic) == ("salesforce", "d2c")


def test_an_unreadable_blob_is_listed_with_the_reason_not_raised(lake: Lake) -> None:
    name = f"CROSSWALK-D2C/2026/3/4/9/{GUID.format(1)}.json"
    lake.put_bytes(name, b"{not json", content_type="application/json")

    [blob], _ = EventGridDeadLetters(lake).newest(10)

    assert blob.events == [] and blob.problem == "not JSON"


def test_a_deleted_blob_is_gone_and_reading_it_says_so(lake: Lake) -> None:
    name = f"CROSSWALK-D2C/2026/3/4/9/{GUID.format(1)}.json"
    put(lake, name, [dead("a")])
    letters = EventGridDeadLetters(lake)

    assert letters.delete(name) is True
    assert letters.delete(name) is False
    with pytest.raises(NotFound):
        letters.read(name)
    assert letters.count() == 0


def test_an_erasure_finds_the_blobs_that_mention_the_person(lake: Lake) -> None:
    theirs = f"CROSSWALK-D2C/2026/3/4/9/{GUID.format(1)}.json"
    other = f"CROSSWALK-D2C/2026/3/4/9/{GUID.format(2)}.json"
    put(lake, theirs, [dead("a", email="Jane.Doe@Example.com")])
    put(lake, other, [dead("b", email="someone@else.example")])

    found = EventGridDeadLetters(lake).holding({"jane.doe@example.com", "usr_unknown"})

    assert found == [theirs]


def test_names_outside_the_documented_layout_are_not_dead_letters() -> None:
    assert parse_name("CROSSWALK-D2C/2026/3/4/9/x.json") is not None
    assert parse_name("CROSSWALK-D2C/2026/13/4/9/x.json") is None  # no 13th month
    assert parse_name("CROSSWALK-D2C/2026/3/4/x.json") is None
    assert parse_name("CROSSWALK-D2C/2026/3/4/9/x.txt") is None


def test_the_topic_comes_from_the_event() -> None:
    assert topic_of({"source": "/data/AccountChangeEvent"}) == "salesforce"
    assert topic_of({"type": "com.salesforce.cdc.ContactChangeEvent"}) == "salesforce"
    assert topic_of({"source": "/d2c/customers", "type": "customer.updated"}) == "d2c"
    assert topic_of({"source": "/elsewhere"}) is None
