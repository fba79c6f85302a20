"""devhost waits, hangs and fails where the real extension does (issue 14).

Each test is one difference between what the Python SDK decides and how the extension's
OutOfProcOrchestrationShim and DurableTask.Core carry it out (extension 2.13.x, DTFx 2.17.1;
durable-protocol.md §1.4.1, §2.5, §2.7). Where Azure would hang, devhost hangs too and says
why in the status (`devhostWaiting`) and the log: "waiting for ... (as Azure would)".
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

APP = "as_azure"
RUNNING = {"Running"}


def uid(prefix: str = "t") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def until(read: Callable[[], Any], timeout: float = 10) -> Any:
    """Poll `read()` until it returns something truthy (a readiness wait, not a timing)."""
    deadline = time.monotonic() + timeout
    while True:
        value = read()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"never happened: {read}")
        time.sleep(0.02)


def waiting_note(host, iid: str) -> str:
    """Block until the instance says why it waits as Azure would; return that note."""
    return until(lambda: (host.status(iid) or {}).get("devhostWaiting"))


def history_has(host, iid: str, kind: str, count: int = 1) -> bool:
    events = (host.status(iid, show_history=True) or {}).get("historyEvents") or []
    return sum(1 for e in events if e["EventType"] == kind) >= count


def test_failed_fan_out_waits_for_every_sibling(app_host) -> None:
    iid = app_host.start("fan_out_failure")
    note = waiting_note(app_host, iid)
    assert "external event 'Sibling'" in note and "(as Azure would)" in note
    assert "Task.WhenAll waits for the others" in note
    assert app_host.status(iid)["runtimeStatus"] == "Running"
    app_host.raise_event(iid, "Sibling", "here")
    status = app_host.wait_for(iid)
    assert status["output"] == "caught"
    assert "devhostWaiting" not in status


def test_one_early_event_satisfies_one_wait_only(app_host) -> None:
    iid = app_host.start("two_waits")
    app_host.wait_for(iid, statuses=RUNNING)
    assert app_host.raise_event(iid, "E", "early").status == 202
    until(lambda: history_has(app_host, iid, "EventRaised"))
    app_host.advance(timedelta(minutes=6))
    # the SDK hands the early event to both waits and is done; the host consumed it once
    note = waiting_note(app_host, iid)
    assert "external event 'E'" in note and "its result waits" in note
    assert app_host.status(iid)["runtimeStatus"] == "Running"
    app_host.raise_event(iid, "E", "second")
    assert app_host.wait_for(iid)["runtimeStatus"] == "Completed"


def test_continue_as_new_drops_events_buffered_before_it(app_host) -> None:
    iid = app_host.start("buffered_then_continue")
    app_host.wait_for(iid, statuses=RUNNING)
    assert app_host.raise_event(iid, "E", "early").status == 202
    until(lambda: history_has(app_host, iid, "EventRaised"))
    app_host.advance(timedelta(minutes=6))
    until(lambda: app_host.status(iid)["customStatus"] == "second execution")
    app_host.raise_event(iid, "E", "fresh")
    assert app_host.wait_for(iid)["output"] == "fresh"


def test_work_scheduled_before_a_raise_is_still_sent(app_host) -> None:
    key = uid("k")
    status = app_host.wait_for(app_host.start("signals_then_raises", {"key": key}))
    assert status["runtimeStatus"] == "Failed"
    assert "gave up after signalling" in status["output"]
    url = f"/runtime/webhooks/durabletask/entities/keeper/{key}"
    state = until(lambda: (resp := app_host.get(url)).status == 200 and resp)
    assert state.json() == 5


def test_failure_waits_for_an_open_timer(app_host) -> None:
    iid = app_host.start("raises_with_timer_open")
    app_host.wait_for(iid, statuses=RUNNING)
    app_host.raise_event(iid, "Go", "now")
    note = waiting_note(app_host, iid)
    assert "timer at" in note and "no scheduled task is still open" in note
    assert app_host.status(iid)["runtimeStatus"] == "Running"
    app_host.advance(timedelta(hours=1, minutes=1))
    status = app_host.wait_for(iid)
    assert status["runtimeStatus"] == "Failed"
    assert "gave up, timer not cancelled" in status["output"]


def test_completion_waits_for_an_uncancelled_timer(app_host) -> None:
    iid = app_host.start("completes_with_timer_open")
    app_host.wait_for(iid, statuses=RUNNING)
    app_host.raise_event(iid, "Go", "now")
    assert "timer at" in waiting_note(app_host, iid)
    app_host.advance(timedelta(hours=1, minutes=1))
    assert app_host.wait_for(iid)["output"] == "event"


def test_sub_orchestration_with_a_running_id_is_dropped(app_host) -> None:
    child = app_host.start("waits_for_go", instance_id=uid("busy"))
    app_host.wait_for(child, statuses=RUNNING)
    parent = app_host.start("starts_child", {"name": "waits_for_go", "child_id": child})
    note = waiting_note(app_host, parent)
    assert f"'{child}' was already Running" in note and "(as Azure would)" in note
    # the running child finishing does not answer the parent: it never started it
    app_host.raise_event(child, "Go", "done")
    assert app_host.wait_for(child)["runtimeStatus"] == "Completed"
    app_host.raise_event(parent, "Nudge", "x")  # another episode: still waiting, still said
    until(lambda: history_has(app_host, parent, "EventRaised"))
    status = app_host.status(parent)
    assert status["runtimeStatus"] == "Running" and child in status["devhostWaiting"]


def test_sub_orchestration_of_unknown_function_or_own_id_hangs(app_host) -> None:
    unknown = app_host.start("starts_child", {"name": "no_such_orchestrator", "child_id": None})
    note = waiting_note(app_host, unknown)
    assert "The function 'no_such_orchestrator' doesn't exist" in note
    own = app_host.start("starts_child", {"name": "waits_for_go", "child_id": "self"})
    note = waiting_note(app_host, own)
    assert "must be different than the instance ID of a parent" in note
    for iid in (unknown, own):
        status = app_host.status(iid)
        assert status["runtimeStatus"] == "Running"
        assert not history_has(app_host, iid, "SubOrchestrationInstanceCreated")


def test_changed_code_fails_as_non_deterministic(app_host) -> None:
    iid = app_host.start("changes_its_mind")
    until(lambda: history_has(app_host, iid, "TaskCompleted"))
    state_dir = app_host.host.env["CONFORMANCE_STATE_DIR"]
    with open(f"{state_dir}/{iid}.changed", "w") as flag:
        flag.write("say_b now")
    app_host.raise_event(iid, "Go", "now")
    status = app_host.wait_for(iid)
    assert status["runtimeStatus"] == "Failed"
    assert status["output"].startswith("Non-Deterministic workflow detected: ")
    assert "sequence ID 0 named 'say_a'" in status["output"]
    assert "'say_b'" in status["output"]


def test_entity_batch_that_cannot_be_serialised_is_not_answered(app_host) -> None:
    entities = app_host.host.engine.entities
    before = entities.failed_batches
    iid = app_host.start("calls_bad_entity", {"key": uid("k")})
    until(lambda: entities.failed_batches > before)
    status = app_host.status(iid)
    assert status["runtimeStatus"] == "Running"  # the caller waits, as on Azure


def test_retry_fails_without_a_last_back_off(app_host) -> None:
    iid = app_host.start("retries_then_fails")
    until(lambda: history_has(app_host, iid, "TimerCreated"))
    app_host.advance(timedelta(hours=1, seconds=1))  # the one real back-off
    assert app_host.wait_for(iid)["output"] == "gave up"
    fired = [
        e
        for e in app_host.status(iid, show_history=True)["historyEvents"]
        if e["EventType"] == "TimerCreated"
    ]
    assert len(fired) == 2  # the back-off, and the "dummy" timer due at once


def test_failure_details_have_the_hosts_shape(app_host) -> None:
    child_text, activity_text = app_host.wait_for(app_host.start("catches_failures"))["output"]
    reason, _, details = child_text.partition(" \n ")
    assert reason == "Orchestrator function 'child_raises' failed: child boom"
    assert details.startswith("Message: child boom, StackTrace: ")
    reason, _, details = activity_text.partition(" \n ")
    assert reason == "Activity function 'boom' failed: ValueError: kaboom 9"
    exception = json.loads(details)
    assert exception["$type"].startswith("System.Exception, ")
    assert exception["Message"] == "ValueError: kaboom 9"
    assert "Traceback" in exception["InnerException"]["Message"]


def test_unknown_activity_is_never_scheduled_and_the_caller_waits(app_host) -> None:
    iid = app_host.start("calls_unknown_activity")
    note = waiting_note(app_host, iid)
    assert "The function 'no_such_activity' doesn't exist" in note
    assert not history_has(app_host, iid, "TaskScheduled")


def test_signal_to_unknown_entity_fails_the_orchestration(app_host) -> None:
    status = app_host.wait_for(app_host.start("signals_unknown_entity"))
    assert status["runtimeStatus"] == "Failed"
    assert "The function 'no_such_entity' doesn't exist" in status["output"]
