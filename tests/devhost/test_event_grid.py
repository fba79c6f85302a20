"""Event Grid trigger at /runtime/webhooks/eventgrid, both schemas, handshakes, bad bodies."""

from __future__ import annotations

import json
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


NOTIFY = {"aeg-event-type": "Notification"}


def post(host, fn: str, body: object, ctype: str = "application/json", **headers: str):
    """A delivery as Event Grid makes it: with `aeg-event-type: Notification` unless the test
    passes its own headers."""
    data = body if isinstance(body, str | bytes) else json.dumps(body)
    sent = {"Content-Type": ctype, **(headers or NOTIFY)}
    return host.post(HOOK + fn, data=data, headers=sent)


def recorded(host, ids: set[str]) -> list[dict]:
    path = Path(host.host.env["CONFORMANCE_STATE_DIR"]) / "events.jsonl"
    if not path.exists():
        return []
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    return [r for r in rows if r["id"] in ids]


def test_event_grid_schema_single_and_batch(app_host) -> None:
    a, b, c = uid(), uid(), uid()
    resp = post(app_host, "on_event", grid_event(a))
    assert resp.status == 202, resp.text
    # 202 means the function already ran
    (got,) = recorded(app_host, {a})
    assert got["class"] == "EventGridEvent"
    assert got["event_type"] == "Salesforce.AccountChange" and got["subject"] == "accounts/001"
    assert got["data"] == {"n": 1} and got["data_version"] == "1.0"
    assert got["topic"].endswith("/topics/t") and got["time"].startswith("2024-05-01 12:00:00")
    assert post(app_host, "on_event", [grid_event(b), grid_event(c)]).status == 202
    assert {r["id"] for r in recorded(app_host, {b, c})} == {b, c}  # run at once, any order


def test_cloud_events_structured_and_batch(app_host) -> None:
    a = uid()
    resp = post(app_host, "on_event", cloud_event(a), "application/cloudevents+json")
    assert resp.status == 202, resp.text
    (got,) = recorded(app_host, {a})
    assert got["class"] == "CloudEvent"  # what azure.functions' converter builds for 1.0
    assert got["source"] == "/salesforce/relay" and got["type"] == "com.salesforce.account.change"
    assert got["data"] == {"n": 2}
    ids = [uid() for _ in range(3)]
    batch = [cloud_event(i) for i in ids]
    assert post(app_host, "on_event", batch, "application/cloudevents-batch+json").status == 202
    assert {r["id"] for r in recorded(app_host, set(ids))} == set(ids)
    more = [uid(), uid()]  # a plain JSON array of CloudEvents works too
    assert post(app_host, "on_event", [cloud_event(i) for i in more]).status == 202
    assert len(recorded(app_host, set(more))) == 2


def test_a_delivery_without_the_event_type_header_is_400_and_runs_nothing(app_host) -> None:
    event_id = uid()
    resp = app_host.post(HOOK + "on_event", json=grid_event(event_id))
    assert resp.status == 400
    assert (
        post(app_host, "on_event", grid_event(event_id), **{"aeg-event-type": "Bogus"}).status
        == 400
    )
    assert recorded(app_host, {event_id}) == []


def test_the_event_type_header_is_read_case_insensitively(app_host) -> None:
    event_id = uid()
    assert (
        post(
            app_host, "on_event", grid_event(event_id), **{"aeg-event-type": "notification"}
        ).status
        == 202
    )
    assert len(recorded(app_host, {event_id})) == 1


