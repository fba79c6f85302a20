"""What every part of the host's dispatch shares, handed over as one object."""

from __future__ import annotations

from dataclasses import dataclass

from devhost.clock import Clock
from devhost.group_commit import GroupCommit
from devhost.index import FunctionIndex
from devhost.options import HostOptions
from devhost.stats import Stats
from devhost.store import Store
from devhost.workers import WorkerPool


@dataclass(frozen=True)
class HostParts:
    """One task hub (and its group commit), one worker pool, the app's function index, one
    clock, the host's options and its counters."""

    store: Store
    commits: GroupCommit
    pool: WorkerPool
    index: FunctionIndex
    clock: Clock
    options: HostOptions
    stats: Stats


class HostComponent:
    """A component of the host's dispatch (episodes, activities, entities, instances): the
    shared parts are its own attributes, taken here once, so its code says `self.store`."""

    def __init__(self, parts: HostParts) -> None:
        self.store = parts.store
        self.commits = parts.commits
        self.pool = parts.pool
        self.index = parts.index
        self.clock = parts.clock
        self.options = parts.options
        self.stats = parts.stats
