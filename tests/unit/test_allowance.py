"""The allowance governor's view: fed by answers, holding calls back below the reserve."""

from __future__ import annotations

import pytest

from crosswalk.allowance import AllowanceGovernor
from crosswalk.errors import AllowanceExhausted


def _governor(now: list[float]) -> AllowanceGovernor:
    return AllowanceGovernor(reserve_percent=10, wait_seconds=900, clock=lambda: now[0])


def test_without_a_reading_every_call_goes_out():
    governor = _governor([0.0])

    governor.admit()

    assert governor.reading() is None and not governor.needs_probe()


def test_a_reading_inside_the_reserve_holds_calls_back_until_it_is_old_enough_to_probe():
    now = [1000.0]
    governor = _governor(now)
    governor.observe(used=90_000, maximum=100_000)  # 10,000 left: all of it the reserve

    with pytest.raises(AllowanceExhausted) as held:
        governor.admit()
    now[0] += 900

    assert held.value.retry_after == 900 and "10000 of 100000" in held.value.detail
    assert governor.needs_probe()


def test_a_reading_above_the_reserve_lets_calls_out_and_usage_over_the_maximum_is_kept():
    governor = _governor([0.0])
    governor.observe(used=89_999, maximum=100_000)
    governor.admit()
    governor.observe(used=110_018, maximum=100_000)  # Salesforce's limit is a soft one

    assert governor.reading().remaining == 0
    with pytest.raises(AllowanceExhausted):
        governor.admit()


def test_a_refused_call_means_the_allowance_is_spent_as_of_now():
    now = [50.0]
    governor = _governor(now)
    governor.observe(used=10, maximum=15_000)

    governor.spent()

    reading = governor.reading()
    assert (reading.used, reading.max, reading.at) == (15_000, 15_000, 50.0)
