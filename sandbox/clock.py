"""One clock for both stand-ins: milliseconds that never go backwards, with a test offset.

Salesforce modstamps and D2C ``updated_at`` drive watermarks and cursors, so a system clock
step backwards must not reorder them; ``advance`` lets tests expire tokens without sleeping.
"""

from __future__ import annotations

import threading
import time


class Clock:
    """Wall-clock milliseconds, non-decreasing, shiftable forward for tests."""

    def __init__(self) -> None:
        self._last = 0
        self._offset_ms = 0
        self._lock = threading.Lock()

    def now_ms(self) -> int:
        t = time.time_ns() // 1_000_000 + self._offset_ms
        with self._lock:
            if t < self._last:
                t = self._last
            self._last = t
        return t

    def advance(self, seconds: float) -> None:
        """Move the clock forward (token expiry, date literals) without sleeping."""
        with self._lock:
            self._offset_ms += int(seconds * 1000)


def sf_datetime(ms: int) -> str:
    """Salesforce REST datetime: ``2024-05-01T10:30:00.000+0000``."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000)) + f".{ms % 1000:03d}+0000"


def sf_stamp(ms: int) -> str:
    """An audit stamp (CreatedDate, LastModifiedDate, SystemModstamp): whole seconds, as
    Salesforce keeps them (docs/sandbox.md, "Audit stamps are whole seconds")."""
    return sf_datetime(ms - ms % 1000)


def iso_z(ms: int) -> str:
    """RFC 3339 UTC with milliseconds: ``2024-05-01T10:30:00.000Z`` (CDC JSON, D2C)."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000)) + f".{ms % 1000:03d}Z"


def sf_to_iso_z(value: str) -> str:
    """``2024-05-01T10:30:00.000+0000`` -> ``2024-05-01T10:30:00.000Z``."""
    return value[:23] + "Z"
