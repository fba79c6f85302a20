"""The SQLite task hub: instances, history, inbox (messages and due timers), activity queue.

One writer (the host's event loop) and WAL with synchronous=NORMAL: a committed transaction
survives kill -9 of the process. Checkpoints run on their own thread (`checkpoints`).
Every orchestration episode is written inside one `tx()` (or one savepoint of a group
commit). Histories are stored one row per episode (a JSON array) and remembered in memory
(`hub_cache`, bounded), so loading a history is a dict lookup and appending is one INSERT.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from devhost.checkpoints import WalCheckpointer
from devhost.history import Event
from devhost.hub_cache import History, HubCache
from devhost.rows import TERMINAL, ActivityRow, EntityRow, InboxRow, Instance

_SCHEMA = """
CREATE TABLE IF NOT EXISTS instances (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, execution_id TEXT NOT NULL,
    status TEXT NOT NULL, input TEXT, input_status TEXT, output TEXT, custom_status TEXT,
    created REAL NOT NULL, updated REAL NOT NULL,
    parent_id TEXT, parent_execution TEXT, parent_task_id INTEGER);
CREATE INDEX IF NOT EXISTS instances_created ON instances(created);
CREATE TABLE IF NOT EXISTS history (
    instance_id TEXT NOT NULL, episode INTEGER NOT NULL, events TEXT NOT NULL,
    PRIMARY KEY (instance_id, episode)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS inbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT, instance_id TEXT NOT NULL, execution_id TEXT,
    visible_at REAL NOT NULL, event TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS inbox_instance ON inbox(instance_id, visible_at);
CREATE TABLE IF NOT EXISTS activities (
    id INTEGER PRIMARY KEY AUTOINCREMENT, instance_id TEXT NOT NULL,
    execution_id TEXT NOT NULL, task_id INTEGER NOT NULL, name TEXT NOT NULL, input TEXT);
-- Messages to entities (call_entity / signal_entity); the entity dispatcher (issue 4)
-- consumes them. Written in the same transaction as the orchestration episode.
CREATE TABLE IF NOT EXISTS entity_inbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT, target TEXT NOT NULL, message TEXT NOT NULL,
    visible_at REAL NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS entity_inbox_target ON entity_inbox(target, id);
-- Entity state: the JSON text the SDK returned as entityState; a row exists while the
-- entity does (destruct_on_exit deletes it).
CREATE TABLE IF NOT EXISTS entities (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, key TEXT NOT NULL, state TEXT,
    last_op REAL NOT NULL);
-- Why an instance waits where Azure would wait and the SDK thinks it moved on (replay.py);
-- shown in the status payload as devhostWaiting. A row only while there is something to say.
CREATE TABLE IF NOT EXISTS waiting_notes (id TEXT PRIMARY KEY, note TEXT NOT NULL);
-- Timer-trigger schedule monitor (use_monitor): the ScheduleStatus saved after each run, as
-- the timer extension's ScheduleMonitor keeps it; NULL is .NET's default(DateTime), "never".
CREATE TABLE IF NOT EXISTS schedule_status (
    function TEXT PRIMARY KEY, last REAL, next REAL NOT NULL, last_updated REAL);
"""


class Store:
    """Typed access to the task hub; callers group writes with `tx()`."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute("PRAGMA wal_autocheckpoint=0")  # the checkpointer's thread does it
        self.db.executescript(_SCHEMA)
        self._checkpoints = WalCheckpointer(path)
        # Read-through caches of what this store alone writes (an episode reads its instance
        # twice and its waiting note once): None = known not to exist.
        self.cache = HubCache()
        self._in_tx = False

    def close(self) -> None:
        self._checkpoints.close()
        self.db.close()

    @contextmanager
    def tx(self) -> Iterator[None]:
        """One atomic unit: everything inside commits together or not at all."""
        assert not self._in_tx, "nested transaction"
        self._in_tx = True
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield
            self.db.execute("COMMIT")
            self._checkpoints.committed()
            self.cache.committed()
        except BaseException:
            self.db.execute("ROLLBACK")
            self.cache.rolled_back()
            raise
        finally:
            self._in_tx = False

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        """Inside `tx()`: a part that rolls back alone (one writer of a group commit)."""
        assert self._in_tx, "a savepoint belongs inside tx()"
        self.db.execute("SAVEPOINT part")
        try:
            yield
            self.db.execute("RELEASE part")
        except BaseException:
            self.db.execute("ROLLBACK TO part")
            self.db.execute("RELEASE part")
            self.cache.rolled_back()
            raise

    # -- instances --------------------------------------------------------------------
    def instance(self, instance_id: str) -> Instance | None:
        """A copy: callers change it and `put_instance` it back."""
        cache = self.cache.instances
        if instance_id in cache:
            cached = cache[instance_id]
            return None if cached is None else cached.copy()
        row = self.db.execute("SELECT * FROM instances WHERE id=?", (instance_id,)).fetchone()
        found = Instance(*row) if row else None
        cache.put(instance_id, found)
        return None if found is None else found.copy()

    def put_instance(self, inst: Instance) -> None:
        self.cache.instances.put(inst.id, inst.copy())
        if inst.status in TERMINAL:
            self.cache.finished(inst.id)
        self.db.execute(
            "INSERT OR REPLACE INTO instances VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                inst.id,
                inst.name,
                inst.execution_id,
                inst.status,
                inst.input,
                inst.input_status,
                inst.output,
                inst.custom_status,
                inst.created,
                inst.updated,
                inst.parent_id,
                inst.parent_execution,
                inst.parent_task_id,
            ),
        )

    def query_instances(
        self,
        *,
        created_from: float | None = None,
        created_to: float | None = None,
        statuses: list[str] | None = None,
        prefix: str | None = None,
        start: str | None = None,
        limit: int | None = None,
    ) -> list[Instance]:
        """Matching instances ordered by id (Azure Table storage's order), from id `start` on."""
        sql, args = "SELECT * FROM instances WHERE 1=1", []
        if created_from is not None:
            sql += " AND created >= ?"
            args.append(created_from)
        if created_to is not None:
            sql += " AND created <= ?"
            args.append(created_to)
        if statuses:
            sql += f" AND status IN ({','.join('?' * len(statuses))})"
            args.extend(statuses)
        if prefix:
            sql += " AND substr(id, 1, ?) = ?"
            args.extend([len(prefix), prefix])
        if start is not None:
            sql += " AND id >= ?"
            args.append(start)
        sql += " ORDER BY id LIMIT ?"
        args.append(-1 if limit is None else limit)
        return [Instance(*r) for r in self.db.execute(sql, args)]

    def delete_instance(self, instance_id: str) -> None:
        for table, col in (
            ("instances", "id"),
            ("history", "instance_id"),
            ("inbox", "instance_id"),
            ("activities", "instance_id"),
            ("waiting_notes", "id"),
        ):
            self.db.execute(f"DELETE FROM {table} WHERE {col}=?", (instance_id,))
        self.cache.histories.pop(instance_id)
        self.cache.instances.put(instance_id, None)
        self.cache.notes.put(instance_id, None)

    def waiting_note(self, instance_id: str) -> str | None:
        notes = self.cache.notes
        if instance_id in notes:
            return notes[instance_id]
        row = self.db.execute("SELECT note FROM waiting_notes WHERE id=?", (instance_id,))
        found = row.fetchone()
        note = found[0] if found else None
        notes.put(instance_id, note)
        return note

    def set_waiting_note(self, instance_id: str, note: str | None) -> None:
        notes = self.cache.notes
        if instance_id in notes and notes[instance_id] == (note or None):
            return  # already so
        notes.put(instance_id, note or None)
        if note:
            sql = "INSERT OR REPLACE INTO waiting_notes VALUES (?,?)"
            self.db.execute(sql, (instance_id, note))
        else:
            self.db.execute("DELETE FROM waiting_notes WHERE id=?", (instance_id,))

    # -- history ----------------------------------------------------------------------
    def _loaded(self, instance_id: str) -> History:
        cached = self.cache.histories.get(instance_id)
        if cached is None:
            rows = self.db.execute(
                "SELECT episode, events FROM history WHERE instance_id=? ORDER BY episode",
                (instance_id,),
            ).fetchall()
            cached = History(
                events=[ev for _, text in rows for ev in json.loads(text)],
                json=",".join(t[1:-1] for _, t in rows if t != "[]"),
                episode=rows[-1][0] if rows else 0,
            )
            self.cache.histories.put(instance_id, cached)
        return cached

    def history(self, instance_id: str) -> list[Event]:
        return list(self._loaded(instance_id).events)

    def history_json(self, instance_id: str) -> str:
        """The history as the items of a JSON array (compact), without re-encoding it: what
        an episode hands the worker grows by one episode's events each time."""
        return self._loaded(instance_id).json

    def append_history(
        self, instance_id: str, events: list[Event], text: str | None = None
    ) -> None:
        """`text`: the events as a compact JSON array, when the caller has encoded them."""
        cached = self._loaded(instance_id)
        cached.episode += 1
        text = text or json.dumps(events, separators=(",", ":"))
        self.db.execute("INSERT INTO history VALUES (?,?,?)", (instance_id, cached.episode, text))
        cached.events.extend(events)
        if events:
            cached.json = f"{cached.json},{text[1:-1]}" if cached.json else text[1:-1]

    def replace_history(self, instance_id: str, events: list[Event]) -> None:
        self.db.execute("DELETE FROM history WHERE instance_id=?", (instance_id,))
        self.cache.histories.put(instance_id, History(events=[], json="", episode=0))
        if events:
            self.append_history(instance_id, events)

    # -- inbox ------------------------------------------------------------------------
    def add_message(
        self, instance_id: str, event: Event, execution_id: str | None = None, visible_at: float = 0
    ) -> None:
        self.db.execute(
            "INSERT INTO inbox (instance_id, execution_id, visible_at, event) VALUES (?,?,?,?)",
            (instance_id, execution_id, visible_at, json.dumps(event, separators=(",", ":"))),
        )

    def messages(self, instance_id: str, now: float) -> list[InboxRow]:
        rows = self.db.execute(
            "SELECT * FROM inbox WHERE instance_id=? AND visible_at<=? ORDER BY id",
            (instance_id, now),
        )
        return [InboxRow(r[0], r[1], r[2], r[3], json.loads(r[4])) for r in rows]

    def delete_messages(self, ids: list[int]) -> None:
        self.db.executemany("DELETE FROM inbox WHERE id=?", [(i,) for i in ids])

    def delete_all_messages(self, instance_id: str) -> None:
        self.db.execute("DELETE FROM inbox WHERE instance_id=?", (instance_id,))

    def ready_instances(self, now: float) -> list[str]:
        rows = self.db.execute(
            "SELECT DISTINCT instance_id FROM inbox WHERE visible_at<=? ORDER BY id", (now,)
        )
        return [r[0] for r in rows]

    def future_messages(self, now: float) -> list[tuple[float, str]]:
        rows = self.db.execute(
            "SELECT visible_at, instance_id FROM inbox WHERE visible_at>?", (now,)
        )
        return [(r[0], r[1]) for r in rows]

    # -- activities -------------------------------------------------------------------
    def add_activity(
        self, instance_id: str, execution_id: str, task_id: int, name: str, input_: str | None
    ) -> ActivityRow:
        cur = self.db.execute(
            "INSERT INTO activities (instance_id, execution_id, task_id, name, input)"
            " VALUES (?,?,?,?,?)",
            (instance_id, execution_id, task_id, name, input_),
        )
        assert cur.lastrowid is not None
        return ActivityRow(cur.lastrowid, instance_id, execution_id, task_id, name, input_)

    def activities(self) -> list[ActivityRow]:
        return [ActivityRow(*r) for r in self.db.execute("SELECT * FROM activities ORDER BY id")]

    def delete_activity(self, row_id: int) -> bool:
        return self.db.execute("DELETE FROM activities WHERE id=?", (row_id,)).rowcount > 0

    def delete_activities_of(self, instance_id: str) -> None:
        self.db.execute("DELETE FROM activities WHERE instance_id=?", (instance_id,))

    # -- entities ---------------------------------------------------------------------
    def add_entity_message(self, target: str, message: dict[str, Any]) -> None:
        self.db.execute(
            "INSERT INTO entity_inbox (target, message) VALUES (?,?)",
            (target, json.dumps(message, separators=(",", ":"))),
        )

    def entity_messages(self, target: str, limit: int) -> list[tuple[int, dict[str, Any]]]:
        """The oldest `limit` messages for one entity, in the order they were sent."""
        rows = self.db.execute(
            "SELECT id, message FROM entity_inbox WHERE target=? ORDER BY id LIMIT ?",
            (target, limit),
        )
        return [(r[0], json.loads(r[1])) for r in rows]

    def delete_entity_messages(self, ids: list[int]) -> None:
        self.db.executemany("DELETE FROM entity_inbox WHERE id=?", [(i,) for i in ids])

    def entity_targets(self) -> list[str]:
        return [r[0] for r in self.db.execute("SELECT DISTINCT target FROM entity_inbox")]

    def entity(self, entity_id: str) -> EntityRow | None:
        row = self.db.execute("SELECT * FROM entities WHERE id=?", (entity_id,)).fetchone()
        return EntityRow(*row) if row else None

    def put_entity(self, row: EntityRow) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO entities VALUES (?,?,?,?,?)",
            (row.id, row.name, row.key, row.state, row.last_op),
        )

    def delete_entity(self, entity_id: str) -> None:
        self.db.execute("DELETE FROM entities WHERE id=?", (entity_id,))

    def query_entities(
        self, name: str | None, start: str | None = None, limit: int | None = None
    ) -> list[EntityRow]:
        """Entities (of one function) ordered by scheduler id, from id `start` on."""
        sql, args = "SELECT * FROM entities WHERE 1=1", []
        if name:
            sql += " AND name=?"
            args.append(name.lower())
        if start is not None:
            sql += " AND id >= ?"
            args.append(start)
        sql += " ORDER BY id LIMIT ?"
        args.append(-1 if limit is None else limit)
        return [EntityRow(*r) for r in self.db.execute(sql, args)]

    # -- timer triggers -----------------------------------------------------------------
    def timer_status(self, function: str) -> tuple[float | None, float, float | None] | None:
        """(last, next, last_updated) saved for a timer function, or None if never saved."""
        row = self.db.execute(
            "SELECT last, next, last_updated FROM schedule_status WHERE function=?", (function,)
        ).fetchone()
        return (row[0], row[1], row[2]) if row else None

    def put_timer_status(
        self, function: str, last: float | None, next_: float, last_updated: float | None
    ) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO schedule_status VALUES (?,?,?,?)",
            (function, last, next_, last_updated),
        )
