"""Where the relay is in each channel, and who may move it: one document per topic in the lake.

The document is written only with ETag conditions (`Lake.write_if`), so it doubles as a lease:
a relay that acquired it writes ``owner`` and ``leaseUntil``; another relay may take it only
after ``leaseUntil`` passed; a relay that finds the ETag changed under it has lost the lease
and stops before it publishes again. Also kept here for support: the last relayed commit time,
the last error, and catch-ups started because the checkpoint had aged out.
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from crosswalk.errors import PreconditionFailed
from crosswalk.lake.base import Lake

PREFIX = "relay/checkpoints/"
KEEP_CATCH_UPS = 10


def checkpoint_path(topic: str) -> str:
    """``/data/AccountChangeEvent`` -> ``relay/checkpoints/data-AccountChangeEvent.json``."""
    return PREFIX + re.sub(r"[^A-Za-z0-9_-]+", "-", topic.strip("/")) + ".json"


def _iso(ms: int | None) -> str | None:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat() if ms is not None else None


@dataclass
class Checkpoint:
    """One channel's position (the last replay id Event Grid accepted, or a keepalive's)."""

    topic: str
    replay_id: str | None = None  # hex of the opaque bytes
    last_commit_ms: int | None = None  # commit time of the last relayed event
    saved_ms: int | None = None
    owner: str | None = None
    lease_until_ms: int = 0
    relayed: int = 0
    dead_lettered: int = 0
    last_lag_ms: int | None = None  # commit -> Event Grid accepted, of the last batch
    last_error: dict[str, Any] | None = None
    catch_ups: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "topic": self.topic,
            "replayId": self.replay_id,
            "lastCommitMs": self.last_commit_ms,
            "lastCommitAt": _iso(self.last_commit_ms),
            "savedMs": self.saved_ms,
            "savedAt": _iso(self.saved_ms),
            "owner": self.owner,
            "leaseUntilMs": self.lease_until_ms,
            "relayed": self.relayed,
            "lastLagMs": self.last_lag_ms,
            "deadLettered": self.dead_lettered,
            "lastError": self.last_error,
            "catchUps": self.catch_ups[-KEEP_CATCH_UPS:],
        }

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> Checkpoint:
        return cls(
            topic=str(doc["topic"]),
            replay_id=doc.get("replayId"),
            last_commit_ms=doc.get("lastCommitMs"),
            saved_ms=doc.get("savedMs"),
            owner=doc.get("owner"),
            lease_until_ms=int(doc.get("leaseUntilMs") or 0),
            relayed=int(doc.get("relayed") or 0),
            dead_lettered=int(doc.get("deadLettered") or 0),
            last_lag_ms=doc.get("lastLagMs"),
            last_error=doc.get("lastError"),
            catch_ups=list(doc.get("catchUps") or []),
        )


class LeaseLost(Exception):
    """Another relay holds or took the channel: stop without publishing."""


def wall_ms() -> int:
    return time.time_ns() // 1_000_000


class Lease:
    """This relay's hold on one channel's checkpoint; every write renews it."""

    def __init__(
        self,
        lake: Lake,
        checkpoint: Checkpoint,
        etag: str,
        *,
        lease_ms: int,
        now: Callable[[], int] = wall_ms,
    ) -> None:
        self.lake = lake
        self.checkpoint = checkpoint
        self._etag = etag
        self._lease_ms = lease_ms
        self._now = now

    @classmethod
    def acquire(
        cls,
        lake: Lake,
        topic: str,
        owner: str,
        *,
        lease_seconds: float,
        now: Callable[[], int] = wall_ms,
    ) -> Lease | None:
        """Take the channel unless another owner's lease is still running (None then)."""
        path = checkpoint_path(topic)
        found = lake.read_tagged(path)
        checkpoint = Checkpoint.from_json(found[0]) if found else Checkpoint(topic)
        current = now()
        if found and checkpoint.owner not in (None, owner) and checkpoint.lease_until_ms > current:
            return None
        checkpoint.owner = owner
        checkpoint.lease_until_ms = current + int(lease_seconds * 1000)
        try:
            etag = lake.write_if(path, checkpoint.to_json(), found[1] if found else None)
        except PreconditionFailed:
            return None  # another relay acquired it between our read and write
        return cls(lake, checkpoint, etag, lease_ms=int(lease_seconds * 1000), now=now)

    def _write(self) -> None:
        current = self._now()
        self.checkpoint.saved_ms = current
        self.checkpoint.lease_until_ms = current + self._lease_ms
        try:
            self._etag = self.lake.write_if(
                checkpoint_path(self.checkpoint.topic), self.checkpoint.to_json(), self._etag
            )
        except PreconditionFailed as exc:
            raise LeaseLost(f"{self.checkpoint.topic}: another relay took the checkpoint") from exc

    def ensure(self, margin_ms: int) -> None:
        """Before publishing: renew unless ``margin_ms`` of the lease is left (LeaseLost when
        another relay took it)."""
        if self.checkpoint.lease_until_ms - self._now() < margin_ms:
            self._write()

    def advance(
        self, replay_id: bytes, *, commit_ms: int | None = None, relayed: int = 0, dead: int = 0
    ) -> None:
        """Move the position past what Event Grid accepted (or a keepalive's id)."""
        self.checkpoint.replay_id = replay_id.hex()
        if commit_ms is not None:
            self.checkpoint.last_commit_ms = max(commit_ms, self.checkpoint.last_commit_ms or 0)
            self.checkpoint.last_lag_ms = max(0, self._now() - commit_ms)
        self.checkpoint.relayed += relayed
        self.checkpoint.dead_lettered += dead
        if relayed or dead:
            self.checkpoint.last_error = None
        self._write()

    def record_error(self, kind: str, message: str) -> None:
        self.checkpoint.last_error = {
            "kind": kind,
            "message": message[:500],
            "at": _iso(self._now()),
        }
        self._write()

    def restart_at_latest(self, since_ms: int | None, reason: str) -> None:
        """The checkpoint aged out: forget it and note the catch-up support should see."""
        self.checkpoint.replay_id = None
        self.checkpoint.catch_ups.append(
            {"at": _iso(self._now()), "since": _iso(since_ms), "reason": reason}
        )
        self._write()

    def release(self) -> None:
        """End of the session: let the next relay take the channel at once."""
        self.checkpoint.owner = None
        current = self._now()
        self.checkpoint.saved_ms = current
        self.checkpoint.lease_until_ms = 0
        with contextlib.suppress(PreconditionFailed):  # already someone else's
            self._etag = self.lake.write_if(
                checkpoint_path(self.checkpoint.topic), self.checkpoint.to_json(), self._etag
            )


