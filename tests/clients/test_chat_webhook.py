"""The chat webhook client against a real local HTTP endpoint: delivery and error taxonomy,
with the webhook's secret URL kept out of every error."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from crosswalk.clients.chat import ChatWebhook
from crosswalk.errors import PermanentError, TransientError
from crosswalk.settings import NotifySettings

SECRET = "sig=very-secret-token"


class Endpoint:
    """Answers every POST with `status` and keeps the JSON bodies."""

    def __init__(self) -> None:
        self.status = 200
        self.bodies: list[dict[str, Any]] = []
        endpoint = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                endpoint.bodies.append(json.loads(self.rfile.read(length)))
                self.send_response(endpoint.status)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook?{SECRET}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def endpoint() -> Iterator[Endpoint]:
    running = Endpoint()
    yield running
    running.server.shutdown()
    running.server.server_close()


def chat(url: str | None) -> ChatWebhook:
    return ChatWebhook(NotifySettings.model_validate({"webhook_url": url, "timeout_seconds": 2}))


def test_a_message_is_posted_as_json(endpoint: Endpoint) -> None:
    chat(endpoint.url).post({"text": "Approval needed"})

    assert endpoint.bodies == [{"text": "Approval needed"}]


@pytest.mark.parametrize(
    ("status", "kind"),
    [(503, TransientError), (429, TransientError), (404, PermanentError), (400, PermanentError)],
)
def test_failures_are_classified_and_never_show_the_url(
    endpoint: Endpoint, status: int, kind: type[Exception]
) -> None:
    endpoint.status = status

    with pytest.raises(kind) as raised:
        chat(endpoint.url).post({"text": "x"})

    assert str(status) in str(raised.value) and SECRET not in str(raised.value)


def test_an_unreachable_webhook_is_transient_and_never_shows_the_url() -> None:
    with pytest.raises(TransientError) as raised:
        chat(f"http://127.0.0.1:9/hook?{SECRET}").post({"text": "x"})

    assert SECRET not in str(raised.value)


def test_without_a_webhook_nothing_is_sent() -> None:
    quiet = chat(None)

    quiet.post({"text": "x"})

    assert not quiet.configured
