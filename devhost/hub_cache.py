"""The store's memory of its own rows: instances, waiting notes and histories, bounded.

The store is the task hub's only writer, so what it wrote it can answer from memory: an
episode reads its instance twice and its waiting note once, and hands the worker the whole
history, kept here as events and as JSON. Every entry is written through to SQLite in the
same transaction, so forgetting one is always safe (the next read loads it again); that is
what keeps the host's memory flat however many instances it has run:

- at most `instances` instance rows and waiting notes and `histories` histories, the oldest
  forgotten first;
- the history of an instance that finished is forgotten once that is committed (a status
  with its history reads it from SQLite);
- after a rollback, everything (the caches may hold writes that never happened).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Generic, TypeVar

from devhost.history import Event
from devhost.rows import Instance

K = TypeVar("K")
V = TypeVar("V")


class Bounded(Generic[K, V]):
    """A dict of at most `limit` entries that forgets the oldest first."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._items: OrderedDict[K, V] = OrderedDict()

    def __contains__(self, key: K) -> bool:
        return key in self._items

    def __getitem__(self, key: K) -> V:
        return self._items[key]

    def __len__(self) -> int:
        return len(self._items)

    def get(self, key: K) -> V | None:
        return self._items.get(key)

    def put(self, key: K, value: V) -> None:
        items = self._items
        if key not in items and len(items) >= self.limit:
            items.popitem(last=False)
        items[key] = value

    def pop(self, key: K) -> None:
        self._items.pop(key, None)

    def clear(self) -> None:
        self._items.clear()


@dataclass
class History:
    events: list[Event]
    json: str  # the same events as the items of a compact JSON array, comma-joined
    episode: int  # the last episode row written


class HubCache:
    def __init__(self, instances: int = 4_096, histories: int = 2_048) -> None:
        self.instances: Bounded[str, Instance | None] = Bounded(instances)  # None: no such
        self.notes: Bounded[str, str | None] = Bounded(instances)
        self.histories: Bounded[str, History] = Bounded(histories)
        self._finished: set[str] = set()

    def finished(self, instance_id: str) -> None:
        """The instance reached a final status in the transaction under way."""
        self._finished.add(instance_id)

    def committed(self) -> None:
        for instance_id in self._finished:
            self.histories.pop(instance_id)
        self._finished.clear()

    def rolled_back(self) -> None:
        self.instances.clear()
        self.notes.clear()
        self.histories.clear()
        self._finished.clear()
