"""The Durable HTTP API answers as the extension's HttpApiHandler / DurableClient do.

Each test names the extension behaviour it holds devhost to (Azure/azure-functions-durable-
extension, `HttpApiHandler.cs`, `DurableClient.cs`, `MessagePayloadDataConverter.cs`).
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

APP = "azure_api"
ENV = {"DEVHOST_MAX_MESSAGE_BYTES": "65536"}  # a backend that refuses large messages
API = "/runtime/webhooks/durabletask"


def uid(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def history(host, iid: str, **query: str) -> list[dict[str, Any]]:
    qs = "&".join(f"{k}={v}" for k, v in {"showHistory": "true", **query}.items())
    return host.get(f"{API}/instances/{iid}?{qs}").json().get("historyEvents") or []


def until(host, iid: str, ready) -> list[dict[str, Any]]:
    """Read the history until `ready(events)` holds (a status read is cheap)."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        events = history(host, iid, showHistoryOutput="true")
        if ready(events):
            return events
        time.sleep(0.02)
    raise AssertionError(f"{iid}: never ready: {events}")


def kinds(events: list[dict[str, Any]]) -> list[str]:
    return [e["EventType"] for e in events]


# ------------------------------------------------------------------ history shape


def test_history_folds_each_finished_task_into_its_completion(app_host):
    flag = uid("flag")
    iid = app_host.start("tour", {"flag": flag})
    until(app_host, iid, lambda ev: "TimerCreated" in kinds(ev))
    app_host.advance(2)
    until(app_host, iid, lambda ev: "TimerFired" in kinds(ev))
    app_host.raise_event(iid, "Go", "yes")
    pending = until(app_host, iid, lambda ev: "TaskScheduled" in kinds(ev))
    (Path(app_host.host.env["CONFORMANCE_STATE_DIR"]) / flag).write_text("go")  # release held
    app_host.wait_for(iid)
    done = history(app_host, iid, showHistoryOutput="true")

    # in flight: the TaskScheduled stays, with Name (not FunctionName) and no EventId
    (scheduled,) = [e for e in pending if e["EventType"] == "TaskScheduled"]
    assert scheduled["Name"] == "held" and "FunctionName" not in scheduled
    assert "EventId" not in scheduled and "Version" not in scheduled
    # finished: no TaskScheduled / SubOrchestrationInstanceCreated / Orchestrator* events
    assert kinds(done) == [
        "ExecutionStarted",
        "TaskCompleted",
        "TaskFailed",
        "SubOrchestrationInstanceCompleted",
        "TimerCreated",
        "TimerFired",
        "EventRaised",
        "TaskCompleted",
        "ExecutionCompleted",
    ]
    for event in done:
        assert not {"EventId", "IsPlayed", "TaskScheduledId", "TimerId"} & set(event), event
    started, greet, refuse, child, _, _, raised, held, completed = done
    assert started["FunctionName"] == "tour" and "Name" not in started
    assert not {"OrchestrationInstance", "ParentInstance", "Version"} & set(started)
    assert json.loads(started["Input"]) == {"flag": flag}
    assert (greet["FunctionName"], greet["Result"]) == ("greet", "Hello Ada")
    assert greet["Input"] == '"Ada"'
    assert greet["ScheduledTime"] <= greet["Timestamp"]
    assert refuse["FunctionName"] == "refuse" and "no Bob" in refuse["Reason"]
    assert (child["FunctionName"], child["Result"]) == ("child", "Hello Cy")
    assert raised["Name"] == "Go" and raised["Input"] == '"yes"'  # Input stays text
    assert held["FunctionName"] == "held" and held["Result"] == "released"
    assert completed["Result"] == ["Hello Ada", "Hello Cy", "yes", "released", ""]
    assert completed["OrchestrationStatus"] == "Completed"


def test_history_without_input_or_output_flags_leaves_them_out(app_host):
    iid = app_host.start("child", {"name": "Dee"})
    app_host.wait_for(iid)

    bare = history(app_host, iid, showInput="false")
    default = history(app_host, iid)

    assert kinds(bare) == ["ExecutionStarted", "TaskCompleted", "ExecutionCompleted"]
    assert all("Input" not in e and "Result" not in e for e in bare)
    assert default[1]["Input"] == '"Dee"' and "Result" not in default[1]


