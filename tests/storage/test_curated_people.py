"""The curated people table: one row per person of every profile, replaced per account in one
commit with the profiles table, read back equal to the store."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from crosswalk.lake.curated import ProfileTable
from crosswalk.people import Consent, LinkState, Origin, ProfileContact, SourceSystem
from crosswalk.profiles.base import ProfileStore
from crosswalk.profiles.sqlite import SqliteProfileStore
from crosswalk.settings import LakeKind, LakeSettings

from .factories import account_id, profile

NOW = datetime(2026, 3, 4, 10, 0, tzinfo=UTC)


@pytest.fixture
def table(tmp_path: Path) -> ProfileTable:
    settings = LakeSettings.model_validate({"kind": LakeKind.FOLDER, "folder": tmp_path})
    return ProfileTable.from_settings(settings)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[ProfileStore]:
    opened = SqliteProfileStore(tmp_path / "profiles.sqlite3")
    yield opened
    opened.close()


def _person(n: int, email: str, **fields: object) -> ProfileContact:
    values: dict[str, object] = {
        "sf_contact_id": f"003{n:012d}",
        "email": email,
        "first_name": "Ana",
        "last_name": f"Person {n}",
        "link_state": LinkState.LINKED,
        "consent": Consent(marketing=n % 2 == 0, source=SourceSystem.SALESFORCE, at=NOW),
    }
    values.update(fields)
    return ProfileContact.model_validate(values)


def test_every_person_of_every_profile_is_a_row_and_reads_back_equal(
    table: ProfileTable, store: ProfileStore
) -> None:
    store.upsert(
        profile(1, contacts=[_person(1, "a@x.example", primary=True), _person(2, "b@x.example")])
    )
    signup = ProfileContact(
        d2c_user_id="usr_Signup000001",
        email="c@x.example",
        origin=Origin.STOREFRONT,
        link_state=LinkState.LINKED,
        consent=Consent(marketing=False, source=SourceSystem.D2C, at=NOW),
    )
    store.upsert(profile(2, contacts=[_person(3, "d@y.example"), signup]))

    result = table.refresh(store, now=NOW)

    assert result.people == 4
    rows = table.people.rows()
    assert {(r["sf_account_id"], r["email"], r["consent_marketing"]) for r in rows} == {
        (account_id(1), "a@x.example", False),
        (account_id(1), "b@x.example", True),
        (account_id(2), "d@y.example", False),
        (account_id(2), "c@x.example", False),
    }
    assert table.read() == store.get_many([account_id(1), account_id(2)])


def test_a_changed_profile_replaces_its_people_and_a_deleted_one_removes_them(
    table: ProfileTable, store: ProfileStore
) -> None:
    store.upsert(profile(1, contacts=[_person(1, "a@x.example"), _person(2, "b@x.example")]))
    store.upsert(profile(2, contacts=[_person(3, "d@y.example")]))
    table.refresh(store, now=NOW)
    before = table.people.version()

    current = store.get(account_id(1))
    assert current is not None
    store.upsert(current.model_copy(update={"contacts": [_person(2, "b2@x.example")]}))
    store.delete(account_id(2))
    table.refresh(store, now=NOW + timedelta(minutes=1))

    rows = table.people.rows()
    assert [(r["sf_account_id"], r["email"]) for r in rows] == [(account_id(1), "b2@x.example")]
    assert table.people.version() == (before or 0) + 1  # one commit for the whole change
