"""Erasing a person from the lake: only batches whose person index lists them are read and
rewritten; their events, snapshots' Contacts and dead letters are gone when read back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from crosswalk.erasure.keys import Person
from crosswalk.erasure.lake import erase_dead_letters, erase_raw
from crosswalk.lake.base import Lake, account_snapshot_path
from crosswalk.lake.raw import PERSONS, RawEvent, RawZone

from .test_raw_zone import lines_under

KEY = b"k" * 32
HOUR = datetime(2026, 3, 4, 10, 0, tzinfo=UTC)
ACCOUNT = "001000000000001AAA"


def _signup(n: int, email: str, user: str, hour: int) -> RawEvent:
    return RawEvent(
        system="d2c",
        entity="customer",
        id=f"evt-{n}",
        type="customer.registered",
        time=HOUR + timedelta(hours=hour, seconds=n),
        data={"user": {"id": user, "email": email, "first_name": "Jane"}, "n": n},
    )


def _fill(lake: Lake) -> None:
    zone = RawZone(lake, index_key=KEY)
    zone.write([_signup(1, "Jane@Acme.example", "usr_Jane00000001", 0)])
    zone.write([_signup(2, "other@acme.example", "usr_Other0000002", 0)])
    zone.write([_signup(n, f"p{n}@acme.example", f"usr_Person{n:06d}", 1) for n in range(3, 9)])
    zone.write([_signup(9, "x@acme.example", "usr_Jane00000001", 2)])  # by user id only


def test_erasing_rewrites_only_the_batches_that_hold_the_person(lake: Lake) -> None:
    _fill(lake)
    before = len(lines_under(lake, "raw/"))

    result = erase_raw(lake, Person(email="jane@acme.EXAMPLE", d2c_user_id="usr_Jane00000001"), KEY)

    remaining = lines_under(lake, "raw/")
    assert len(remaining) == before - 2
    text = str(remaining).lower()
    assert "jane@acme" not in text and "usr_jane" not in text
    assert result.events_removed == 2 and result.batches_rewritten == 2
    assert result.batches_read == 2 and result.indexes_read == 4  # 2 of 4 batches opened
    assert result.unindexed_batches == []
    assert not any(p.endswith(".jsonl") and "evt-1" in p for p in lake.list("raw/"))


def test_a_batch_without_a_person_index_is_read_whole(lake: Lake) -> None:
    RawZone(lake).write([_signup(1, "jane@acme.example", "usr_Jane00000001", 0)])  # no key

    result = erase_raw(lake, Person(email="jane@acme.example"), KEY)

    assert result.unindexed_batches and result.events_removed == 1
    assert lines_under(lake, "raw/") == []


def test_the_rewritten_batch_keeps_an_index_of_the_others(lake: Lake) -> None:
    zone = RawZone(lake, index_key=KEY)
    zone.write(
        [
            _signup(1, "jane@acme.example", "usr_Jane00000001", 0),
            _signup(2, "o@a.example", "usr_Other0000002", 0),
        ]
    )

    erase_raw(lake, Person(email="jane@acme.example"), KEY)

    (index,) = [p for p in lake.list("raw/") if p.endswith(PERSONS)]
    again = erase_raw(lake, Person(email="o@a.example"), KEY)
    assert again.events_removed == 1 and index.endswith(PERSONS)


def test_snapshots_of_their_accounts_lose_their_contact_and_dead_letters_go(lake: Lake) -> None:
    path = account_snapshot_path(ACCOUNT, HOUR)
    lake.put_json(
        path,
        {
            "Id": ACCOUNT,
            "Contacts": {
                "records": [
                    {"Id": "003A", "Email": "jane@acme.example", "LastName": "Doe"},
                    {"Id": "003B", "Email": "ana@acme.example", "LastName": "Lopez"},
                ]
            },
        },
    )
    lake.put_json("deadletter/d2c/2026/03/04/evt-7.json", {"event": {"email": "jane@acme.example"}})
    lake.put_json("deadletter/d2c/2026/03/04/evt-8.json", {"event": {"email": "ana@acme.example"}})

    result = erase_raw(lake, Person(email="jane@acme.example"), KEY, accounts=[ACCOUNT])
    removed = erase_dead_letters(lake, Person(email="jane@acme.example"))

    assert result.snapshots_rewritten == 1
    assert [c["Id"] for c in lake.get_json(path)["Contacts"]["records"]] == ["003B"]
    assert removed == 1 and lake.list("deadletter/") == ["deadletter/d2c/2026/03/04/evt-8.json"]


def test_an_address_only_in_free_text_is_indexed_and_erased_from_the_text(lake: Lake) -> None:
    note = RawEvent(
        system="salesforce",
        entity="Account",
        id="evt-note",
        type="UPDATE",
        time=HOUR,
        data={"payload": {"Description": "Rückruf an <Jane.Doe@Acme.example>, Mo. 10 Uhr."}},
    )
    zone = RawZone(lake, index_key=KEY)
    zone.write([note])
    zone.write([_signup(2, "other@acme.example", "usr_Other0000002", 1)])

    result = erase_raw(lake, Person(email="jane.doe@acme.example"), KEY)

    assert result.batches_read == 1  # found by its index
    assert result.events_scrubbed == 1 and result.events_removed == 0  # not their record
    text = str(lines_under(lake, "raw/"))
    assert "jane.doe" not in text.lower() and "Rückruf an <[erased]>, Mo. 10 Uhr." in text


def test_identifiers_are_found_inside_text_and_not_made_up_from_it() -> None:
    from crosswalk.erasure.keys import identifiers

    text = {
        "Description": "Bitte Jane.Doe@Acme.example anrufen. Alt: <x@example.de>, "
        "usr_Jane00000001.",
        "link": "mailto:sam@acme.example?subject=Hallo",
        "plain": "no address here, only an @ sign",
    }

    assert set(identifiers(text)) >= {
        "jane.doe@acme.example",
        "x@example.de",
        "usr_Jane00000001",
        "sam@acme.example",
    }
    assert not any("anrufen" in found or " " in found for found in identifiers(text))


def test_a_dead_letter_that_only_names_them_in_text_stays_without_the_address(lake: Lake) -> None:
    path = "deadletter/salesforce/2026/03/04/evt-9.json"
    lake.put_json(path, {"reason": "bad date", "event": {"Description": "ask jane@acme.example"}})

    removed = erase_dead_letters(lake, Person(email="jane@acme.example"))

    assert removed == 0
    assert lake.get_json(path)["event"]["Description"] == "ask [erased]"
