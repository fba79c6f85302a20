"""The ProfileStore contract, reads over many profiles: by id in bulk, by lookup key, by status,
and every profile's current version. Run against every implementation (conftest `store`)."""

from __future__ import annotations

import pytest

from crosswalk.errors import InvalidData
from crosswalk.models import ProfileStatus
from crosswalk.profiles.base import ProfileStore

from .factories import account_id, profile, report

# ---------------------------------------------------------------- bulk and lookups


def test_get_many_over_2500_ids_returns_exactly_the_stored_ones(store: ProfileStore) -> None:
    # 2,510 ids take several round trips (chunks of 1,000 on Cosmos); every 20th is stored.
    stored = range(0, 2500, 20)
    for n in stored:
        store.upsert(profile(n, status=ProfileStatus.ACTIVE))
    wanted = [account_id(n) for n in range(2500)] + [account_id(n) for n in range(9000, 9010)]

    found = store.get_many(wanted)

    assert set(found) == {account_id(n) for n in stored}
    assert found[account_id(1240)].name == "Account 1240"
    assert all(item.etag for item in found.values())


def test_get_many_of_nothing_is_an_empty_dict(store: ProfileStore) -> None:
    assert store.get_many([]) == {}


def test_get_many_keys_15_character_ids_by_their_18_character_form(store: ProfileStore) -> None:
    store.upsert(profile(7))

    found = store.get_many([account_id(7)[:15], account_id(7)])

    assert list(found) == [account_id(7)]


def test_find_by_d2c_customer_returns_the_linked_profile(store: ProfileStore) -> None:
    store.upsert(profile(1, d2c_customer_id="cus_AAAAAAAA1111"))
    store.upsert(profile(2, d2c_customer_id="cus_BBBBBBBB2222"))

    found = store.find_by_d2c_customer("cus_BBBBBBBB2222")

    assert found is not None and found.sf_account_id == account_id(2)
    assert store.find_by_d2c_customer("cus_CCCCCCCC3333") is None


def test_find_by_email_domain_ignores_case(store: ProfileStore) -> None:
    store.upsert(profile(1, email_domain="Acme.Example"))
    store.upsert(profile(2, email_domain="acme.example"))
    store.upsert(profile(3, email_domain="other.example"))
    store.upsert(profile(4))

    found = store.find_by_email_domain("ACME.example")

    assert [item.sf_account_id for item in found] == [account_id(1), account_id(2)]
    assert found[0].email_domain == "Acme.Example"  # stored as given, matched folded


def test_find_by_email_domain_of_an_unknown_domain_is_empty(store: ProfileStore) -> None:
    store.upsert(profile(1, email_domain="acme.example"))

    assert store.find_by_email_domain("nobody.example") == []


def test_find_by_email_matches_primary_email_ignoring_case(store: ProfileStore) -> None:
    store.upsert(profile(1, primary_email="Ana.Lopez@Acme.Example"))
    store.upsert(profile(2, primary_email="ben@acme.example"))

    found = store.find_by_email("ana.lopez@ACME.example")

    assert [item.sf_account_id for item in found] == [account_id(1)]
    assert store.find_by_email("nobody@acme.example") == []


def test_a_changed_email_is_found_under_the_new_value_only(store: ProfileStore) -> None:
    store.upsert(profile(1, primary_email="old@acme.example", email_domain="acme.example"))
    store.upsert(profile(1, primary_email="new@beta.example", email_domain="beta.example"))

    assert store.find_by_email("old@acme.example") == []
    assert store.find_by_email_domain("acme.example") == []
    assert [p.sf_account_id for p in store.find_by_email("NEW@beta.example")] == [account_id(1)]


def test_list_by_status_pages_in_account_id_order(store: ProfileStore) -> None:
    for n in (5, 1, 4, 2, 3):
        store.upsert(profile(n, status=ProfileStatus.FAILED))
    store.upsert(profile(6, status=ProfileStatus.ACTIVE))

    first = store.list_by_status(ProfileStatus.FAILED, limit=2)
    second = store.list_by_status("failed", limit=2, after=first[-1].sf_account_id)
    third = store.list_by_status(ProfileStatus.FAILED, limit=2, after=second[-1].sf_account_id)

    pages = [[p.sf_account_id for p in page] for page in (first, second, third)]
    assert pages == [
        [account_id(1), account_id(2)],
        [account_id(3), account_id(4)],
        [account_id(5)],
    ]


def test_list_by_status_of_an_unknown_status_is_invalid_data(store: ProfileStore) -> None:
    with pytest.raises(InvalidData):
        store.list_by_status("sleeping")


# ---------------------------------------------------------------- versions


def test_versions_name_every_profile_with_its_current_etag_and_no_report(
    store: ProfileStore,
) -> None:
    first = store.upsert(profile(1))
    second = store.upsert(profile(2))
    store.put_report(report("run-1", 0))

    before = store.versions()
    changed = store.upsert(profile(2, name="Renamed"))
    store.delete(account_id(1))
    after = store.versions()

    assert before == {account_id(1): first.etag, account_id(2): second.etag}
    assert after == {account_id(2): changed.etag}
