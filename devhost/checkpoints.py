"""WAL checkpoints on a thread of their own, off the host's event loop.

With `synchronous=NORMAL`, SQLite's automatic checkpoint runs inside the COMMIT that crosses
1,000 WAL pages and syncs the WAL and the database file there: under load that was most of
the time the event loop spent committing (bench/devhost_throughput.py). The writer turns the
automatic checkpoint off and this thread runs a PASSIVE checkpoint (it never blocks the
writer) on a second connection after every `every` commits (a group commit can hold dozens
of episodes). A writer that never pauses keeps a passive checkpoint from ever catching up,
and the WAL starts again from its beginning only once all of it is copied, so past
`restart_frames` the thread runs a TRUNCATE checkpoint: the writer waits for the frames
written since the passive one, then the WAL starts over, its file emptied.

Durability is unchanged: a transaction is durable against kill -9 once its COMMIT has written
its frames to the WAL, before any checkpoint; a checkpoint only copies committed frames into
the database file, and SQLite recovers the WAL on the next open whatever the checkpoint was
doing when the process died (https://www.sqlite.org/wal.html, "Checkpointing").
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path


class WalCheckpointer:
    """`committed()` after each COMMIT; `close()` before the writer closes."""

    def __init__(self, path: Path, every: int = 50, restart_frames: int = 4096) -> None:
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._every = every
        self._restart_frames = restart_frames
        self._since = 0
        self._wake = threading.Event()
        self._closing = False
        self.checkpoints = 0
        self._thread = threading.Thread(target=self._loop, name="devhost-checkpoint", daemon=True)
        self._thread.start()

    def committed(self) -> None:
        self._since += 1
        if self._since >= self._every:
            self._since = 0
            self._wake.set()

    def _loop(self) -> None:
        while True:
            self._wake.wait()
            self._wake.clear()
            if self._closing:
                return
            try:
                _, frames, _ = self._db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                if frames > self._restart_frames:
                    self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
                self.checkpoints += 1
            except sqlite3.Error:  # e.g. busy: the next nudge tries again
                continue

    def close(self) -> None:
        self._closing = True
        self._wake.set()
        self._thread.join()
        self._db.close()
