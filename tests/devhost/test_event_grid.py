"""Event Grid trigger at /runtime/webhooks/eventgrid, both schemas, handshakes, bad bodies."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

import pytest

APP = "triggers"
ENV = {"TICK_SCHEDULE": "0 0 */6 * * *"}
HOOK = "/runtime/webhooks/eventgrid?functionName="


def uid() -> str:
    return uuid.uuid4().hex[:12]


def grid_event(event_id: str, data: object = None, **extra: object) -> dict:
    return {
        "id": event_id,
        "topic": "/subscriptions/x/resourceGroups/rg/providers/Microsoft.EventGrid/topics/t",
        "subject": "accounts/001",
        "eventType": "Salesforce.AccountChange",
        "eventTime": "2024-05-01T12:00:00.1234567Z",
        "data": data if data is not None else {"n": 1},
        "dataVersion": "1.0",
        "metadataVersion": "1",
        **extra,
    }


def cloud_event(event_id: str, data: object = None) -> dict:
    return {
        "specversion": "1.0",
        "id": event_id,
        "source": "/salesforce/relay",
        "type": "com.salesforce.account.change",
        "time": "2024-05-01T12:00:00Z",
        "subject": "accounts/002",
        "datacontenttype": "application/json",
        "data": data if data is not None else {"n": 2},
    }


def post(host, fn: str, body: object, ctype: str = "application/json", **headers: str):
    data = body if isinstance(body, str | bytes) else json.dumps(body)
    return host.post(HOOK + fn, data=data, headers={"Content-Type": ctype, **headers})


def recorded(host, ids: set[str]) -> list[dict]:
    path = Path(host.host.env["CONFORMANCE_STATE_DIR"]) / "events.jsonl"
    if not path.exists():
        return []
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    return [r for r in rows if r["id"] in ids]


def test_event_grid_schema_single_and_batch(app_host) -> None:
    a, b, c = uid(), uid(), uid()
    resp = post(app_host, "on_event", grid_event(a), **{"aeg-event-type": "Notification"})
    assert resp.status == 200, resp.text
    # 200 means the function already ran
    (got,) = recorded(app_host, {a})
    assert got["class"] == "EventGridEvent"
    assert got["event_type"] == "Salesforce.AccountChange" and got["subject"] == "accounts/001"
    assert got["data"] == {"n": 1} and got["data_version"] == "1.0"
    assert got["topic"].endswith("/topics/t") and got["time"].startswith("2024-05-01 12:00:00")
    assert post(app_host, "on_event", [grid_event(b), grid_event(c)]).status == 200
    assert [r["id"] for r in recorded(app_host, {b, c})] == [b, c]


def test_cloud_events_structured_and_batch(app_host) -> None:
    a = uid()
    resp = post(app_host, "on_event", cloud_event(a), "application/cloudevents+json")
    assert resp.status == 200, resp.text
    (got,) = recorded(app_host, {a})
    assert got["class"] == "CloudEvent"  # what azure.functions' converter builds for 1.0
    assert got["source"] == "/salesforce/relay" and got["type"] == "com.salesforce.account.change"
    assert got["data"] == {"n": 2}
    ids = [uid() for _ in range(3)]
    batch = [cloud_event(i) for i in ids]
    assert post(app_host, "on_event", batch, "application/cloudevents-batch+json").status == 200
    assert [r["id"] for r in recorded(app_host, set(ids))] == ids
    more = [uid(), uid()]  # a plain JSON array of CloudEvents works too
    assert post(app_host, "on_event", [cloud_event(i) for i in more]).status == 200
    assert len(recorded(app_host, set(more))) == 2


def test_subscription_validation_handshake(app_host) -> None:
    code = uid()
    event = grid_event(
        uid(),
        {"validationCode": code, "validationUrl": "https://example/validate"},
        eventType="Microsoft.EventGrid.SubscriptionValidationEvent",
    )
    resp = post(app_host, "on_event", [event], **{"aeg-event-type": "SubscriptionValidation"})
    assert resp.status == 200 and resp.json() == {"validationResponse": code}
    assert recorded(app_host, {event["id"]}) == []  # the function is not invoked


def test_subscription_validation_with_an_empty_subject_as_event_grid_sends_it(app_host) -> None:
    code = uid()
    event = grid_event(
        uid(),
        {"validationCode": code, "validationUrl": "https://example/validate"},
        eventType="Microsoft.EventGrid.SubscriptionValidationEvent",
        subject="",
    )
    resp = post(app_host, "on_event", [event], **{"aeg-event-type": "SubscriptionValidation"})
    assert resp.status == 200 and resp.json() == {"validationResponse": code}


def test_cloud_events_abuse_protection_handshake(app_host) -> None:
    resp = app_host.request(
        "OPTIONS", HOOK + "on_event", headers={"WebHook-Request-Origin": "eventgrid.azure.net"}
    )
    assert resp.status == 200
    assert resp.headers["WebHook-Allowed-Origin"] == "eventgrid.azure.net"


@pytest.mark.parametrize(
    ("body", "ctype"),
    [
        ("{not json", "application/json"),
        ("", "application/json"),
        ("[]", "application/json"),
        ('"just a string"', "application/json"),
        (
            json.dumps({k: v for k, v in grid_event("x").items() if k != "eventType"}),
            "application/json",
        ),
        (
            json.dumps({"specversion": "1.0", "id": "x", "type": "t"}),
            "application/cloudevents+json",
        ),
        (json.dumps(cloud_event("x")), "application/cloudevents-batch+json"),
        (json.dumps(grid_event("x", eventTime="yesterday")), "application/json"),
    ],
)
def test_malformed_bodies_get_400(app_host, body: str, ctype: str) -> None:
    assert post(app_host, "on_event", body, ctype).status == 400


def test_malformed_event_in_batch_invokes_nothing(app_host) -> None:
    good = uid()
    bad = {"id": uid(), "subject": "s"}
    assert post(app_host, "on_event", [grid_event(good), bad]).status == 400
    assert recorded(app_host, {good}) == []


def test_unknown_function_404_and_raising_function_500(app_host) -> None:
    assert post(app_host, "nosuch", grid_event(uid())).status == 404
    assert post(app_host, "on_event", grid_event(uid(), {"fail": True})).status == 500


def test_event_grid_function_with_durable_client(app_host) -> None:
    event_id = uid()
    resp = post(app_host, "start_from_event", cloud_event(event_id, {"account": "001"}))
    assert resp.status == 200, resp.text
    status = app_host.wait_for(f"eg-{event_id}")
    assert status["runtimeStatus"] == "Completed" and status["output"] == {"account": "001"}


def test_handler_answers_after_the_function_ran(app_host) -> None:
    started = time.monotonic()
    ids = [uid() for _ in range(5)]
    assert post(app_host, "on_event", [grid_event(i) for i in ids]).status == 200
    assert len(recorded(app_host, set(ids))) == 5
    assert time.monotonic() - started < 5
