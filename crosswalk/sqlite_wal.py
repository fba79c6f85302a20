"""SQLite files shared by threads and processes: the one way this project turns on WAL."""

from __future__ import annotations

import sqlite3
import time


def switch_to_wal(conn: sqlite3.Connection, *, timeout: float) -> None:
    """Put the file in WAL mode, waiting out another process that is doing the same.

    The switch needs an exclusive lock and SQLite returns "locked" at once instead of calling
    the busy handler, so the wait is ours to do.
    """
    deadline = time.monotonic() + timeout
    pause = 0.005
    while True:
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError:
            if time.monotonic() >= deadline:
                raise
            time.sleep(pause)
            pause = min(pause * 2, 0.2)
