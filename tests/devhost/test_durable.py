"""Durable semantics through the SDK, unmodified: the orchestrators of apps/durable."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta

import pytest

APP = "durable"
RUNNING = {"Running"}


def uid(prefix: str = "t") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def start(host, name: str, data=None, instance_id: str | None = None) -> str:
    """Start through the app's HTTP starter, i.e. through the SDK's client.start_new."""
    path = f"/api/client/start/{name}" + (f"/{instance_id}" if instance_id else "")
    resp = host.post(path, json=data) if data is not None else host.post(path, data=b"")
    assert resp.status == 202, resp.text
    return resp.json()["id"]


def test_sequence_and_check_status_urls_work(app_host) -> None:
    iid = start(app_host, "sequence", ["A", "B"])
    status = app_host.wait_for(iid)
    assert status["output"] == ["Hello A", "Hello B"]
    assert status["input"] == '["A", "B"]'  # start_new double-encodes; the host keeps the text


def test_fan_out_task_all(app_host) -> None:
    iid = start(app_host, "fan_out", {"n": 10})
    assert app_host.wait_for(iid)["output"] == sum(2 * i for i in range(10))


def test_activity_exception_reaches_orchestrator(app_host) -> None:
    out = app_host.wait_for(start(app_host, "catches_activity_error"))["output"]
    assert "Activity function 'boom' failed: ValueError: kaboom x1" in out["caught"]


def test_orchestrator_exception_fails_instance(app_host) -> None:
    status = app_host.wait_for(start(app_host, "fails"))
    assert status["runtimeStatus"] == "Failed"
    assert status["output"].startswith("Orchestrator function 'fails' failed:")
    assert "orchestrator gave up" in status["output"]


def test_unhandled_activity_error_fails_instance(app_host) -> None:
    status = app_host.wait_for(start(app_host, "unhandled_activity_error"))
    assert status["runtimeStatus"] == "Failed"
    assert "kaboom x2" in status["output"]


def test_retry_succeeds_after_failures(skipping_host) -> None:
    status = skipping_host.wait_for(start(skipping_host, "retrying", f"{uid()}:3"))
    assert status["output"] == "ok after 3"


def test_retry_gives_up_after_max_attempts(skipping_host) -> None:
    status = skipping_host.wait_for(start(skipping_host, "retrying", f"{uid()}:9"))
    assert "attempt 3 failed" in status["output"]["failed"]


def test_concurrent_retries_keep_ids_in_step(skipping_host) -> None:
    status = skipping_host.wait_for(start(skipping_host, "concurrent_retries", uid()))
    assert status["output"] == ["ok after 2", "ok after 1", "Hello after"]


def test_sub_orchestrations(skipping_host) -> None:
    iid = start(skipping_host, "parent", instance_id=uid("parent"))
    out = skipping_host.wait_for(iid)["output"]
    assert out["explicit"] == ["Hello A", "Hello B"]
    assert out["generated"] == ["Hello C"]
    assert "orchestrator gave up" in out["failure"]
    assert out["retried"] == "ok after 2"
    child = skipping_host.status(f"{iid}-child")
    assert child["runtimeStatus"] == "Completed"


def test_72_hour_timer_fires_on_advance(app_host) -> None:
    iid = start(app_host, "long_timer")
    app_host.wait_for(iid, statuses=RUNNING)
    app_host.advance(timedelta(hours=72))
    status = app_host.wait_for(iid)
    assert status["output"] >= 72 * 3600


def test_event_beats_timer_and_timer_is_cancelled(app_host) -> None:
    iid = start(app_host, "approval")
    assert app_host.wait_for(iid, statuses=RUNNING)["customStatus"] == {"stage": "waiting"}
    resp = app_host.post(f"/api/client/raise/{iid}?event=Approval", json={"ok": True})
    assert resp.status == 200, resp.text
    status = app_host.wait_for(iid)
    # Python client payloads arrive as JSON text, as on Azure (protocol doc, quirk 6)
    assert status["output"] == {"approved": '{"ok": true}'}
    assert status["customStatus"] == {"stage": "approved"}


def test_event_via_http_api_arrives_as_json(app_host) -> None:
    iid = start(app_host, "approval")
    app_host.wait_for(iid, statuses=RUNNING)
    assert app_host.raise_event(iid, "Approval", {"ok": True}).status == 202
    assert app_host.wait_for(iid)["output"] == {"approved": {"ok": True}}


def test_timer_beats_event(app_host) -> None:
    iid = start(app_host, "approval")
    app_host.wait_for(iid, statuses=RUNNING)
    app_host.advance(timedelta(hours=25))
    status = app_host.wait_for(iid)
    assert status["output"] == {"approved": None}
    assert status["customStatus"] == {"stage": "timed out"}


def test_events_raised_before_the_wait_are_buffered(app_host) -> None:
    iid = start(app_host, "early_events")
    app_host.wait_for(iid, statuses=RUNNING)
    assert app_host.raise_event(iid, "First", "early").status == 202
    app_host.advance(timedelta(minutes=6))
    assert app_host.wait_for(iid)["output"] == "early"


def test_continue_as_new_carries_unprocessed_events(app_host) -> None:
    iid = start(app_host, "counter_loop")
    app_host.wait_for(iid, statuses=RUNNING)
    for n in (1, 2, 3):
        assert app_host.raise_event(iid, "Add", n).status == 202
    assert app_host.wait_for(iid)["output"] == 6


def test_deterministic_time_uuid_and_replay_flag(app_host) -> None:
    iid = start(app_host, "deterministic")
    out = app_host.wait_for(iid)["output"]
    t0 = datetime.fromisoformat(out["t0"])
    ns = uuid.uuid5(uuid.NAMESPACE_OID, "9e952958-5e33-4daf-827f-2fa12937b875")
    stamp = t0.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    assert out["ids"] == [str(uuid.uuid5(ns, f"{iid}_{stamp}_{i}")) for i in (0, 1)]
    assert out["tz"] == "UTC"
    assert datetime.fromisoformat(out["t1"]) >= t0
    assert out["first_run_flag"] == 0  # the final run replays the first episode
    assert out["replaying_after"] is False


def test_status_history_and_custom_status_through_client(app_host) -> None:
    iid = start(app_host, "sequence", ["Z"])
    app_host.wait_for(iid)
    got = app_host.get(f"/api/client/status/{iid}?history=1").json()
    assert got["runtimeStatus"] == "Completed"
    kinds = [e["EventType"] for e in got["historyEvents"]]
    assert kinds[0] == "ExecutionStarted" and "TaskCompleted" in kinds
    assert kinds[-1] == "ExecutionCompleted"
    waiting = start(app_host, "waits_forever")
    assert app_host.wait_for(waiting, statuses=RUNNING)["customStatus"] == "waiting"
    app_host.post(f"/api/client/terminate/{waiting}")


def test_terminate_and_410_after(app_host) -> None:
    iid = start(app_host, "waits_forever")
    app_host.wait_for(iid, statuses=RUNNING)
    assert app_host.post(f"/api/client/terminate/{iid}?reason=stop+it").status == 200
    status = app_host.wait_for(iid)
    assert status["runtimeStatus"] == "Terminated"
    assert status["output"] == "stop it"
    assert app_host.raise_event(iid, "Go", 1).status == 410
    assert app_host.terminate(iid).status == 410


def test_suspend_holds_events_until_resume(app_host) -> None:
    iid = start(app_host, "waits_forever")
    app_host.wait_for(iid, statuses=RUNNING)
    app_host.post(f"/api/client/suspend/{iid}")
    app_host.wait_for(iid, statuses={"Suspended"})
    assert app_host.raise_event(iid, "Go", "held").status == 202
    assert app_host.wait_for(iid, statuses={"Suspended"})["runtimeStatus"] == "Suspended"
    app_host.post(f"/api/client/resume/{iid}")
    assert app_host.wait_for(iid)["output"] == "held"


def test_rewind_failed_instance(app_host) -> None:
    iid = start(app_host, "fails_once", uid())
    assert app_host.wait_for(iid)["runtimeStatus"] == "Failed"
    assert app_host.post(f"/api/client/rewind/{iid}").status == 200
    status = app_host.wait_for(iid)
    assert status["runtimeStatus"] == "Completed", status
    assert status["output"] == ["Hello one", "ok after 2"]


def test_rewind_clears_every_failed_task_including_one_the_orchestrator_handled(app_host):
    # DurableTask.AzureStorage AzureTableTrackingStore.RewindHistoryAsync: every TaskFailed
    # of the execution turns into a GenericEvent, so the handled call runs again too.
    key = uid()
    iid = start(app_host, "handles_one_failure", key)
    assert app_host.wait_for(iid)["runtimeStatus"] == "Failed"

    assert app_host.post(f"/api/client/rewind/{iid}").status == 200
    status = app_host.wait_for(iid)

    assert status["runtimeStatus"] == "Completed", status
    assert status["output"] == ["ok after 2", "ok after 2"]


def test_rewind_rewinds_a_failed_sub_orchestration_in_place(app_host):
    # The child keeps its history (its completed call is not run again) and its execution;
    # only its failure is cleared, and its completion then reaches the waiting parent.
    key = uid()
    iid = start(app_host, "parent_of_failing_child", key)
    assert app_host.wait_for(iid)["runtimeStatus"] == "Failed"
    child = app_host.wait_for(f"{key}-child")
    assert child["runtimeStatus"] == "Failed"

    assert app_host.post(f"/api/client/rewind/{iid}").status == 200
    status = app_host.wait_for(iid)
    rewound_child = app_host.wait_for(f"{key}-child")

    assert status["runtimeStatus"] == "Completed", status
    assert status["output"] == {"child": ["ok after 1", "ok after 2"]}
    assert rewound_child["runtimeStatus"] == "Completed"
    assert rewound_child["createdTime"] == child["createdTime"]


def test_purge_one_and_by_filter(app_host) -> None:
    iid = start(app_host, "sequence", ["P"])
    app_host.wait_for(iid)
    assert app_host.delete(f"/api/client/purge/{iid}").json() == {"deleted": 1}
    assert app_host.status(iid) is None
    assert app_host.delete(f"/api/client/purge/{iid}").json() == {"deleted": 0}
    doomed = start(app_host, "waits_forever")
    app_host.wait_for(doomed, statuses=RUNNING)
    app_host.terminate(doomed, "purge me")
    app_host.wait_for(doomed)
    deleted = app_host.delete("/api/client/purge_by?status=Terminated").json()["deleted"]
    assert deleted >= 1
    assert app_host.status(doomed) is None


def test_purge_by_filter_reads_only_times_and_terminal_statuses_as_azure_does(
    devhost_factory, tmp_path
) -> None:
    from tests.devhost.conftest import APPS

    # a host of its own: a purge by time takes every instance in the range, other tests' too
    app_host = devhost_factory(APPS / APP, env={"CONFORMANCE_STATE_DIR": str(tmp_path)})
    done = start(app_host, "sequence", ["Q"])
    since = app_host.wait_for(done)["createdTime"]  # the host's clock
    running = start(app_host, "waits_forever")
    app_host.wait_for(running, statuses=RUNNING)
    purge = f"/runtime/webhooks/durabletask/instances/?createdTimeFrom={since}"

    # the prefix is not a filter of the extension's purge, Running not one of the backend's
    kept = app_host.delete(f"{purge}&runtimeStatus=Running,Completed&instanceIdPrefix=zzz")

    assert kept.status == 200 and kept.json() == {"instancesDeleted": 1}
    assert app_host.status(done) is None and app_host.status(running) is not None
    app_host.terminate(running, "done with it")
    app_host.wait_for(running)


def test_get_status_all_and_by_prefix(app_host) -> None:
    prefix = uid("list")
    ids = [start(app_host, "sequence", ["L"], instance_id=f"{prefix}-{i}") for i in range(3)]
    for iid in ids:
        app_host.wait_for(iid)
    assert app_host.get(f"/api/client/list?prefix={prefix}").json() == sorted(ids)
    by_status = app_host.get(f"/api/client/list?prefix={prefix}&status=Completed").json()
    assert by_status == sorted(ids)
    assert app_host.get(f"/api/client/list?prefix={prefix}&status=Running").json() == []
    assert set(ids) <= set(app_host.get("/api/client/list").json())


def test_start_running_id_fails_completed_id_restarts(app_host) -> None:
    iid = uid("dup")
    start(app_host, "waits_forever", instance_id=iid)
    app_host.wait_for(iid, statuses=RUNNING)
    assert app_host.post(f"/api/client/start/waits_forever/{iid}", data=b"").status == 500
    app_host.terminate(iid)
    app_host.wait_for(iid)
    start(app_host, "sequence", ["again"], instance_id=iid)
    assert app_host.wait_for(iid)["output"] == ["Hello again"]


def test_wait_for_completion_or_check_status(app_host) -> None:
    done = app_host.post("/api/client/wait/sequence", json=["W"])
    assert done.status == 200 and done.json() == ["Hello W"]
    pending = app_host.post("/api/client/wait/waits_forever?timeout=300", data=b"")
    assert pending.status == 202
    iid = pending.json()["id"]
    follow = app_host.post(
        pending.json()["sendEventPostUri"].replace("{eventName}", "Go"), json="x"
    )
    assert follow.status == 202
    assert app_host.wait_for(iid)["output"] == "x"


def test_plain_function_orchestrator_with_http_api_input(app_host) -> None:
    iid = app_host.start("plain_function", {"k": [1, 2]})
    status = app_host.wait_for(iid)
    assert status["output"] == {"input": {"k": [1, 2]}, "id": iid}
    assert status["input"] == {"k": [1, 2]}


@pytest.mark.parametrize(
    ("body", "outcome"),
    [
        ('"[1, 2]"', "Completed"),  # a JSON string holding JSON text (the SDK client's way)
        ('"plain words"', "Failed"),  # a string that is not JSON text: get_input() cannot
        ("[1, 2]", "Failed"),  # a list arrives as a list, which the SDK cannot read
        ("7", "Failed"),  # so does a number
    ],
)
def test_http_api_start_passes_the_body_as_the_extension_does(app_host, body, outcome) -> None:
    # HttpApiHandler.HandleStartOrchestratorRequestAsync: JsonConvert.DeserializeObject(body),
    # stored serialised; OrchestrationContextToString sends it back as a JSON value, so the
    # Python SDK's get_input() sees a string only for a JSON string body.
    started = app_host.post(
        "/runtime/webhooks/durabletask/orchestrators/plain_function",
        data=body.encode(),
        headers={"Content-Type": "application/json"},
    )
    assert started.status == 202, started.text

    status = app_host.wait_for(started.json()["id"])

    assert status["runtimeStatus"] == outcome, status
    assert status["input"] == json.loads(body)
    if outcome == "Completed":
        assert status["output"]["input"] == [1, 2]


def test_hosts_with_different_env_side_by_side(devhost_factory, tmp_path) -> None:
    from tests.devhost.conftest import APPS

    a = devhost_factory(APPS / APP, env={"CONFORMANCE_SETTING": "one"})
    b = devhost_factory(APPS / APP, env={"CONFORMANCE_SETTING": "two"})
    ia, ib = a.start("reads_setting"), b.start("reads_setting")
    assert a.wait_for(ia)["output"] == "one"
    assert b.wait_for(ib)["output"] == "two"
