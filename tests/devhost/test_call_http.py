"""`call_http` through the SDK, unmodified: devhost makes the request itself (the host's
built-in HTTP activity), polls 202s, and fails the task for what cannot be done locally."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from tests.devhost.test_durable import start

APP = "durable"


class Remote:
    """A real HTTP service for the orchestrator to call; it remembers what it was sent."""

    def __init__(self) -> None:
        self.seen: list[dict[str, Any]] = []
        self.polls = 0
        remote = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode() if length else None
                remote.seen.append(
                    {
                        "method": self.command,
                        "path": self.path,
                        "body": body,
                        "x-trace": self.headers.get("X-Trace"),
                    }
                )
                if self.path == "/job":  # long-running: accepted, poll the status
                    self._reply(202, "", {"Location": "/job/status", "Retry-After": "0"})
                elif self.path == "/job/status":
                    remote.polls += 1
                    done = remote.polls >= 3
                    self._reply(
                        200 if done else 202,
                        '{"done": true}' if done else "",
                        {} if done else {"Location": "/job/status", "Retry-After": "0"},
                    )
                else:
                    self._reply(201, json.dumps({"echo": body}), {"X-Multi": "a"})

            def _reply(self, status: int, text: str, headers: dict[str, str]) -> None:
                data = text.encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in headers.items():
                    self.send_header(name, value)
                if status == 201:
                    self.send_header("X-Multi", "b")
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = _answer

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def remote() -> Iterator[Remote]:
    running = Remote()
    yield running
    running.server.shutdown()
    running.server.server_close()


def test_a_post_sends_content_and_headers_and_returns_the_response(app_host, remote) -> None:
    spec = {
        "method": "POST",
        "uri": f"{remote.url}/orders",
        "content": {"sku": "A-1", "qty": 2},
        "headers": {"X-Trace": "t-1"},
    }

    out = app_host.wait_for(start(app_host, "http_call", spec))["output"]

    assert out["statusCode"] == 201
    assert json.loads(out["content"]) == {"echo": '{"sku": "A-1", "qty": 2}'}
    assert out["headers"]["X-Multi"] == ["a", "b"]
    assert remote.seen == [
        {"method": "POST", "path": "/orders", "body": '{"sku": "A-1", "qty": 2}', "x-trace": "t-1"}
    ]


def test_a_202_with_location_is_polled_until_done_inside_one_task(app_host, remote) -> None:
    iid = start(app_host, "http_call", {"method": "POST", "uri": f"{remote.url}/job"})

    status = app_host.wait_for(iid)

    assert status["output"]["statusCode"] == 200
    assert json.loads(status["output"]["content"]) == {"done": True}
    assert [s["path"] for s in remote.seen] == ["/job"] + ["/job/status"] * 3
    history = app_host.status(iid, show_history=True)["historyEvents"]
    tasks = [e for e in history if e["EventType"] in ("TaskScheduled", "TaskCompleted")]
    assert [(e["EventType"], e["FunctionName"]) for e in tasks] == [
        ("TaskCompleted", "BuiltIn::HttpActivity")
    ]


def test_an_unreachable_service_fails_the_task(app_host) -> None:
    out = app_host.wait_for(
        start(app_host, "http_call", {"method": "GET", "uri": "http://127.0.0.1:9/nothing"})
    )["output"]

    assert "GET http://127.0.0.1:9/nothing failed" in out["error"]


def test_a_managed_identity_token_is_refused_with_the_reason(app_host, remote) -> None:
    spec = {"method": "GET", "uri": remote.url, "identity": "https://management.core.windows.net"}

    out = app_host.wait_for(start(app_host, "http_call", spec))["output"]

    assert "managed identity" in out["error"] and remote.seen == []
