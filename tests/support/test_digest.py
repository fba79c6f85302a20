"""The hourly support digest, on the real app and the virtual clock: the chat hears what
waits for a person once, and again only when that changes."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta

import pytest

from scripts.localstack import WebhookSink
from tests.support.stack import SupportStack, support_stack


@pytest.fixture(scope="module")
def chat() -> Iterator[WebhookSink]:
    with WebhookSink() as sink:
        yield sink


@pytest.fixture(scope="module")
def digest_stack(
    tmp_path_factory: pytest.TempPathFactory, chat: WebhookSink
) -> Iterator[SupportStack]:
    with support_stack(
        tmp_path_factory.mktemp("digest"),
        seed=160,
        NOTIFY_WEBHOOK_URL=chat.url,
        NOTIFY_CONSOLE_URL="https://cw.example/api/support/console",
        RECONCILE_SCHEDULE="0 0 0 29 2 *",  # the clock moves hours here: no reconciliation
    ) as running:
        yield running


def _fail_one(stack: SupportStack) -> None:
    account = next(stack.plain)
    stack.sb.faults("d2c", path=r"/v1/customers$", method="POST", status=422, fail_next=1)
    assert stack.finished(stack.onboard(account["Id"]))["output"]["outcome"] == "failed"


def _digests(chat: WebhookSink, at_least: int, timeout: float = 15) -> list[dict]:
    deadline = time.monotonic() + timeout
    while True:
        found = [m for m in chat.received if m["crosswalk"]["kind"] == "support_digest"]
        if len(found) >= at_least or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def test_the_digest_is_sent_when_something_waits_and_again_only_when_it_changes(
    digest_stack: SupportStack, chat: WebhookSink
) -> None:
    _fail_one(digest_stack)

    digest_stack.host.advance(timedelta(hours=1))
    (first,) = _digests(chat, 1)
    digest_stack.host.advance(timedelta(hours=1))  # nothing new: no second message
    unchanged = _digests(chat, 2, timeout=2)
    _fail_one(digest_stack)
    digest_stack.host.advance(timedelta(hours=1))
    changed = _digests(chat, 2)

    assert first["crosswalk"]["attention"] == [
        {"kind": "failed", "count": 1, "text": "failed onboarding(s)", "page": "#/list/failed"}
    ]
    assert (
        "- 1 failed onboarding(s) (https://cw.example/api/support/console#/list/failed)"
        in (first["text"])
    )
    assert len(unchanged) == 1
    assert changed[-1]["crosswalk"]["attention"][0]["count"] == 2
