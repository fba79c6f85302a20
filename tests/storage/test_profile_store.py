"""The ProfileStore contract, run against every implementation (see conftest `store`)."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest

from crosswalk.errors import InvalidData, PreconditionFailed
from crosswalk.models import (
    ApprovalDecision,
    ApprovalVerdict,
    DriftClass,
    DriftFinding,
    ProfileStatus,
)
from crosswalk.profiles.base import ProfileStore
from crosswalk.salesforce_ids import to_18

from .factories import account_id, profile, report

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


# ---------------------------------------------------------------- reports


def test_put_report_then_get_report_round_trips(store: ProfileStore) -> None:
    written = report(
        "run-1",
        0,
        pages=3,
        counts={DriftClass.IN_SYNC: 10, DriftClass.MISSING_IN_D2C: 1},
        findings=[
            DriftFinding(
                sf_account_id=account_id(1), drift=DriftClass.MISSING_IN_D2C, reason="no customer"
            )
        ],
        repaired=1,
    )

    store.put_report(written)

    assert store.get_report("run-1") == written
    assert store.get_report("run-unknown") is None


def test_put_report_again_replaces_the_report(store: ProfileStore) -> None:
    store.put_report(report("run-1", 0, pages=1))

    store.put_report(report("run-1", 0, pages=2, finished_at=datetime(2024, 5, 2, 9, tzinfo=UTC)))

    stored = store.get_report("run-1")
    assert stored is not None and stored.pages == 2
    assert [r.run_id for r in store.list_reports()] == ["run-1"]


def test_list_reports_returns_the_newest_first_up_to_the_limit(store: ProfileStore) -> None:
    for run, minutes_ago in (("b", 30), ("a", 10), ("d", 50), ("c", 20)):
        store.put_report(report(run, minutes_ago))

    assert [r.run_id for r in store.list_reports()] == ["a", "c", "b", "d"]
    assert [r.run_id for r in store.list_reports(limit=2)] == ["a", "c"]


@pytest.mark.parametrize("bad", ["", "a/b", "a?b", "a#b", "a\\b", "x" * 201], ids=repr)
def test_a_run_id_that_cannot_be_a_document_id_is_invalid_data(
    store: ProfileStore, bad: str
) -> None:
    with pytest.raises(InvalidData):
        store.put_report(report(bad, 0))
    with pytest.raises(InvalidData):
        store.get_report(bad)


def test_reports_do_not_show_up_as_profiles(store: ProfileStore) -> None:
    store.put_report(report("run-1", 0))

    assert store.list_by_status(ProfileStatus.ACTIVE) == []


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


# ---------------------------------------------------------------- change feed


def _follow(store: ProfileStore, cursor: str | None = None, **kw: object) -> list:
    """Read the feed to its current end, page by page; every profile seen, in order."""
    seen = []
    while True:
        page = store.changes(cursor=cursor, limit=3, **kw)  # type: ignore[arg-type]
        seen.extend(page.profiles)
        cursor = page.cursor
        if not page.more:
            return seen


def test_changes_lists_profiles_in_write_order_across_pages(store: ProfileStore) -> None:
    for n in (5, 1, 4, 2, 3, 7, 6):
        store.upsert(profile(n))

    seen = _follow(store)

    assert [p.sf_account_id for p in seen] == [account_id(n) for n in (5, 1, 4, 2, 3, 7, 6)]
    assert all(p.etag and p.changed_at for p in seen)


def test_a_profile_written_again_comes_later_with_its_new_version(store: ProfileStore) -> None:
    for n in (1, 2, 3):
        store.upsert(profile(n))
    first = store.changes(limit=10)
    rewritten = store.upsert(profile(1, name="Renamed"))

    later = store.changes(cursor=first.cursor, limit=10)

    assert [p.sf_account_id for p in first.profiles] == [account_id(n) for n in (1, 2, 3)]
    assert [(p.sf_account_id, p.name, p.etag) for p in later.profiles] == [
        (account_id(1), "Renamed", rewritten.etag)
    ]


def test_changes_since_leaves_out_what_was_written_before(store: ProfileStore) -> None:
    store.upsert(profile(1))
    boundary = store.upsert(profile(2)).changed_at
    store.upsert(profile(3))

    seen = _follow(store, since=boundary)

    assert [p.sf_account_id for p in seen] == [account_id(2), account_id(3)]


def test_the_end_of_the_feed_gives_a_cursor_that_resumes_there(store: ProfileStore) -> None:
    empty = store.changes()
    assert (empty.profiles, empty.more) == ([], False)

    store.upsert(profile(1))
    page = store.changes(cursor=empty.cursor)
    store.upsert(profile(2))
    after = store.changes(cursor=page.cursor)

    assert [p.sf_account_id for p in page.profiles] == [account_id(1)]
    assert [p.sf_account_id for p in after.profiles] == [account_id(2)]


@pytest.mark.parametrize("cursor", ["nonsense", "e30", "eyJzZXEiOiJ4In0", "%%%", "A" * 300])
def test_a_cursor_the_feed_did_not_issue_is_invalid_data(store: ProfileStore, cursor) -> None:
    with pytest.raises(InvalidData) as caught:
        store.changes(cursor=cursor)
    assert caught.value.field == "cursor"


def test_deleted_profiles_leave_the_feed(store: ProfileStore) -> None:
    for n in (1, 2):
        store.upsert(profile(n))
    store.delete(account_id(1))

    assert [p.sf_account_id for p in _follow(store)] == [account_id(2)]


def test_following_the_feed_during_writes_misses_no_version_and_repeats_none(
    settling_store: ProfileStore,
) -> None:
    store = settling_store
    for n in range(40):
        store.upsert(profile(n))
    stop = threading.Event()

    def write(worker: int) -> None:
        round_ = 0
        while not stop.is_set():
            round_ += 1
            store.upsert(profile(worker * 7 % 40, name=f"w{worker} r{round_}"))

    seen: list = []
    with ThreadPoolExecutor(max_workers=3) as pool:
        writers = [pool.submit(write, w) for w in range(3)]
        cursor = None
        for _ in range(30):  # page while the writers write
            page = store.changes(cursor=cursor, limit=7)
            seen.extend(page.profiles)
            cursor = page.cursor
        stop.set()
        for writer in writers:
            writer.result()
    final = {key: p.etag for key, p in store.get_many([account_id(n) for n in range(40)]).items()}
    deadline = time.monotonic() + 30  # a settling feed serves the last writes a little later
    while {p.sf_account_id: p.etag for p in seen} != final and time.monotonic() < deadline:
        page = store.changes(cursor=cursor, limit=50)
        seen.extend(page.profiles)
        cursor = page.cursor
        if not page.profiles:
            time.sleep(0.1)

    versions = [(p.sf_account_id, p.etag) for p in seen]
    assert len(versions) == len(set(versions))  # no version twice
    assert {p.sf_account_id: p.etag for p in seen} == final  # every final version seen


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