# ------------------------------------------------------------------ instance queries


def _list(host, query: str, token: str | None = None):
    headers = {"x-ms-continuation-token": token} if token else {}
    response = host.get(f"{API}/instances?{query}", headers=headers)
    return response, response.json(), response.headers.get("x-ms-continuation-token")


def test_instance_queries_show_input_by_default_and_order_by_id(app_host):
    prefix = uid("q")
    ids = [f"{prefix}-{n}" for n in ("c", "a", "b")]
    for iid in ids:
        app_host.start("child", {"name": "Eve"}, instance_id=iid)
    for iid in ids:
        app_host.wait_for(iid)

    _, shown, _ = _list(app_host, f"instanceIdPrefix={prefix}")
    _, hidden, _ = _list(app_host, f"instanceIdPrefix={prefix}&showInput=false")

    assert [s["instanceId"] for s in shown] == sorted(ids)
    assert [s["input"] for s in shown] == [{"name": "Eve"}] * 3
    assert [s["input"] for s in hidden] == [None] * 3


def test_continuation_tokens_are_opaque_and_a_bad_one_is_a_500(app_host):
    prefix = uid("p")
    for n in range(5):
        app_host.start("child", {"name": "Fay"}, instance_id=f"{prefix}-{n}")
    seen, token, pages = [], None, 0
    while True:
        _, body, token = _list(app_host, f"instanceIdPrefix={prefix}&top=2", token)
        seen += [s["instanceId"] for s in body]
        pages += 1
        if token == "null":
            break
        assert json.loads(base64.b64decode(token))["NextPartitionKey"].startswith(prefix)

    bad, _, _ = _list(app_host, "top=2", "not-a-token")

    assert seen == [f"{prefix}-{n}" for n in range(5)] and pages == 3
    assert bad.status == 500


# ------------------------------------------------------------------ rewind


def test_rewind_answers_410_when_finished_and_500_when_running(app_host):
    done = app_host.start("child", {"name": "Gus"})
    app_host.wait_for(done)
    running = app_host.start("waits")
    app_host.wait_for(running, statuses={"Running"})

    finished = app_host.post(f"{API}/instances/{done}/rewind?reason=x", data=b"")
    live = app_host.post(f"{API}/instances/{running}/rewind?reason=x", data=b"")
    app_host.terminate(running, "done")

    assert finished.status == 410
    assert live.status == 500
    assert live.json()["ExceptionMessage"] == (
        "The rewind operation is only supported on failed orchestration instances."
    )


# ------------------------------------------------------------------ custom status


@pytest.mark.parametrize(
    ("chars", "status"),
    [
        (8_000, "Completed"),  # about 15.6 KB of UTF-16: within 16 KB
        (8_700, "Failed"),  # 17 KB once whole kilobytes are counted
    ],
)
def test_custom_status_is_limited_to_16_kb_of_utf16(app_host, chars, status):
    iid = app_host.start("status_of_size", {"chars": chars})

    final = app_host.wait_for(iid)

    assert final["runtimeStatus"] == status
    if status == "Failed":
        assert final["output"] == (
            "Orchestrator function 'status_of_size' failed: The UTF-16 size of the "
            "JSON-serialized payload must not exceed 16 KB. The current payload size is 17 KB."
        )
        assert final["customStatus"] == {"stage": "small"}  # the big one never landed


# ------------------------------------------------------------------ message size


def test_an_activity_input_over_the_message_maximum_fails_the_orchestration(app_host):
    fits = app_host.wait_for(app_host.start("sends", {"size": 60_000}))
    too_big = app_host.wait_for(app_host.start("sends", {"size": 70_000}))

    assert fits["runtimeStatus"] == "Completed"
    assert too_big["runtimeStatus"] == "Failed"
    assert "at most 65,536 bytes per message" in too_big["output"]


def test_an_activity_result_over_the_message_maximum_fails_the_task(app_host):
    fits = app_host.wait_for(app_host.start("receives", {"size": 60_000}))
    too_big = app_host.wait_for(app_host.start("receives", {"size": 70_000}))

    assert fits["output"] == 60_000
    assert "Activity function 'produce' failed: PayloadTooLarge" in too_big["output"]
