"""Counters the benchmark reads off a running host."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

LATENCIES_KEPT = 100_000  # the most recent; a long-running host's memory stays flat


@dataclass
class Stats:
    """Activity dispatch latency is queue -> worker start."""

    episodes: int = 0
    activities: int = 0
    replay_seconds: float = 0.0  # waiting on workers for orchestrator replays
    activity_seconds: float = 0.0  # waiting on workers for activities
    commit_seconds: float = 0.0  # host-side: simulation + SQLite transactions
    groups: int = 0  # group commits (episodes and activity results sharing a transaction)
    dispatch_latency: deque[float] = field(default_factory=lambda: deque(maxlen=LATENCIES_KEPT))
