"""Group commit: episodes and activity results finishing in one turn of the event loop share
one transaction, and nothing is acknowledged before that transaction commits."""

from __future__ import annotations

import asyncio
import sqlite3
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from devhost.group_commit import GroupCommit
from devhost.stats import Stats
from devhost.store import Store
from devhost.testing import spawn
from tests.devhost.conftest import APPS


def _committed_inbox(path) -> list[str]:
    """What another connection sees: only committed rows."""
    reader = sqlite3.connect(path)
    try:
        return [r[0] for r in reader.execute("SELECT instance_id FROM inbox ORDER BY id")]
    finally:
        reader.close()


def test_writers_of_one_turn_share_a_transaction_and_a_failing_one_rolls_back_alone(
    tmp_path,
) -> None:
    path = tmp_path / "hub.sqlite3"
    store = Store(path)
    stats = Stats()
    commits = GroupCommit(store, stats)
    seen_when_resolved: list[list[str]] = []

    def writer(iid: str):
        def write() -> str:
            store.add_message(iid, {"EventType": 15, "Name": "go"})
            if iid == "broken":
                raise ValueError("this writer fails")
            return iid

        return write

    async def main() -> list[object]:
        futures = [commits.submit(writer(iid)) for iid in ("a", "broken", "b")]
        assert _committed_inbox(path) == []  # nothing written before the turn ends
        for future in futures:
            future.add_done_callback(lambda _: seen_when_resolved.append(_committed_inbox(path)))
        return await asyncio.gather(*futures, return_exceptions=True)

    try:
        results = asyncio.run(main())
    finally:
        store.close()

    assert results[0] == "a" and results[2] == "b"
    assert isinstance(results[1], ValueError)
    assert stats.groups == 1
    assert _committed_inbox(path) == ["a", "b"]
    # every writer learnt its outcome only once the others' rows were committed
    assert seen_when_resolved == [["a", "b"]] * 3


@pytest.mark.slow
def test_kill_9_during_group_commits_loses_no_acknowledged_start_or_event(tmp_path) -> None:
    log = tmp_path / "executions.log"
    log.touch()
    host = spawn(APPS / "durability", data_dir=tmp_path / "hub", env={"DURABILITY_LOG": str(log)})
    ids = [f"gc-{uuid.uuid4().hex[:8]}-{i}" for i in range(40)]
    grouped = {}
    try:
        with ThreadPoolExecutor(8) as pool:
            acked = list(pool.map(lambda iid: host.start("gated", instance_id=iid), ids))
            assert acked == ids  # every start answered 202 with its id
            time.sleep(0.1)
            raised = list(pool.map(lambda iid: host.raise_event(iid, "go", iid).status, ids))
        assert raised == [202] * len(ids)  # every event acknowledged, so it must arrive
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # some work committed, on however busy a machine
            grouped = host.get("/admin/devhost/stats").json()
            if grouped["activities"] >= 10:
                break
            time.sleep(0.02)
        host.kill()  # right after the acknowledgements, with episodes in flight
        host.launch()
        time.sleep(0.15)
        host.kill()
        host.launch()
        statuses = [host.wait_for(iid, timeout=60) for iid in ids]
        histories = [host.status(iid, show_history=True) for iid in ids]
    finally:
        host.stop()

    # writers did share transactions before the first kill
    assert grouped["groups"] < grouped["episodes"] + grouped["activities"]
    assert [s["output"] for s in statuses] == [[4, iid, 9] for iid in ids]
    for history in histories:
        kinds = [e["EventType"] for e in history["historyEvents"]]
        assert kinds.count("EventRaised") == 1 and kinds.count("TaskCompleted") == 2
        assert kinds.count("ExecutionStarted") == 1 and kinds.count("ExecutionCompleted") == 1
