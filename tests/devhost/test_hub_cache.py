"""The store remembers a bounded number of rows: finished histories are forgotten once
committed, the oldest rows go first, and what is forgotten reads back the same from SQLite."""

from __future__ import annotations

from devhost.history import EventType, event
from devhost.hub_cache import HubCache
from devhost.instances import create, new_instance
from devhost.store import Store


def _run_to(store: Store, iid: str, status: str) -> None:
    """An instance started, given one episode, and left in `status`."""
    with store.tx():
        inst = new_instance(iid, "chain", '"x"', 1.0)
        create(store, inst, 1.0)
    with store.tx():
        inst.status = status
        store.put_instance(inst)
        store.append_history(iid, [event(EventType.OrchestratorStarted, 2.0, Name=iid)])


def test_a_finished_instance_history_is_forgotten_once_committed_and_reads_back(
    tmp_path,
) -> None:
    store = Store(tmp_path / "hub.sqlite3")
    try:
        _run_to(store, "done", "Completed")
        _run_to(store, "busy", "Running")
        remembered = {iid for iid in ("done", "busy") if iid in store.cache.histories}
        history = store.history("done")
    finally:
        store.close()

    assert remembered == {"busy"}
    assert [e["Name"] for e in history] == ["done"]


def test_rows_and_histories_stay_within_their_bounds_and_read_back_the_same(tmp_path) -> None:
    store = Store(tmp_path / "hub.sqlite3")
    store.cache = HubCache(instances=50, histories=20)
    try:
        for n in range(200):
            _run_to(store, f"i{n}", "Running")
        sizes = (len(store.cache.instances), len(store.cache.notes), len(store.cache.histories))
        oldest, oldest_history = store.instance("i0"), store.history_json("i0")
    finally:
        store.close()

    assert sizes[0] <= 50 and sizes[1] <= 50 and sizes[2] <= 20
    assert oldest is not None and oldest.status == "Running" and oldest.input == '"x"'
    assert '"Name":"i0"' in oldest_history
