"""In-memory org data: one table per sObject, unique and parent->child indexes, undo log.

Records are plain dicts that are replaced, never mutated, on every change: a query's result
list keeps the rows as they were (what a query locator sees), and undo is just "put the old
dict back". One re-entrant lock guards the whole org; each REST call holds it while it runs.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from .schema import OBJECTS
from .sobject import SObjectType

Record = dict[str, Any]

# parent sObject -> (child sObject, lookup field): indexes for subqueries and cascade delete.
CHILD_INDEXES = {("Contact", "AccountId"): "Account"}


class Table:
    """Rows of one sObject by 18-char Id, plus unique-value indexes over live rows."""

    def __init__(self, sobject: SObjectType) -> None:
        self.type = sobject
        self.rows: dict[str, Record] = {}
        self.unique: dict[str, dict[str, str]] = {f: {} for f in sobject.unique_fields}

    def live(self, rid: str) -> Record | None:
        row = self.rows.get(rid)
        return row if row is not None and not row.get("IsDeleted") else None


@dataclass
class Change:
    """One committed row change, what a change event describes."""

    sobject: str
    record_id: str
    change_type: str  # CREATE UPDATE DELETE UNDELETE, GAP_<those>, GAP_OVERFLOW
    record: Record
    changed: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Actor:
    """Who makes a change: ``commitUser`` and ``changeOrigin`` of its events."""

    user_id: str
    change_origin: str = ""
    allow_save: bool = False  # Sforce-Duplicate-Rule-Header: allowSave=true


class Store:
    """All tables of the org and the lock that makes every call one transaction."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.tables: dict[str, Table] = {}
        self.children: dict[tuple[str, str], dict[str, set[str]]] = {}
        self.clear()

    def clear(self) -> None:
        self.tables = {name: Table(t) for name, t in OBJECTS.items()}
        self.children = {key: {} for key in CHILD_INDEXES}

    def table(self, name: str) -> Table:
        return self.tables[name]

    def state(self, sobject: str, rid: str) -> str | None:
        """``"live"``, ``"deleted"`` or None: what a lookup field may point at."""
        row = self.tables[sobject].rows.get(rid)
        if row is None:
            return None
        return "deleted" if row.get("IsDeleted") else "live"

    def find_unique(self, sobject: str, field_name: str, value: str) -> str | None:
        return self.tables[sobject].unique[field_name].get(value.lower())

    def put(self, sobject: str, rid: str, new: Record | None) -> Record | None:
        """Replace one row (None removes it) and keep every index right; returns the old row."""
        table = self.tables[sobject]
        old = table.rows.get(rid)
        old_live = old is not None and not old.get("IsDeleted")
        new_live = new is not None and not new.get("IsDeleted")
        for fname, index in table.unique.items():
            ov = old.get(fname) if old_live and old is not None else None
            nv = new.get(fname) if new_live and new is not None else None
            if ov is not None and index.get(ov.lower()) == rid:
                del index[ov.lower()]
            if nv is not None:
                index[nv.lower()] = rid
        for (child, fname), index in self.children.items():
            if child != sobject:
                continue
            ov = old.get(fname) if old is not None else None
            nv = new.get(fname) if new is not None else None
            if ov != nv:
                if ov is not None:
                    kids = index.get(ov)
                    if kids is not None:
                        kids.discard(rid)
                if nv is not None:
                    index.setdefault(nv, set()).add(rid)
            elif nv is not None and old is None:
                index.setdefault(nv, set()).add(rid)
        if new is None:
            table.rows.pop(rid, None)
        else:
            table.rows[rid] = new
        return old

    def child_ids(self, child: str, fname: str, parent_id: str) -> list[str]:
        return sorted(self.children[(child, fname)].get(parent_id, ()))


class Txn:
    """Undo log + change list of one call; roll back to any mark (composite, allOrNone)."""

    def __init__(self, store: Store, actor: Actor) -> None:
        self.store = store
        self.actor = actor
        self.undo: list[tuple[str, str, Record | None]] = []
        self.changes: list[Change] = []

    def put(self, sobject: str, rid: str, new: Record) -> None:
        old = self.store.put(sobject, rid, new)
        self.undo.append((sobject, rid, old))

    def record(self, change: Change) -> None:
        self.changes.append(change)

    def mark(self) -> tuple[int, int]:
        return len(self.undo), len(self.changes)

    def rollback_to(self, mark: tuple[int, int]) -> None:
        undo_len, change_len = mark
        while len(self.undo) > undo_len:
            sobject, rid, old = self.undo.pop()
            self.store.put(sobject, rid, old)
        del self.changes[change_len:]

    def rollback(self) -> None:
        self.rollback_to((0, 0))
