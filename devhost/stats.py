"""Counters the benchmark reads off a running host."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Stats:
    """Activity dispatch latency is queue -> worker start."""

    episodes: int = 0
    activities: int = 0
    replay_seconds: float = 0.0  # waiting on workers for orchestrator replays
    activity_seconds: float = 0.0  # waiting on workers for activities
    commit_seconds: float = 0.0  # host-side: simulation + SQLite transactions
    groups: int = 0  # group commits (episodes and activity results sharing a transaction)
    dispatch_latency: list[float] = field(default_factory=list)
