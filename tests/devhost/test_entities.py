"""Durable entities over real HTTP: the SDK client, orchestrators and the HTTP API."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

APP = "entities"
API = "/runtime/webhooks/durabletask"


def key() -> str:
    return uuid.uuid4().hex[:12]


def read(host, name: str, k: str) -> dict:
    resp = host.get(f"/api/entities/{name}/{k}")
    assert resp.status == 200, resp.text
    return resp.json()


def settle(host, name: str, k: str, predicate, timeout: float = 10) -> dict:
    """Read the entity (through the SDK client) until `predicate(state)` holds."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        got = read(host, name, k)
        if got["exists"] and predicate(got["state"]):
            return got
        if time.monotonic() > deadline:
            raise AssertionError(f"entity {name}/{k} never settled: {got}")
        time.sleep(0.02)


def test_client_signal_and_read(app_host) -> None:
    k = key()
    assert read(app_host, "counter", k) == {"exists": False, "state": None}
    for n in (1, 2, 3):
        assert app_host.post(f"/api/entities/counter/{k}/add", json=n).status == 202
    assert settle(app_host, "counter", k, lambda s: s == 6)["state"] == 6
    # the HTTP API sees the same state
    resp = app_host.get(f"{API}/entities/counter/{k}")
    assert resp.status == 200 and resp.json() == 6


def test_orchestrator_call_signal_and_caught_exception(app_host) -> None:
    k = key()
    iid = app_host.start("counter_flow", {"key": k})
    status = app_host.wait_for(iid)
    assert status["runtimeStatus"] == "Completed", status
    out = status["output"]
    assert out["after_add"] == 7 and out["current"] == 7 and out["final"] == 7
    assert "counter refuses at 7" in out["caught"]
    history = app_host.status(iid, show_history=True)["historyEvents"]
    assert sum(1 for e in history if e["EventType"] == "EventSent") == 5


def test_fan_out_calls_to_many_entities(app_host) -> None:
    keys = [key() for _ in range(20)]
    iid = app_host.start("fan_out_counters", {"keys": keys})
    assert app_host.wait_for(iid)["output"] == [1] * 20


def test_failed_operation_keeps_the_batch_state(app_host) -> None:
    """add, fail, add in one batch: the failure changes nothing, the adds both land."""
    k = key()
    for op, value in (("add", 1), ("fail", None), ("add", 2), ("fail", None), ("add", 4)):
        path = f"{API}/entities/counter/{k}?op={op}"
        body = {"json": str(value)} if value is not None else {"data": b""}
        # json=str(value): a JSON string literal, i.e. what the SDK client sends
        assert app_host.post(path, **body).status == 202
    assert settle(app_host, "counter", k, lambda s: s == 7)["state"] == 7


def test_thousand_signals_from_ten_senders_keep_order(app_host) -> None:
    k = key()

    def sender(s: int) -> None:
        for n in range(1, 101):
            path = f"{API}/entities/sequencer/{k}?op=record"
            resp = app_host.post(path, json=f'{{"sender": "s{s}", "n": {n}}}')
            assert resp.status == 202

    with ThreadPoolExecutor(10) as pool:
        list(pool.map(sender, range(10)))
    state = settle(app_host, "sequencer", k, lambda s: s["count"] >= 1000, timeout=30)["state"]
    assert state["count"] == 1000
    assert state["violations"] == 0
    assert state["last"] == {f"s{s}": 100 for s in range(10)}


def test_delete_and_list_entities(app_host) -> None:
    k = key()
    assert app_host.post(f"{API}/entities/counter/{k}?op=add", json="5").status == 202
    settle(app_host, "counter", k, lambda s: s == 5)
    listed = app_host.get(f"{API}/entities/counter?fetchState=true&top=1000").json()
    assert {"name": "counter", "key": k} in [e["entityId"] for e in listed]
    assert next(e for e in listed if e["entityId"]["key"] == k)["state"] == 5
    assert app_host.delete(f"{API}/entities/counter/{k}").status == 202
    import time

    deadline = time.monotonic() + 10
    while app_host.get(f"{API}/entities/counter/{k}").status != 404:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    assert read(app_host, "counter", k) == {"exists": False, "state": None}


def test_http_api_errors(app_host) -> None:
    assert app_host.post(f"{API}/entities/nosuch/x?op=add", json="1").status == 400
    assert app_host.post(f"{API}/entities/counter/x", json="1").status == 400  # no op
    bad = app_host.post(
        f"{API}/entities/counter/x?op=add", data="{", headers={"Content-Type": "application/json"}
    )
    assert bad.status == 400
    assert app_host.get(f"{API}/entities/counter/never-{key()}").status == 404
