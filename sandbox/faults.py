"""Fault injection rules shared by both stand-ins: latency, error statuses, dropped connections.

Rules are matched in the order added; latency adds up, the first rule that decides to fail
wins. Random choices come from a generator seeded with the sandbox seed, so a test run fails
the same calls every time.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import re
import threading
from dataclasses import dataclass, field
from typing import Any

_KNOWN = {
    "path",
    "method",
    "latency",
    "status",
    "rate",
    "errors",
    "fail_next",
    "drop",
    "limit_exceeded",
}


@dataclass
class FaultRule:
    """One rule; ``remaining`` counts down "fail the next N calls" and removes the rule at 0."""

    id: str
    path: re.Pattern[str] | None = None
    method: str | None = None
    latency: float = 0.0
    errors: dict[int, float] = field(default_factory=dict)
    remaining: int | None = None
    drop: bool = False
    limit_exceeded: bool = False
    hits: int = 0

    def matches(self, method: str, path: str) -> bool:
        if self.method is not None and self.method != method:
            return False
        return self.path is None or self.path.search(path) is not None

    def describe(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "path": self.path.pattern if self.path else None,
            "method": self.method,
            "latency": self.latency,
            "errors": {str(k): v for k, v in self.errors.items()},
            "fail_next": self.remaining,
            "drop": self.drop,
            "limit_exceeded": self.limit_exceeded,
            "hits": self.hits,
        }


@dataclass(frozen=True)
class Decision:
    """What to do to one call: wait ``latency`` seconds, then maybe fail it."""

    latency: float = 0.0
    status: int | None = None
    drop: bool = False
    limit_exceeded: bool = False

    @property
    def fails(self) -> bool:
        return self.drop or self.limit_exceeded or self.status is not None


def parse_rule(spec: dict[str, Any], rule_id: str) -> FaultRule:
    """Build a rule from keyword/JSON form; unknown keys are an error, not ignored."""
    unknown = set(spec) - _KNOWN
    if unknown:
        raise ValueError(f"unknown fault option(s): {', '.join(sorted(unknown))}")
    errors: dict[int, float] = {int(k): float(v) for k, v in (spec.get("errors") or {}).items()}
    if spec.get("status") is not None:
        errors[int(spec["status"])] = float(spec.get("rate", 1.0))
    fail_next = spec.get("fail_next")
    drop = bool(spec.get("drop", False))
    limit = bool(spec.get("limit_exceeded", False))
    latency = float(spec.get("latency") or 0.0)
    if fail_next is not None and not (errors or drop or limit or latency):
        errors[503] = 1.0  # "fail the next N calls" with nothing else said: unavailable
    if not (errors or drop or limit or latency):
        raise ValueError("a fault needs latency, status/errors, drop or limit_exceeded")
    total = sum(errors.values())
    if any(p < 0 for p in errors.values()) or total > 1.0 + 1e-9:
        raise ValueError("error rates must be >= 0 and add up to at most 1")
    for status in errors:
        if not 400 <= status <= 599:
            raise ValueError(f"fault status must be 4xx or 5xx, got {status}")
    path = spec.get("path")
    method = spec.get("method")
    return FaultRule(
        id=rule_id,
        path=re.compile(path) if path else None,
        method=method.upper() if method else None,
        latency=latency,
        errors=errors,
        remaining=int(fail_next) if fail_next is not None else None,
        drop=drop,
        limit_exceeded=limit,
    )


class Faults:
    """The active rules of one stand-in."""

    def __init__(self, service: str, seed: int) -> None:
        self._service = service
        self._seed = seed
        self._rules: list[FaultRule] = []
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._rng = random.Random(f"{seed}:{service}:faults")

    def add(self, spec: dict[str, Any]) -> FaultRule:
        rule = parse_rule(spec, f"{self._service}-fault-{next(self._ids)}")
        with self._lock:
            self._rules.append(rule)
        return rule

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()
            self._rng = random.Random(f"{self._seed}:{self._service}:faults")

    def list(self) -> list[dict[str, Any]]:
        with self._lock:
            return [r.describe() for r in self._rules]

    def decide(self, method: str, path: str) -> Decision | None:
        """Consult the rules for one call; ``None`` when no rule applies (the fast path)."""
        if not self._rules:
            return None
        latency = 0.0
        outcome: Decision | None = None
        with self._lock:
            for rule in list(self._rules):
                if not rule.matches(method, path):
                    continue
                rule.hits += 1
                if rule.remaining is not None:
                    rule.remaining -= 1
                    if rule.remaining <= 0:
                        self._rules.remove(rule)
                latency += rule.latency
                if outcome is not None:
                    continue
                if rule.drop:
                    outcome = Decision(drop=True)
                elif rule.limit_exceeded:
                    outcome = Decision(limit_exceeded=True)
                elif rule.errors:
                    roll = self._rng.random()
                    acc = 0.0
                    for status, p in rule.errors.items():
                        acc += p
                        if roll < acc:
                            outcome = Decision(status=status)
                            break
        if outcome is None:
            return Decision(latency=latency) if latency else None
        return Decision(
            latency=latency,
            status=outcome.status,
            drop=outcome.drop,
            limit_exceeded=outcome.limit_exceeded,
        )


async def delay_or_drop(decision: Decision, request: Any, stats: Any) -> Any | None:
    """The transport part of a fault, the same for both services: wait, then maybe drop.

    Returns the response to send for a dropped connection (its socket is already closed), or
    None when the call goes on to the service's own error or handler.
    """
    from aiohttp import web

    if decision.latency:
        await asyncio.sleep(decision.latency)
    if not decision.drop:
        return None
    stats.count_fault("drop")
    if request.transport is not None:
        request.transport.close()
    return web.Response(status=500)
