"""The ProfileStore contract, the change feed: every version in write order, resumable by cursor,
none missed or repeated while writers run. Run against every implementation (conftest
`store`, `settling_store`)."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from crosswalk.errors import InvalidData
from crosswalk.profiles.base import ProfileStore

from .factories import account_id, profile

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
