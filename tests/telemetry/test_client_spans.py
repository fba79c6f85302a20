"""Crosswalk's sessions make their client spans themselves, exactly as the requests
instrumentation makes them for any other session (crosswalk/telemetry/client_spans.py)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests
from opentelemetry.trace import SpanKind, StatusCode
from opentelemetry.util.http import redact_url

from crosswalk.clients.http import make_session
from crosswalk.telemetry import client_spans, traced_activity


@pytest.fixture
def echo_server() -> Iterator[tuple[str, list[str]]]:
    """A real HTTP server on a free port: 200, or 503 under /down; keeps each traceparent."""
    traceparents: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            traceparents.append(self.headers.get("traceparent", ""))
            self.send_response(503 if self.path.startswith("/down") else 200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_GET = do_POST = do_PATCH = _answer

        def log_message(self, format: str, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", traceparents
    server.shutdown()
    server.server_close()


def _calls(session: requests.Session, base: str) -> None:
    session.get(f"{base}/services/data/v59.0/query?q=SELECT+Id", timeout=5)
    session.post(f"{base.replace('//', '//user:pw@')}/customers", json={"a": 1}, timeout=5)
    session.patch(f"{base}/down/users/7?sig=secret-signature", json={}, timeout=5)


def _shape(span: Any) -> tuple[Any, ...]:
    attributes = {k: v for k, v in span.attributes.items() if k != "crosswalk.system"}
    return span.name, span.kind, attributes, span.status.status_code, span.parent.span_id


def test_a_crosswalk_session_makes_the_span_the_instrumentation_makes_and_only_one(
    telemetry, echo_server
):
    base, _ = echo_server

    def step(payload: dict) -> dict:
        _calls(requests.Session(), base)  # any other session: the requests instrumentation
        _calls(make_session(system="d2c"), base)  # Crosswalk's: client_spans.py
        return {}

    traced_activity(step, "payload")(payload={"account_id": "001"})

    clients = [s for s in telemetry.spans() if s.kind is SpanKind.CLIENT]
    by_instrumentation, by_crosswalk = clients[:3], clients[3:]
    assert len(by_crosswalk) == 3  # one span per call, not one from each
    assert [s.instrumentation_scope.name for s in by_instrumentation] == [
        "opentelemetry.instrumentation.requests"
    ] * 3
    assert [_shape(s) for s in by_crosswalk] == [_shape(s) for s in by_instrumentation]
    assert {s.attributes["crosswalk.system"] for s in by_crosswalk} == {"d2c"}
    get, post, patch = by_crosswalk
    assert get.attributes["http.status_code"] == 200
    assert "user:pw" not in post.attributes["http.url"]
    assert "secret-signature" not in patch.attributes["http.url"]
    assert patch.status.status_code is StatusCode.ERROR  # a 503


def test_a_crosswalk_session_hands_its_span_to_the_server_as_traceparent(telemetry, echo_server):
    base, traceparents = echo_server

    def step(payload: dict) -> dict:
        make_session(system="salesforce").get(f"{base}/services/data", timeout=5)
        return {}

    traced_activity(step, "payload")(payload={"account_id": "001"})

    (client,) = [s for s in telemetry.spans() if s.kind is SpanKind.CLIENT]
    context = client.context
    (sent,) = traceparents
    assert sent.startswith(f"00-{context.trace_id:032x}-{context.span_id:016x}-")


def test_a_failed_call_is_an_error_span_with_the_exception(telemetry):
    def step(payload: dict) -> dict:
        make_session(system="d2c").get("http://127.0.0.1:1/refused", timeout=5)
        return {}

    with pytest.raises(requests.ConnectionError):
        traced_activity(step, "payload")(payload={"account_id": "001"})

    (client,) = [s for s in telemetry.spans() if s.kind is SpanKind.CLIENT]
    assert client.status.status_code is StatusCode.ERROR
    assert [event.name for event in client.events] == ["exception"]
    assert client.attributes["crosswalk.system"] == "d2c"


@pytest.mark.parametrize(
    "url",
    [
        "https://org.my.salesforce.com/services/data/v66.0/sobjects/Account/001Qy00000abcDEF",
        "https://org.my.salesforce.com/services/data/v66.0/query?q=SELECT+Id+FROM+Account"
        "+WHERE+Id+%3D+%27001Qy00000abcDEF%27",
        "https://lake.blob.core.windows.net/raw/a.jsonl?sv=2024-05-04&se=2026-12-07&sig=c2VjcmV0",
        "https://lake.blob.core.windows.net/raw/a.jsonl?%73ig=c2VjcmV0",
        "https://lake.blob.core.windows.net/raw/a.jsonl?X-Goog-Signature=abc#part",
        "https://s3.example.com/b?AWSAccessKeyId=AKIA&Signature=abc&Expires=1",
        "https://user:secret@d2c.example.com/v1/customers?limit=5",
        "https://d2c.example.com/v1/customers?sig+=x&a=b",
        "https://d2c.example.com/v1/customers?limit=5&cursor=abc#frag",
    ],
)
def test_a_client_spans_url_is_redacted_exactly_as_the_instrumentation_redacts_it(url: str):
    assert client_spans.span_url(url, "d2c") == redact_url(url)
