"""Custom status stays within the Durable extension's 16 KB (UTF-16) limit."""

from __future__ import annotations

from crosswalk.bounded import CUSTOM_STATUS_BUDGET, utf16_size, within
from devhost.limits import check_custom_status
from orchestrators.steps import custom_status


def test_a_small_status_is_left_as_it_is():
    status = custom_status("onboarding", step="d2c_create_customer")

    assert within(status) is status
    assert status == {
        "stage": "onboarding",
        "step": "d2c_create_customer",
        "waiting_for": None,
        "reasons": [],
        "error": None,
    }


def test_thousands_of_validation_problems_and_a_long_ledger_fit_and_say_what_was_cut():
    problems = [
        f"Contact {n}: Email 'not-an-email-{n}' is not an email address" for n in range(3000)
    ]
    ledger = {
        "compensated": [{"step": "d2c_remove_user"}] * 40,
        "compensation_failed": [
            {"step": "d2c_deactivate_customer", "attempts": 5, "detail": "x" * 5000}
        ]
        * 30,
        "pending": [],
    }
    error = {"step": "map", "kind": "permanent", "detail": "validation failed"}

    status = custom_status("failed", step="map", reasons=problems, error=error, ledger=ledger)

    assert utf16_size(status) <= CUSTOM_STATUS_BUDGET
    check_custom_status(status)  # devhost, holding the extension's limit, accepts it
    assert (status["stage"], status["step"], status["error"]) == ("failed", "map", error)
    assert status["reasons"][0] == problems[0]
    assert status["reasons"][-1].startswith("… and ") and status["reasons"][-1].endswith(" more")


def test_characters_outside_the_basic_plane_count_twice_as_the_extension_counts_them():
    assert utf16_size("😀") == utf16_size("ab")  # one character, two UTF-16 code units
    assert utf16_size(["😀" * 5000]) > CUSTOM_STATUS_BUDGET
    assert utf16_size(within(["😀" * 5000])) <= CUSTOM_STATUS_BUDGET
