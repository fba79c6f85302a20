"""Notification messages: what people read in chat, and what they never read there."""

from __future__ import annotations

from crosswalk.notifications import Notification, NotificationKind

ACCOUNT = "001000000000001AAA"


def test_an_approval_request_names_the_account_the_reasons_and_links_the_console():
    note = Notification.from_payload(
        {
            "kind": "approval_requested",
            "account_id": ACCOUNT,
            "instance_id": "onboard-001000000000001AAA-20261127T000000000Z",
            "account_name": "Acme GmbH",
            "reasons": [{"code": "credit_limit", "message": "credit limit 300000 > 250000"}],
            "deadline": "2026-11-30T00:00:00+00:00",
        }
    )

    body = note.chat_body("https://crosswalk.example/api/support/console/")

    assert body["text"].startswith("**Approval needed**: Account Acme GmbH (001000000000001AAA)")
    assert "Why: credit limit 300000 > 250000" in body["text"]
    assert "Decide before 2026-11-30T00:00:00+00:00" in body["text"]
    assert body["text"].endswith(
        "Open: https://crosswalk.example/api/support/console#/record/001000000000001AAA"
    )
    assert body["crosswalk"]["kind"] == "approval_requested"
    assert body["crosswalk"]["reasons"] == ["credit limit 300000 > 250000"]


def test_without_a_console_address_there_is_no_link():
    note = Notification(NotificationKind.NEEDS_ATTENTION, ACCOUNT, "i-1", detail="D2C 503")

    assert "Open:" not in note.text(None) and "D2C 503" in note.text(None)
