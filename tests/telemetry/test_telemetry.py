"""Telemetry in one process: activity spans, client spans, metrics and logs, all correlated."""

from __future__ import annotations

import json
import logging
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from opentelemetry.trace import SpanKind, StatusCode

from crosswalk.clients.chat import ChatWebhook
from crosswalk.clients.http import make_session
from crosswalk.errors import TransientError
from crosswalk.settings import NotifySettings, SettingsError, TelemetrySettings, load_group
from crosswalk.telemetry import TRACE_KEY, configure, functions, traced_activity, tracing

ACCOUNT = "001RM000003abcdYAA"
TRACE = {
    "instance_id": "onboard-001RM000003abcdYAA-20260101T000000Z",
    "workflow": "account_onboarding",
    "attempt": 2,
    "sf_account_id": ACCOUNT,
    "traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
}


@pytest.fixture
def local_server() -> Iterator[str]:
    """A real HTTP server on a free port: 200 with a Salesforce-style limit header, or 503."""

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            status = 503 if self.path.startswith("/down") else 200
            self.send_response(status)
            self.send_header("Sforce-Limit-Info", "api-usage=25/15000")
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        do_GET = do_POST = _answer

        def log_message(self, format: str, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_without_a_connection_string_or_endpoint_nothing_is_installed():
    assert configure(load_group(TelemetrySettings, {})) is False
    assert not tracing.active()
    seen = []

    def step(payload: dict) -> dict:
        seen.append(payload)
        return {"ok": True}

    assert traced_activity(step, "payload")(payload={"a": 1, TRACE_KEY: TRACE}) == {"ok": True}
    assert seen == [{"a": 1}]


def test_a_bad_endpoint_is_named_by_its_app_setting():
    with pytest.raises(SettingsError, match="OTEL_EXPORTER_OTLP_ENDPOINT"):
        load_group(TelemetrySettings, {"OTEL_EXPORTER_OTLP_ENDPOINT": "collector"})


def test_an_activity_runs_in_a_span_with_its_workflows_correlation(telemetry):
    seen = []

    def d2c_invite_user(payload: dict) -> dict:
        seen.append(payload)
        return {"user_id": "u-1"}

    run = traced_activity(d2c_invite_user, "payload")
    run(payload={"customer_id": "c-9", "invite": {}, TRACE_KEY: TRACE})

    (span,) = telemetry.spans()
    assert seen == [{"customer_id": "c-9", "invite": {}}]  # the activity never sees `_trace`
    assert span.name == "activity d2c_invite_user"
    assert span.attributes["crosswalk.sf_account_id"] == ACCOUNT
    assert span.attributes["crosswalk.d2c_customer_id"] == "c-9"
    assert span.attributes["crosswalk.instance_id"] == TRACE["instance_id"]
    assert span.attributes["crosswalk.workflow"] == "account_onboarding"
    assert span.attributes["crosswalk.step"] == "d2c_invite_user"
    assert span.attributes["crosswalk.attempt"] == 2
    assert span.attributes["crosswalk.compensation"] is False
    assert f"{span.context.trace_id:032x}" == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert f"{span.parent.span_id:016x}" == "00f067aa0ba902b7"


def test_each_activity_continues_its_own_workflows_trace(telemetry):
    other = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    run = traced_activity(lambda payload: {}, "payload", name="d2c_invite_user")

    for traceparent in (TRACE["traceparent"], other, TRACE["traceparent"], "00-zz-bad-01"):
        run(payload={TRACE_KEY: {**TRACE, "traceparent": traceparent}})

    spans = telemetry.spans()
    assert [f"{s.context.trace_id:032x}" for s in spans[:3]] == [
        "4bf92f3577b34da6a3ce929d0e0e4736",
        "0af7651916cd43dd8448eb211c80319c",
        "4bf92f3577b34da6a3ce929d0e0e4736",
    ]
    assert [f"{s.parent.span_id:016x}" for s in spans[:3]] == [
        "00f067aa0ba902b7",
        "b7ad6b7169203331",
        "00f067aa0ba902b7",
    ]
    assert spans[3].parent is None  # an unreadable traceparent starts a trace of its own


def test_a_failed_activity_records_the_error_taxonomys_kind_system_and_code(telemetry):
    def d2c_create_customer(payload: dict) -> dict:
        raise TransientError("D2C answered 503", system="d2c", status=503, code="unavailable")

    run = traced_activity(d2c_create_customer, "payload")
    with pytest.raises(TransientError):
        run(payload={TRACE_KEY: {**TRACE, "compensation": True}})

    (span,) = telemetry.spans()
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes["crosswalk.error.kind"] == "transient"
    assert span.attributes["crosswalk.error.system"] == "d2c"
    assert span.attributes["crosswalk.error.status"] == 503
    assert span.attributes["crosswalk.error.code"] == "unavailable"
    assert span.attributes["crosswalk.compensation"] is True
    assert [event.name for event in span.events] == ["exception"]


def test_outbound_calls_are_client_spans_with_the_account_id_and_are_measured(
    telemetry, local_server
):
    def sf_read_account(payload: dict) -> dict:
        session = make_session(system="salesforce")
        session.get(f"{local_server}/services/data/v59.0/query", timeout=5)
        make_session(system="d2c").get(f"{local_server}/down", timeout=5)
        return {}

    traced_activity(sf_read_account, "payload")(payload={"account_id": ACCOUNT})

    clients = [s for s in telemetry.spans() if s.kind is SpanKind.CLIENT]
    activity = next(s for s in telemetry.spans() if s.name == "activity sf_read_account")
    assert [s.attributes["crosswalk.system"] for s in clients] == ["salesforce", "d2c"]
    for span in clients:
        assert span.attributes["crosswalk.sf_account_id"] == ACCOUNT
        assert span.parent.span_id == activity.context.span_id
    durations = telemetry.points("crosswalk.external.duration")
    assert durations == {
        (("status", "200"), ("system", "salesforce")): 1,
        (("status", "503"), ("system", "d2c")): 1,
    }
    assert telemetry.points("crosswalk.external.errors") == {
        (("status", "503"), ("system", "d2c")): 1
    }
    assert telemetry.points("crosswalk.salesforce.api_remaining") == {(("max", 15000),): 15000 - 25}


def test_the_chat_webhooks_secret_url_stays_out_of_its_client_span(telemetry, local_server):
    secret = f"{local_server}/webhookb2/secret-token-123"
    chat = ChatWebhook(NotifySettings.model_validate({"webhook_url": secret}))

    chat.post({"text": "hello"})

    (span,) = [s for s in telemetry.spans() if s.kind is SpanKind.CLIENT]
    exported = json.dumps(dict(span.attributes)) + span.name
    assert "secret-token-123" not in exported
    assert span.attributes["crosswalk.system"] == "chat"


def test_every_log_record_made_during_an_activity_carries_its_correlation(telemetry, caplog):
    def notify_people(payload: dict) -> dict:
        logging.getLogger("crosswalk.notify").warning("approval_requested")
        return {}

    with caplog.at_level(logging.WARNING, logger="crosswalk.notify"):
        traced_activity(notify_people, "payload")(payload={TRACE_KEY: TRACE})
        logging.getLogger("crosswalk.notify").warning("outside any activity")

    inside, outside = caplog.records
    assert getattr(inside, "crosswalk.sf_account_id") == ACCOUNT
    assert getattr(inside, "crosswalk.instance_id") == TRACE["instance_id"]
    assert getattr(inside, "crosswalk.step") == "notify_people"
    assert not hasattr(outside, "crosswalk.sf_account_id")


@pytest.mark.azurite
def test_blob_calls_from_an_activity_are_client_spans_with_the_account_id(
    telemetry, azurite_connection_string
):
    from crosswalk.lake.blob import BlobLake

    lake = BlobLake.from_connection_string(
        azurite_connection_string, f"lake-{uuid.uuid4().hex[:12]}", retry_total=0
    )

    def lake_put_account_snapshot(payload: dict) -> dict:
        return {"path": lake.put_json("raw/salesforce/account/x.json", {"Id": ACCOUNT})}

    try:
        traced_activity(lake_put_account_snapshot, "payload")(payload={"account_id": ACCOUNT})
    finally:
        lake.close()

    clients = [s for s in telemetry.spans() if s.kind is SpanKind.CLIENT]
    assert clients  # the container's creation and the upload, through azure-core's requests
    assert {s.attributes["crosswalk.sf_account_id"] for s in clients} == {ACCOUNT}


@pytest.mark.azurite
def test_blob_calls_are_measured_by_system_and_status(telemetry, azurite_connection_string):
    from crosswalk.lake.blob import BlobLake

    lake = BlobLake.from_connection_string(
        azurite_connection_string, f"lake-{uuid.uuid4().hex[:12]}", retry_total=0
    )
    try:
        lake.put_json("raw/x.json", {"Id": ACCOUNT})
        assert lake.exists("raw/missing.json") is False
    finally:
        lake.close()

    durations = telemetry.points("crosswalk.external.duration")
    statuses = {dict(key)["status"] for key in durations if dict(key)["system"] == "blob"}
    assert "201" in statuses and "404" in statuses  # the upload, and the miss
    errors = telemetry.points("crosswalk.external.errors")
    assert not any(dict(key)["status"] == "404" for key in errors)  # a miss is an answer


@pytest.mark.cosmos
def test_cosmos_calls_are_measured_by_system_and_status(telemetry, cosmos_endpoint):
    from tests.storage.conftest import _cosmos_store

    opened = _cosmos_store(cosmos_endpoint)  # a fresh container, deleted at the end
    store = next(opened)
    try:
        assert store.get("001000000000001AAA") is None
    finally:
        opened.close()

    durations = telemetry.points("crosswalk.external.duration")
    assert any(dict(key) == {"system": "cosmos", "status": "404"} for key in durations)


def _entity_batch(answer: str) -> Any:
    """An entity function's batch span around the SDK's handle, which answers `answer`."""
    body = json.dumps(
        {
            "self": {"name": "record_sync", "key": ACCOUNT},
            "state": json.dumps({"note": '"isError": true, inside the state only'}),
            "batch": [{"name": "apply"}, {"name": "get"}],
        }
    )

    class Context:
        pass

    context = Context()
    context.body = body  # type: ignore[attr-defined]
    return functions._with_batch_span(lambda _: answer, "record_sync")(context)


@pytest.mark.parametrize(
    ("results", "failed"),
    [
        ([{"isError": False, "result": "{}"}, {"isError": False, "result": "{}"}], 0),
        ([{"isError": False, "result": "{}"}, {"isError": True, "result": "boom"}], 1),
    ],
)
def test_an_entity_batch_span_counts_its_failed_operations(telemetry, results, failed):
    answer = json.dumps(
        {"entityState": json.dumps({"isError": True}), "results": results, "signals": []}
    )

    _entity_batch(answer)

    (span,) = telemetry.spans()
    assert span.name == "entity record_sync"
    assert span.attributes["crosswalk.entity.id"] == f"@record_sync@{ACCOUNT}"
    assert span.attributes["crosswalk.entity.operations"] == ("apply", "get")
    assert span.attributes["crosswalk.entity.failed_operations"] == failed
    assert (span.status.status_code is StatusCode.ERROR) == bool(failed)
