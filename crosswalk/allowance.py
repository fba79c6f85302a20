"""The allowance governor: one view of the org's daily Salesforce API allowance, kept current
from the `Sforce-Limit-Info: api-usage=N/M` header of every answer (REST and Bulk API 2.0
alike), so knowing it costs no call.

Salesforce counts calls over a rolling 24 hours and refuses them with REQUEST_LIMIT_EXCEEDED
once the allocation is spent; other integrations and people share it. Below the reserve
(SALESFORCE_API_RESERVE_PERCENT of the allocation) Crosswalk stops spending: a call is refused
here, before it leaves, with `AllowanceExhausted`, and the orchestrators wait on a durable
timer (SALESFORCE_ALLOWANCE_WAIT_SECONDS) instead of failing. Once a low reading is that old,
the next call first probes with one `/limits` request (its header is the new reading) and goes
out only if the allowance has come back: below the reserve Crosswalk spends at most one call
per wait and worker.

The view belongs to one process (one `SalesforceClient`); every worker keeps its own, fed by
its own calls.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from crosswalk.errors import AllowanceExhausted


@dataclass(frozen=True, slots=True)
class AllowanceReading:
    used: int
    max: int
    at: float  # epoch seconds of the answer it came from

    @property
    def remaining(self) -> int:
        return max(0, self.max - self.used)

    def spendable(self, reserve_percent: float) -> int:
        """Calls Crosswalk may still spend while the reserve stays for everyone else."""
        return max(0, self.remaining - math.ceil(self.max * reserve_percent / 100))


class AllowanceGovernor:
    def __init__(
        self,
        *,
        reserve_percent: float,
        wait_seconds: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.reserve_percent = reserve_percent
        self.wait_seconds = wait_seconds
        self._clock = clock
        self._reading: AllowanceReading | None = None
        self._lock = threading.Lock()

    def observe(self, used: int, maximum: int) -> None:
        """An answer's `Sforce-Limit-Info` (usage may exceed the maximum: a soft limit)."""
        with self._lock:
            self._reading = AllowanceReading(used=used, max=maximum, at=self._clock())

    def spent(self) -> None:
        """Salesforce refused a call: the allocation is gone as of now."""
        with self._lock:
            known = self._reading.max if self._reading else 0
            self._reading = AllowanceReading(used=known, max=known, at=self._clock())

    def reading(self) -> AllowanceReading | None:
        with self._lock:
            return self._reading

    def _low(self) -> tuple[AllowanceReading | None, float]:
        with self._lock:
            reading = self._reading
        if reading is None or reading.spendable(self.reserve_percent) > 0:
            return None, 0.0
        return reading, self._clock() - reading.at

    def needs_probe(self) -> bool:
        """The last reading was below the reserve and is old enough to ask again."""
        reading, age = self._low()
        return reading is not None and age >= self.wait_seconds

    def admit(self) -> None:
        """Let one call go out, or refuse it while the reading is below the reserve."""
        reading, age = self._low()
        if reading is not None:
            raise refusal(reading, self.reserve_percent, max(1.0, self.wait_seconds - age))


def refusal(
    reading: AllowanceReading | None, reserve_percent: float, wait_seconds: float
) -> AllowanceExhausted:
    left = f"{reading.remaining} of {reading.max}" if reading and reading.max else "none"
    return AllowanceExhausted(
        f"the org's daily API allowance is below the {reserve_percent:g}% reserve "
        f"({left} calls left in the last 24 hours); waiting for it to recover",
        system="salesforce",
        status=403,
        retry_after=wait_seconds,
    )


@dataclass(frozen=True, slots=True)
class ApiBudget:
    """The org's daily API allowance, as Salesforce's `/limits` reports it."""

    max: int
    remaining: int

    def spendable(self, reserve_percent: float) -> int:
        """Calls that may still be spent while `reserve_percent` of the day's allowance stays
        for everything else that uses the org (other integrations, people, Crosswalk's flows)."""
        return max(0, self.remaining - math.ceil(self.max * reserve_percent / 100))

    def as_dict(self) -> dict[str, int]:
        return {"max": self.max, "remaining": self.remaining}
