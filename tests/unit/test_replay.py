"""Replay's decisions from entity state alone (the end-to-end run is tests/e2e/test_raw_zone.py)."""

from __future__ import annotations

from typing import Any

import pytest

from crosswalk.replay import cloud_event, main, plan


def salesforce_event(modstamp: str, *, entity: str = "Account") -> dict[str, Any]:
    header = {"entityName": entity, "recordIds": ["001000000000001AAA"], "commitTimestamp": 0}
    return {
        "system": "salesforce",
        "entity": entity.lower(),
        "id": "evt-1",
        "type": "com.salesforce.cdc.AccountChangeEvent",
        "time": modstamp,
        "source": "/sobjects/Account",
        "subject": "001000000000001AAA",
        "data": {"payload": {"ChangeEventHeader": header, "LastModifiedDate": modstamp}},
    }


def d2c_event(version: int, external_ref: str | None = None) -> dict[str, Any]:
    customer = {"id": "cus_1", "version": version, "external_ref": external_ref}
    return {
        "system": "d2c",
        "entity": "customer",
        "id": "evt-2",
        "type": "customer.updated",
        "time": "2026-03-04T10:00:00+00:00",
        "data": {"customer": customer},
    }


def entities(states: dict[tuple[str, str], dict[str, Any]]):
    return lambda name, key: states.get((name, key))


ACCOUNT = ("record_sync", "001000000000001AAA")


def test_a_salesforce_change_older_than_the_entitys_modstamp_is_already_applied() -> None:
    state = {ACCOUNT: {"last_modstamp": "2026-03-04T10:00:05+00:00", "changes": []}}

    (done,) = plan([salesforce_event("2026-03-04T10:00:01.000+0000")], entities(state))
    (todo,) = plan([salesforce_event("2026-03-04T10:00:09.000+0000")], entities(state))

    assert (done.verdict, todo.verdict) == ("applied", "redrive")


def test_a_change_the_entity_noted_as_an_echo_is_not_re_driven() -> None:
    note = {"outcome": "echo", "modstamp": "2026-03-04T10:00:09+00:00"}
    state = {ACCOUNT: {"last_modstamp": "2026-03-04T10:00:05+00:00", "changes": [note]}}

    (item,) = plan([salesforce_event("2026-03-04T10:00:09.000+0000")], entities(state))

    assert item.verdict == "applied"


def test_an_account_the_app_never_saw_is_re_driven_and_other_objects_are_left_to_the_app() -> None:
    (unknown,) = plan([salesforce_event("2026-03-04T10:00:09Z")], entities({}))
    (contact,) = plan([salesforce_event("2026-03-04T10:00:09Z", entity="Contact")], entities({}))

    assert unknown.verdict == contact.verdict == "redrive"


@pytest.mark.parametrize(
    ("state", "verdict"),
    [
        ({("signup_link", "cus_1"): {"version": 3}}, "applied"),
        ({("signup_link", "cus_1"): {"version": 2}}, "redrive"),
        ({("signup_link", "cus_1"): {"version": 2, "changes": [{"version": 3}]}}, "applied"),
        ({}, "redrive"),
    ],
)
def test_a_d2c_event_is_applied_when_the_sign_up_has_its_version(
    state: dict[tuple[str, str], dict[str, Any]], verdict: str
) -> None:
    (item,) = plan([d2c_event(3)], entities(state))

    assert item.verdict == verdict


def test_an_organisations_d2c_event_is_checked_against_its_account_entity() -> None:
    state = {ACCOUNT: {"d2c_version": 4}}

    (item,) = plan([d2c_event(4, external_ref="001000000000001AAA")], entities(state))

    assert item.verdict == "applied"


def test_a_re_driven_event_is_the_cloud_event_as_received() -> None:
    event = salesforce_event("2026-03-04T10:00:09Z")

    envelope = cloud_event(event)

    assert envelope["specversion"] == "1.0" and envelope["id"] == "evt-1"
    assert envelope["type"] == event["type"] and envelope["data"] == event["data"]
    assert envelope["subject"] == "001000000000001AAA"


@pytest.mark.parametrize(
    "window",
    [
        ["--from", "2026-03-04T10:00:00", "--to", "2026-03-04T11:00:00Z"],  # no offset
        ["--from", "2026-03-04T11:00:00Z", "--to", "2026-03-04T10:00:00Z"],  # backwards
    ],
)
def test_the_command_refuses_a_window_without_offsets_or_running_backwards(window) -> None:
    with pytest.raises(SystemExit) as caught:
        main([*window, "--app-url", "http://127.0.0.1:9", "--dry-run"])

    assert caught.value.code == 2
