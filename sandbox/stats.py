"""Call counters per endpoint template, so tests and benchmarks can report API calls per record."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any


class Stats:
    """Counts calls by ``"METHOD /template"``; control-path calls are never counted."""

    def __init__(self) -> None:
        self._calls: Counter[str] = Counter()
        self._faults: Counter[str] = Counter()
        self._lock = threading.Lock()

    def count(self, key: str) -> None:
        with self._lock:
            self._calls[key] += 1

    def count_fault(self, kind: str) -> None:
        with self._lock:
            self._faults[kind] += 1

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "total": sum(self._calls.values()),
                "calls": dict(sorted(self._calls.items())),
                "faults_injected": dict(sorted(self._faults.items())),
            }

    def clear(self) -> None:
        with self._lock:
            self._calls.clear()
            self._faults.clear()
