"""The ProfileStore contract, run against every implementation (see conftest `store`): reading,
writing and deleting one profile, with etags, alone and from threads racing each other.

The rest of the contract: test_profile_store_queries (many profiles, lookups, statuses,
versions), test_profile_store_reports and test_profile_store_feed (the change feed)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest

from crosswalk.errors import InvalidData, PreconditionFailed
from crosswalk.models import ApprovalDecision, ApprovalVerdict
from crosswalk.profiles.base import ProfileStore
from crosswalk.salesforce_ids import to_18

from .factories import account_id, profile

# ---------------------------------------------------------------- get / upsert / delete


def test_get_of_an_unknown_account_returns_none(store: ProfileStore) -> None:
    assert store.get(account_id(1)) is None


def test_upsert_then_get_returns_every_field(store: ProfileStore) -> None:
    written = profile(
        1,
        d2c_customer_id="cus_ABCdef123456",
        d2c_primary_user_id="usr_ABCdef123456",
        primary_email="Ana@Example.com",
        email_domain="Example.com",
        country="DE",
        last_modstamp=datetime(2024, 5, 2, 8, 0, 1, 123000, tzinfo=UTC),
        approval=ApprovalDecision(
            decision=ApprovalVerdict.APPROVE,
            approver="lee@corp.example",
            reason="known customer",
            decided_at=datetime(2024, 5, 2, 9, 0, tzinfo=UTC),
        ),
        failure={"step": "invite", "detail": "boom"},
        updated_at=datetime(2024, 5, 2, 9, 1, tzinfo=UTC),
    )

    stored = store.upsert(written)
    read = store.get(written.sf_account_id)

    assert read is not None
    assert read == stored
    assert read.changed_at is not None
    store_assigned = {"etag", "changed_at"}
    assert read.model_dump(exclude=store_assigned) == written.model_dump(exclude=store_assigned)


def test_upsert_returns_the_profile_with_a_new_etag_on_every_write(store: ProfileStore) -> None:
    first = store.upsert(profile(1))
    second = store.upsert(profile(1, name="Renamed"))

    assert first.etag and second.etag
    assert first.etag != second.etag
    assert store.get(account_id(1)).etag == second.etag  # type: ignore[union-attr]


def test_get_accepts_the_15_character_account_id(store: ProfileStore) -> None:
    store.upsert(profile(1))

    found = store.get(account_id(1)[:15])

    assert found is not None and found.sf_account_id == account_id(1)


def test_a_malformed_account_id_is_invalid_data(store: ProfileStore) -> None:
    with pytest.raises(InvalidData):
        store.get("not-an-id")
    with pytest.raises(InvalidData):
        store.get(to_18("003000000000001"))  # a valid Contact id is still not an Account id


def test_upsert_with_the_current_etag_succeeds(store: ProfileStore) -> None:
    current = store.upsert(profile(1))

    updated = store.upsert(profile(1, name="Second"), if_match=current.etag)

    assert updated.name == "Second"
    assert store.get(account_id(1)).name == "Second"  # type: ignore[union-attr]


def test_second_writer_with_a_stale_etag_gets_precondition_failed(store: ProfileStore) -> None:
    base = store.upsert(profile(1))
    store.upsert(profile(1, name="Writer A"), if_match=base.etag)

    with pytest.raises(PreconditionFailed) as caught:
        store.upsert(profile(1, name="Writer B"), if_match=base.etag)

    assert caught.value.system == "profiles"
    assert store.get(account_id(1)).name == "Writer A"  # type: ignore[union-attr]


def test_if_match_against_a_missing_profile_is_precondition_failed(store: ProfileStore) -> None:
    with pytest.raises(PreconditionFailed):
        store.upsert(profile(1), if_match="some-old-etag")

    assert store.get(account_id(1)) is None


def test_delete_returns_true_once_then_false(store: ProfileStore) -> None:
    store.upsert(profile(1))

    assert store.delete(account_id(1)) is True
    assert store.delete(account_id(1)) is False
    assert store.get(account_id(1)) is None


def test_delete_with_a_stale_etag_is_refused_and_keeps_the_profile(store: ProfileStore) -> None:
    old = store.upsert(profile(1))
    store.upsert(profile(1, name="Newer"))

    with pytest.raises(PreconditionFailed):
        store.delete(account_id(1), if_match=old.etag)

    assert store.get(account_id(1)) is not None


def test_delete_with_the_current_etag_removes_the_profile(store: ProfileStore) -> None:
    current = store.upsert(profile(1))

    assert store.delete(account_id(1), if_match=current.etag) is True
    assert store.get(account_id(1)) is None


# ---------------------------------------------------------------- concurrency


def test_concurrent_upserts_from_threads_all_land(store: ProfileStore) -> None:
    ids = range(200)

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda n: store.upsert(profile(n)), ids))

    assert len(store.get_many([account_id(n) for n in ids])) == 200


def test_racing_conditional_writes_on_one_etag_let_exactly_one_win(store: ProfileStore) -> None:
    base = store.upsert(profile(1))
    barrier = threading.Barrier(8)

    def attempt(writer: int) -> bool:
        barrier.wait()
        try:
            store.upsert(profile(1, name=f"writer {writer}"), if_match=base.etag)
        except PreconditionFailed:
            return False
        return True

    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(attempt, range(8)))

    assert outcomes.count(True) == 1
    winner = outcomes.index(True)
    assert store.get(account_id(1)).name == f"writer {winner}"  # type: ignore[union-attr]


def test_read_modify_write_with_retry_loses_no_update(store: ProfileStore) -> None:
    store.upsert(profile(1, failure={"count": 0}))

    def increment(_: int) -> None:
        while True:
            current = store.get(account_id(1))
            assert current is not None and current.failure is not None
            bumped = current.model_copy(update={"failure": {"count": current.failure["count"] + 1}})
            try:
                store.upsert(bumped, if_match=current.etag)
                return
            except PreconditionFailed:
                continue

    with ThreadPoolExecutor(max_workers=6) as pool:
        list(pool.map(increment, range(60)))

    final = store.get(account_id(1))
    assert final is not None and final.failure == {"count": 60}
