"""The task hub's WAL is checkpointed on a thread of its own, and does not grow with the load."""

from __future__ import annotations

import sqlite3
import time

from devhost.store import Store

COMMITS = 6_000  # two or three WAL pages each: about 70 MB of frames in all


def test_commits_are_checkpointed_off_the_writer_and_the_wal_starts_over(tmp_path) -> None:
    store = Store(tmp_path / "hub.sqlite3")
    try:
        for n in range(COMMITS):
            with store.tx():
                store.add_message(f"i{n}", {"EventType": 0, "Input": "x" * 500})
            if n % 200 == 0:
                time.sleep(0.002)  # a host does other work between commits
        checkpoints = store._checkpoints.checkpoints
        wal_bytes = (tmp_path / "hub.sqlite3-wal").stat().st_size
    finally:
        store.close()

    assert checkpoints >= 10
    # the WAL starts over past 4,096 frames (16 MB); without that it would hold every commit
    assert wal_bytes < 40 * 1024 * 1024
    reader = sqlite3.connect(tmp_path / "hub.sqlite3")
    assert reader.execute("SELECT COUNT(*) FROM inbox").fetchone() == (COMMITS,)
    reader.close()
