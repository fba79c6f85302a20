"""Reads by any key (D2C customer id, D2C user id, e-mail, domain) go through lookup entries:
the same contract on every store, and on Cosmos DB at most two point reads, no query."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from crosswalk.models import UnifiedProfile
from crosswalk.people import Consent, LinkState, Origin, ProfileContact, SourceSystem
from crosswalk.profiles.base import LookupKind, ProfileStore, lookup_key, profile_lookup_keys

from .factories import account_id, profile


def _with_people(n: int, *emails: str, **fields: Any) -> UnifiedProfile:
    people = [
        ProfileContact(
            sf_contact_id=f"003{n:06d}{i:06d}",
            email=email,
            d2c_user_id=f"usr_{n:04d}{i:04d}abcd",
            primary=i == 0,
            link_state=LinkState.LINKED,
            consent=Consent(marketing=True, source=SourceSystem.D2C),
        )
        for i, email in enumerate(emails)
    ]
    return profile(n, contacts=people, **fields)


def test_every_person_of_a_profile_finds_it_by_email_and_d2c_user(store: ProfileStore) -> None:
    store.upsert(
        _with_people(1, "ana@acme.example", "ben@acme.example", d2c_customer_id="cus_AAAA1111")
    )

    assert [p.sf_account_id for p in store.find_by_email("BEN@acme.example ")] == [account_id(1)]
    assert store.find(LookupKind.D2C_USER, "usr_00010001abcd")[0].sf_account_id == account_id(1)
    found = store.find_by_d2c_customer("cus_AAAA1111")
    assert found is not None and len(found.contacts) == 2


def test_a_dropped_email_no_longer_finds_the_profile(store: ProfileStore) -> None:
    written = store.upsert(_with_people(1, "ana@acme.example", "ben@acme.example"))

    store.upsert(_with_people(1, "ana@acme.example"), if_match=written.etag)

    assert store.find_by_email("ben@acme.example") == []
    assert [p.sf_account_id for p in store.find_by_email("ana@acme.example")] == [account_id(1)]


def test_one_email_on_two_accounts_finds_both(store: ProfileStore) -> None:
    store.upsert(_with_people(2, "shared@acme.example"))
    store.upsert(_with_people(1, "shared@acme.example"))

    found = store.find_by_email("shared@acme.example")

    assert [p.sf_account_id for p in found] == [account_id(1), account_id(2)]


def test_deleting_a_profile_removes_every_lookup(store: ProfileStore) -> None:
    store.upsert(_with_people(1, "ana@acme.example", d2c_customer_id="cus_AAAA1111"))

    store.delete(account_id(1))

    assert store.find_by_email("ana@acme.example") == []
    assert store.find_by_d2c_customer("cus_AAAA1111") is None
    assert store.repair_lookups(account_id(1)) == 0


def test_repair_of_a_consistent_account_changes_nothing(store: ProfileStore) -> None:
    store.upsert(_with_people(1, "ana@acme.example", email_domain="acme.example"))

    assert store.repair_lookups(account_id(1)) == 0
    assert [p.sf_account_id for p in store.find_by_email_domain("ACME.example")] == [account_id(1)]


def test_a_persons_contact_id_finds_the_profile_in_either_length(store: ProfileStore) -> None:
    from crosswalk.salesforce_ids import to_18

    store.upsert(_with_people(1, "ana@acme.example"))
    contact = "003000001000000"

    assert [p.sf_account_id for p in store.find(LookupKind.SF_CONTACT, to_18(contact))] == [
        account_id(1)
    ]
    assert store.find(LookupKind.SF_CONTACT, contact)[0].sf_account_id == account_id(1)
    assert store.find(LookupKind.SF_CONTACT, "not an id") == []


def test_a_sqlite_file_from_before_contact_entries_gets_them_on_opening(tmp_path) -> None:
    import sqlite3

    from crosswalk.profiles import SqliteProfileStore

    path = tmp_path / "old.sqlite3"
    first = SqliteProfileStore(path)
    first.upsert(_with_people(1, "ana@acme.example"))
    first.close()
    with sqlite3.connect(path) as conn:  # as the version before Contact entries left it
        conn.execute("DELETE FROM lookups WHERE lookup_key LIKE 'contact:%'")
        conn.execute("PRAGMA user_version = 1")
    conn.close()

    reopened = SqliteProfileStore(path)
    try:
        found = reopened.find(LookupKind.SF_CONTACT, "003000001000000")
    finally:
        reopened.close()

    assert [p.sf_account_id for p in found] == [account_id(1)]


def test_lookup_keys_hold_no_address_and_fold_case() -> None:
    key = lookup_key(LookupKind.EMAIL, " Ana@Acme.Example ")

    assert key == lookup_key(LookupKind.EMAIL, "ana@acme.example")
    assert key is not None and "acme" not in key and key.startswith("email:")
    assert lookup_key(LookupKind.D2C_USER, "usr_AbC12345") != lookup_key(
        LookupKind.D2C_USER, "usr_abc12345"
    )  # ids are case-sensitive


def test_a_storefront_person_is_found_by_email_too(store: ProfileStore) -> None:
    signup = ProfileContact(
        email="new@acme.example", origin=Origin.STOREFRONT, link_state=LinkState.LINKED
    )
    store.upsert(profile(1, contacts=[signup]))

    assert len(store.find_by_email("new@acme.example")) == 1


# ---------------------------------------------------------------- Cosmos DB specifics


def _count_calls(monkeypatch: pytest.MonkeyPatch, container: Any) -> Counter[str]:
    """Count what the real container proxy is asked to do (a spy; the calls still happen)."""
    calls: Counter[str] = Counter()
    for name in ("read_item", "query_items", "read_all_items"):
        real = getattr(container, name)

        def counted(*args: Any, _real: Any = real, _name: str = name, **kwargs: Any) -> Any:
            calls[_name] += 1
            return _real(*args, **kwargs)

        monkeypatch.setattr(container, name, counted)
    return calls


@pytest.mark.cosmos
@pytest.mark.parametrize("store", ["cosmos"], indirect=True)
def test_cosmos_reads_by_any_key_are_two_point_reads(
    store: ProfileStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.upsert(
        _with_people(
            1, "ana@acme.example", d2c_customer_id="cus_AAAA1111", email_domain="acme.example"
        )
    )
    calls = _count_calls(monkeypatch, store._container())  # type: ignore[attr-defined]

    store.find_by_email("ana@acme.example")
    store.find_by_d2c_customer("cus_AAAA1111")
    store.find(LookupKind.D2C_USER, "usr_00010000abcd")
    store.find_by_email_domain("acme.example")

    assert calls == Counter({"read_item": 8})


@pytest.mark.cosmos
@pytest.mark.parametrize("store", ["cosmos"], indirect=True)
def test_cosmos_stale_entry_is_skipped_and_repaired(store: ProfileStore) -> None:
    written = store.upsert(_with_people(1, "ana@acme.example"))
    stale = lookup_key(LookupKind.EMAIL, "gone@acme.example")
    container = store._container()  # type: ignore[attr-defined]
    # a writer that stopped after adding the entry, before its profile write
    container.create_item(
        {"id": stale, "sf_account_id": stale, "type": "lookup", "accounts": [account_id(1)]}
    )

    assert store.find_by_email("gone@acme.example") == []
    assert store.repair_lookups(account_id(1)) == 1
    assert store.find_by_email("ana@acme.example")[0].etag == written.etag
    documents = list(container.read_all_items())
    assert {d["id"] for d in documents if d["type"] == "lookup"} == set(
        profile_lookup_keys(written)
    )
    assert not any("acme" in d["id"] for d in documents)


# ---------------------------------------------------------------- tombstones


def test_tombstones_answer_which_hashes_were_erased(store: ProfileStore) -> None:
    from datetime import UTC, datetime

    erased, other = "a" * 64, "b" * 64

    store.put_tombstones([erased], datetime(2026, 1, 1, tzinfo=UTC))
    store.put_tombstones([erased], datetime(2026, 1, 2, tzinfo=UTC))  # again: no error

    assert store.tombstoned([erased, other]) == {erased}
    assert store.tombstoned([]) == set()


def test_a_tombstone_that_is_not_a_keyed_hash_is_refused(store: ProfileStore) -> None:
    from crosswalk.errors import InvalidData

    with pytest.raises(InvalidData):
        store.tombstoned(["jane@acme.example"])


@pytest.mark.cosmos
@pytest.mark.parametrize("store", ["cosmos"], indirect=True)
def test_cosmos_repair_gives_a_profile_from_before_lookups_its_entries(store: ProfileStore) -> None:
    written = store.upsert(_with_people(1, "ana@acme.example"))
    container = store._container()  # type: ignore[attr-defined]
    old = container.read_item(item=written.sf_account_id, partition_key=written.sf_account_id)
    old.pop("lookup_keys")
    container.replace_item(item=old["id"], body=old)  # as an older version of the app wrote it
    for entry in profile_lookup_keys(written):
        container.delete_item(item=entry, partition_key=entry)
    assert store.find_by_email("ana@acme.example") == []

    assert store.repair_lookups(account_id(1)) == 3  # its e-mail, D2C user and Contact entries

    assert [p.sf_account_id for p in store.find_by_email("ana@acme.example")] == [account_id(1)]
