"""The health summary's words: what needs a person, worst first, and when that changed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from crosswalk.models import ReconciliationReport
from crosswalk.notifications import digest_body
from crosswalk.support.health import allowance_waiting, attention, count_states, fingerprint

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def state(status: str, hours_ago: float) -> dict:
    at = (NOW - timedelta(hours=hours_ago)).isoformat()
    return {"status": status, "transitions": [{"to": status, "at": at}]}


def test_states_are_counted_and_long_unmoved_onboardings_are_stale():
    states = [state("synced", 1), state("onboarding", 30), state("onboarding", 1), {}]

    counts = count_states(states, stale_before=NOW - timedelta(hours=24))

    assert counts == {"synced": 1, "onboarding": 2, "new": 1, "stale": 1}


def test_attention_puts_undo_failures_first_and_leaves_out_what_is_fine():
    run = ReconciliationReport(run_id="r1", started_at=NOW, status="completed", failed=2)

    items = attention({"needs_attention": 1, "failed": 3, "synced": 90}, 2, run)

    assert [(i["kind"], i["count"]) for i in items] == [
        ("needs_attention", 1),
        ("approvals_overdue", 2),
        ("failed", 3),
        ("reconciliation", 2),
    ]
    assert attention({"synced": 90}, 0, None) == []


def test_the_fingerprint_changes_only_with_what_needs_attention():
    one = attention({"failed": 3}, 0, None)

    assert fingerprint(one) == fingerprint(attention({"failed": 3, "synced": 7}, 0, None))
    assert fingerprint(one) != fingerprint(attention({"failed": 4}, 0, None))


def test_the_digest_links_each_line_into_the_console():
    body = digest_body(attention({"failed": 3}, 1, None), "https://cw.example/api/support/console/")

    assert body["text"].splitlines() == [
        "**Crosswalk: waiting for a person**",
        "- 1 approval(s) past their SLA (https://cw.example/api/support/console#/approvals)",
        "- 3 failed onboarding(s) (https://cw.example/api/support/console#/list/failed)",
    ]
    assert body["crosswalk"]["kind"] == "support_digest"


def test_workflows_waiting_for_the_salesforce_allowance_are_counted_and_named():
    running = [
        {"customStatus": {"stage": "onboarding", "waiting_for": "salesforce_allowance"}},
        {"customStatus": {"stage": "awaiting_approval", "waiting_for": "approval"}},
        {"customStatus": "free text"},
        {},
    ]

    waits = allowance_waiting(running)
    items = attention({}, 0, None, allowance_waits=waits)

    assert waits == 1
    assert [(i["kind"], i["count"], i["page"]) for i in items] == [
        ("salesforce_allowance", 1, "#/")
    ]
    assert "SALESFORCE_API_RESERVE_PERCENT" in items[0]["text"]
