"""The support audit log contract, for SQLite and for append blobs on a real Azurite."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

from azure.storage.blob import BlobType

from crosswalk.support.audit import AuditEntry, AuditStore
from crosswalk.support.audit_blob import BlobAuditStore

MONDAY = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def entry(n: int, *, at: datetime | None = None, **fields: object) -> AuditEntry:
    values: dict[str, object] = {
        "actor": f"a{n}",
        "action": "retry",
        "target": f"t{n % 2}",
        "outcome": "done",
        "at": at or MONDAY + timedelta(minutes=n),
    }
    return AuditEntry.model_validate({**values, **fields})


def actors(entries: list[AuditEntry]) -> list[str]:
    return [e.actor for e in entries]


def test_an_empty_log_lists_nothing(audit_store: AuditStore) -> None:
    assert audit_store.list() == []
    assert audit_store.list(target="001000000000001AAA") == []


def test_entries_come_back_as_written(audit_store: AuditStore) -> None:
    written = entry(
        1,
        roles=["Support.Operate"],
        reason="customer called",
        details={"instance_id": "onboard-001", "result": {"mode": "rewind"}},
    )

    audit_store.append(written)

    assert audit_store.list() == [written]


def test_the_log_is_newest_first_and_pages_with_before(audit_store: AuditStore) -> None:
    for n in range(5):
        audit_store.append(entry(n))

    first = audit_store.list(limit=2)
    second = audit_store.list(limit=2, before=first[-1].id)
    last = audit_store.list(limit=2, before=second[-1].id)

    assert (actors(first), actors(second), actors(last)) == (["a4", "a3"], ["a2", "a1"], ["a0"])


def test_the_log_filters_by_target_actor_and_action(audit_store: AuditStore) -> None:
    for n in range(4):
        audit_store.append(entry(n, action="cancel" if n == 3 else "retry"))

    assert actors(audit_store.list(target="t0")) == ["a2", "a0"]
    assert actors(audit_store.list(actor="a1")) == ["a1"]
    assert actors(audit_store.list(action="cancel")) == ["a3"]
    assert actors(audit_store.list(target="t1", action="retry")) == ["a1"]


def test_entries_of_several_days_list_newest_day_first(audit_store: AuditStore) -> None:
    days = [MONDAY + timedelta(days=d) for d in (0, 2, 1)]
    for n, day in enumerate(days):
        audit_store.append(entry(n, at=day, target="t"))

    assert actors(audit_store.list()) == ["a1", "a2", "a0"]
    assert actors(audit_store.list(target="t", limit=2)) == ["a1", "a2"]


def test_appends_from_many_threads_all_land_once(audit_store: AuditStore) -> None:
    written = [entry(n) for n in range(40)]

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(audit_store.append, written))

    listed = audit_store.list(limit=100)
    assert sorted(e.id for e in listed) == sorted(e.id for e in written)
    assert actors(audit_store.list(limit=3)) == ["a39", "a38", "a37"]


def test_a_full_append_blob_continues_in_the_next_part(small_blob_audit_store) -> None:
    store: BlobAuditStore = small_blob_audit_store
    for n in range(8):
        store.append(entry(n, target="t"))

    blobs = list(store._container.list_blobs(name_starts_with="days/"))

    assert [b.name.rsplit("/", 1)[1] for b in blobs] == [
        "00000.jsonl",
        "00001.jsonl",
        "00002.jsonl",
    ]
    assert {b.blob_type for b in blobs} == {BlobType.APPENDBLOB}
    assert actors(store.list()) == [f"a{n}" for n in reversed(range(8))]
    assert len(store.list(target="t", limit=100)) == 8