def test_subscription_validation_handshake(app_host) -> None:
    code = uid()
    event = grid_event(
        uid(),
        {"validationCode": code, "validationUrl": "https://example/validate"},
        eventType="Microsoft.EventGrid.SubscriptionValidationEvent",
        subject="",
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


def test_cloud_event_validation_reads_data_given_as_json_text(app_host) -> None:
    code = uid()
    event = {**cloud_event(uid()), "data": json.dumps({"validationCode": code})}
    resp = post(app_host, "on_event", event, **{"aeg-event-type": "SubscriptionValidation"})
    assert resp.status == 200 and resp.json() == {"validationResponse": code}


def test_unsubscribe_is_accepted_and_runs_nothing(app_host) -> None:
    event_id = uid()
    resp = post(app_host, "on_event", grid_event(event_id), **{"aeg-event-type": "Unsubscribe"})
    assert resp.status == 202
    assert recorded(app_host, {event_id}) == []


def test_cloud_events_abuse_protection_handshake(app_host) -> None:
    resp = app_host.request(
        "OPTIONS", HOOK + "on_event", headers={"WebHook-Request-Origin": "example.com"}
    )
    assert resp.status == 200
    assert resp.headers["WebHook-Allowed-Origin"] == "example.com"
    assert resp.headers["WebHook-Allowed-Rate"] == "*"


def test_abuse_protection_without_an_origin_allows_event_grid(app_host) -> None:
    resp = app_host.request("OPTIONS", HOOK + "on_event")
    assert resp.status == 200
    assert resp.headers["WebHook-Allowed-Origin"] == "eventgrid.azure.net"


def test_events_are_not_checked_against_a_schema(app_host) -> None:
    """The worker's converter reads fields with .get: what Event Grid sends, the function gets."""
    bare, no_type, cloud = uid(), uid(), uid()
    events = [
        {"id": bare, "subject": "s"},
        {k: v for k, v in grid_event(no_type).items() if k != "eventType"},
        {"specversion": "1.0", "id": cloud, "type": "t"},
    ]
    assert post(app_host, "on_event", events).status == 202
    got = {r["id"]: r for r in recorded(app_host, {bare, no_type, cloud})}
    assert got[bare]["event_type"] is None and got[bare]["data"] is None
    assert got[no_type]["event_type"] is None and got[no_type]["subject"] == "accounts/001"
    assert got[cloud]["class"] == "CloudEvent" and got[cloud]["source"] is None
    assert post(app_host, "on_event", [], "application/json").status == 202  # nothing to run


def test_a_cloud_event_object_sent_as_a_batch_still_runs(app_host) -> None:
    event_id = uid()
    resp = post(app_host, "on_event", cloud_event(event_id), "application/cloudevents-batch+json")
    assert resp.status == 202
    assert len(recorded(app_host, {event_id})) == 1


@pytest.mark.parametrize(
    "body",
    ["{not json", "", '"just a string"', "42"],
    ids=["not-json", "empty", "a-string", "a-number"],
)
def test_a_body_the_extension_cannot_read_is_a_500(app_host, body: str) -> None:
    assert post(app_host, "on_event", body).status == 500


def test_an_unreadable_time_fails_that_invocation_so_the_delivery_is_retried(app_host) -> None:
    good = uid()
    bad = grid_event(uid(), eventTime="yesterday")
    resp = post(app_host, "on_event", [grid_event(good), bad])
    assert resp.status == 500  # Event Grid redelivers on 500, never on 400
    assert len(recorded(app_host, {good})) == 1  # the others in the batch ran


def test_unknown_function_404_and_raising_function_500(app_host) -> None:
    assert post(app_host, "nosuch", grid_event(uid())).status == 404
    resp = post(app_host, "on_event", grid_event(uid(), {"fail": True}))
    assert resp.status == 500 and "asked to fail" in resp.text


def test_event_grid_function_with_durable_client(app_host) -> None:
    event_id = uid()
    resp = post(app_host, "start_from_event", cloud_event(event_id, {"account": "001"}))
    assert resp.status == 202, resp.text
    status = app_host.wait_for(f"eg-{event_id}")
    assert status["runtimeStatus"] == "Completed" and status["output"] == {"account": "001"}


def test_handler_answers_after_the_function_ran(app_host) -> None:
    ids = [uid() for _ in range(5)]
    assert post(app_host, "on_event", [grid_event(i) for i in ids]).status == 202
    assert len(recorded(app_host, set(ids))) == 5