def read_checkpoints(lake: Lake) -> list[Checkpoint]:
    """Every channel's checkpoint (support health)."""
    out = []
    for path in lake.list(PREFIX):
        if not path.endswith(".json"):
            continue
        found = lake.read_tagged(path)
        if found:
            out.append(Checkpoint.from_json(found[0]))
    return out


def relay_health(lake: Lake, now_ms: int, stale_after_s: float = 600) -> list[dict[str, Any]]:
    """The relay's state per channel for support: last checkpoint and its age, lag, totals,
    last error, and the latest catch-up; ``stale`` when no relay moved it for a while."""
    out = []
    for c in read_checkpoints(lake):
        age = (now_ms - c.saved_ms) / 1000 if c.saved_ms is not None else None
        out.append(
            {
                "topic": c.topic,
                "lastCheckpointAt": _iso(c.saved_ms),
                "checkpointAgeSeconds": None if age is None else round(age, 1),
                "stale": age is None or age > stale_after_s,
                "lagMs": c.last_lag_ms,
                "lastCommitAt": _iso(c.last_commit_ms),
                "relayed": c.relayed,
                "deadLettered": c.dead_lettered,
                "lastError": c.last_error,
                "lastCatchUp": c.catch_ups[-1] if c.catch_ups else None,
            }
        )
    return out
