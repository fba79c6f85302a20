"""Observability end to end: real onboardings on devhost + sandbox, exporting over OTLP/HTTP.

devhost runs function code in worker processes, as the Functions host does, so the app's
telemetry leaves its process the way it does in Azure: exported (here over OTLP/HTTP to a
receiver in the test) and decoded from protobuf with opentelemetry-proto. The in-process
pieces are tested with the SDK's in-memory exporters in tests/telemetry/.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

import sandbox
from devhost.testing import run
from scripts.localstack import APP_DIR, app_env, onboardable_accounts
from scripts.otlp_sink import Received, Span, eventually, receiver
from tests.support.stack import easy_auth_principal

pytestmark = pytest.mark.slow

CLIENT = 3  # opentelemetry.proto SpanKind
ERROR = 2  # opentelemetry.proto Status code
CALLER_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
CALLER = f"00-{CALLER_TRACE}-00f067aa0ba902b7-01"


def _telemetry_env(endpoint: str) -> dict[str, str]:
    return {
        "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint,
        "OTEL_METRIC_EXPORT_INTERVAL": "200",
        # the SDK's batch processors read their delays from the environment
        "OTEL_BSP_SCHEDULE_DELAY": "100",
        "OTEL_BLRP_SCHEDULE_DELAY": "100",
        # retries wait on durable timers in real time here (the approval needs the real clock)
        "RETRY_FIRST_INTERVAL_SECONDS": "0.05",
        "RETRY_MAX_ATTEMPTS": "4",
    }


def _waiting_for_approval(stack, instance_id: str) -> None:
    status = stack.host.wait_for(instance_id, statuses={"Running"})
    for _ in range(400):
        if (status.get("customStatus") or {}).get("waiting_for") == "ApprovalDecision":
            return
        status = stack.host.status(instance_id)
    raise AssertionError(f"never waited for approval: {status}")


def _exported_after(received: Received, moment_ns: int, metric: str) -> dict[Any, Any]:
    """Wait for a metric export made after `moment_ns`: it holds every count made before."""

    def check() -> dict[Any, Any] | None:
        newest = received.latest(metric)
        if newest and max(p.time_unix_nano for p in newest.values()) > moment_ns:
            return newest
        return None

    return eventually(check)


def _counts(points: dict[Any, Any], key: str) -> dict[str, float]:
    return {p.attributes[key]: p.value for p in points.values()}


def _client_spans(received: Received, system: str, since: int) -> list[Span]:
    with received.lock:
        spans = received.spans[since:]
    return [s for s in spans if s.kind == CLIENT and s.attributes.get("crosswalk.system") == system]


def test_an_approved_onboarding_with_two_transient_failures_counts_once_and_traces_every_call(
    stack_factory,
):
    with receiver() as (endpoint, received):
        stack = stack_factory(seed=30, time_skipping=False, **_telemetry_env(endpoint))
        account = onboardable_accounts(stack.sb, needs_approval=True)[0]
        account_id = account["Id"]
        stack.sb.faults("d2c", path=r"/customers$", method="POST", status=503, fail_next=2)
        before = stack.sb.stats()

        started = stack.host.post(
            f"/api/accounts/{account_id}/onboard", headers={"traceparent": CALLER}
        )
        instance_id = started.json()["id"]
        _waiting_for_approval(stack, instance_id)
        decided = stack.decide(instance_id, "approve", "known", approver="kim@support")
        status = stack.host.wait_for(instance_id, timeout=60)
        finished_ns = time.time_ns()
        after = stack.sb.stats()

        assert started.status == 202 and decided.status == 202
        assert status["output"]["outcome"] == "synced", status
        customer_id = status["output"]["d2c_customer_id"]

        onboardings = _exported_after(received, finished_ns, "crosswalk.onboardings")
        assert _counts(onboardings, "outcome") == {"synced": 1.0}
        waits = received.latest("crosswalk.approval.wait")
        assert _counts(waits, "decision") == {"approve": 1.0}

        def steps_done() -> list[Span] | None:
            """the write-back step's span has arrived"""
            with received.lock:
                done = [s for s in received.spans if s.name == "activity sf_write_back_d2c_ids"]
            return done or None

        eventually(steps_done)

        def decision_logged() -> bool:
            """the approval decision's log line has arrived"""
            with received.lock:
                return any("approval_decided" in str(log.body) for log in received.logs)

        eventually(decision_logged)
        with received.lock:
            spans = list(received.spans)

    activities = [s for s in spans if s.name.startswith("activity ")]
    by_step: dict[str, list[Span]] = {}
    for span in activities:
        by_step.setdefault(span.attributes["crosswalk.step"], []).append(span)
    # one span per activity run: the create ran three times (two 503s, then success), every
    # other step once, however often the orchestrator replayed around the approval wait
    assert [s.attributes["crosswalk.attempt"] for s in by_step["d2c_create_customer"]] == [1, 2, 3]
    for step, runs in by_step.items():
        if step != "d2c_create_customer":
            assert len(runs) == 1, (step, runs)
    failed = [s for s in by_step["d2c_create_customer"] if s.status_code == ERROR]
    assert len(failed) == 2
    for span in failed:
        assert span.attributes["crosswalk.error.kind"] == "transient"
        assert span.attributes["crosswalk.error.system"] == "d2c"
        assert span.attributes["crosswalk.error.status"] == 503
        assert "exception" in span.events
    for span in activities:
        assert span.attributes["crosswalk.instance_id"] == instance_id
        assert span.attributes["crosswalk.workflow"] == "account_onboarding"
        assert span.attributes["crosswalk.sf_account_id"] == account_id
        assert span.trace_id == CALLER_TRACE  # the HTTP start continued the caller's trace
    assert by_step["profile_upsert"][0].attributes["crosswalk.d2c_customer_id"] == customer_id

    # a client span for every call the sandbox received, each carrying the account id
    for system in ("salesforce", "d2c"):
        clients = _client_spans(received, system, 0)
        assert len(clients) == after[system]["total"] - before[system]["total"], system
        assert {s.attributes.get("crosswalk.sf_account_id") for s in clients} == {account_id}
    d2c_statuses = [
        s.attributes.get("http.response.status_code", s.attributes.get("http.status_code"))
        for s in _client_spans(received, "d2c", 0)
    ]
    assert d2c_statuses.count(503) == 2

    # external calls measured by system and status; the allowance read from Sforce-Limit-Info
    errors = received.latest("crosswalk.external.errors")
    assert {(p.attributes["system"], p.attributes["status"]): p.value for p in errors.values()}[
        ("d2c", "503")
    ] == 2.0
    remaining = received.latest("crosswalk.salesforce.api_remaining")
    used = after["salesforce"]["api_usage"]
    assert [p.value for p in remaining.values()] == [used["max"] - used["used"]]

    # log lines carry the same correlation: the notification (from its activity) and the
    # decision (from the orchestrator, once, not on every replay)
    (decided,) = [log for log in received.logs if "approval_decided" in str(log.body)]
    assert decided.attributes["crosswalk.instance_id"] == instance_id
    assert decided.attributes["crosswalk.sf_account_id"] == account_id
    (notified,) = [log for log in received.logs if "approval_requested" in str(log.body)]
    assert notified.attributes["crosswalk.sf_account_id"] == account_id
    assert notified.attributes["crosswalk.instance_id"] == instance_id
    assert notified.attributes["crosswalk.step"] == "notify_people"
    assert notified.trace_id == CALLER_TRACE


def test_a_compensated_onboarding_reports_its_compensation_spans_and_metrics(stack_factory):
    with receiver() as (endpoint, received):
        stack = stack_factory(seed=12, **_telemetry_env(endpoint))
        account = onboardable_accounts(stack.sb, needs_approval=False)[0]
        stack.sb.faults("d2c", path=r"/users$", method="POST", status=422)

        instance_id = stack.onboard(account["Id"])["id"]
        status = stack.host.wait_for(instance_id, timeout=60)
        finished_ns = time.time_ns()

        assert status["output"]["outcome"] == "compensated", status
        compensations = _exported_after(received, finished_ns, "crosswalk.compensations")
        onboardings = received.latest("crosswalk.onboardings")

        def undo_span() -> list[Span] | None:
            """the deactivation's span has arrived"""
            with received.lock:
                found = [s for s in received.spans if s.name == "activity d2c_deactivate_customer"]
            return found or None

        (undo,) = eventually(undo_span)
        (customer,) = [c for c in stack.sb.d2c_customers() if c["external_ref"] == account["Id"]]
        with received.lock:
            (invite,) = [s for s in received.spans if s.name == "activity d2c_invite_user"]

    assert {
        (p.attributes["step"], p.attributes["outcome"]): p.value for p in compensations.values()
    } == {("d2c_deactivate_customer", "done"): 1.0}
    assert _counts(onboardings, "outcome") == {"compensated": 1.0}
    assert undo.attributes["crosswalk.compensation"] is True
    assert undo.attributes["crosswalk.sf_account_id"] == account["Id"]
    assert undo.attributes["crosswalk.d2c_customer_id"] == customer["id"]
    assert invite.status_code == ERROR
    assert invite.attributes["crosswalk.error.kind"] == "permanent"
    assert invite.attributes["crosswalk.error.status"] == 422
    assert invite.attributes["crosswalk.compensation"] is False


def _spans_named(received: Received, name: str) -> list[Span] | None:
    with received.lock:
        found = [s for s in received.spans if s.name == name]
    return found or None


def test_every_http_trigger_continues_the_callers_trace(stack_factory):
    with receiver() as (endpoint, received):
        stack = stack_factory(seed=12, **_telemetry_env(endpoint))

        answered = stack.host.get("/api/support/openapi.json", headers={"traceparent": CALLER})
        listed = stack.host.get("/api/reconciliations", headers={"traceparent": CALLER})
        (openapi,) = eventually(lambda: _spans_named(received, "trigger support_openapi"))
        (reconciliations,) = eventually(
            lambda: _spans_named(received, "trigger list_reconciliations")
        )

    assert answered.status == 200 and listed.status == 200
    for span in (openapi, reconciliations):
        assert span.trace_id == CALLER_TRACE
        assert span.parent_span_id != ""  # a child of the caller's (host's) span


def test_an_event_grid_trigger_continues_the_trace_a_cloud_event_carries(stack_factory):
    event_trace = "0af7651916cd43dd8448eb211c80319c"
    event = {
        "specversion": "1.0",
        "id": "trace-1",
        "source": "/d2c",
        "type": "customer.ignored_kind",  # acknowledged and landed, nothing started
        "data": {},
        # the CloudEvents distributed tracing extension
        "traceparent": f"00-{event_trace}-b7ad6b7169203331-01",
        "tracestate": "d2c=1",
    }
    with receiver() as (endpoint, received):
        stack = stack_factory(seed=12, **_telemetry_env(endpoint))

        delivered = stack.host.post(
            "/runtime/webhooks/eventgrid?functionName=d2c_events",
            json=[event],
            headers={"aeg-event-type": "Notification"},
        )
        (span,) = eventually(lambda: _spans_named(received, "trigger d2c_events"))

    assert delivered.status == 202, delivered.text
    assert span.trace_id == event_trace
    assert span.parent_span_id == "b7ad6b7169203331"


def test_each_entity_operation_batch_is_a_span_with_the_entity_id(stack_factory):
    with receiver() as (endpoint, received):
        stack = stack_factory(seed=12, **_telemetry_env(endpoint))
        account = onboardable_accounts(stack.sb, needs_approval=False)[0]

        instance_id = stack.onboard(account["Id"])["id"]
        status = stack.host.wait_for(instance_id, timeout=60)

        def all_operations() -> list[Span] | None:
            """every record_sync operation of the onboarding has arrived in a batch span"""
            spans = _spans_named(received, "entity record_sync") or []
            done = [op for s in spans for op in s.attributes["crosswalk.entity.operations"]]
            return spans if "claim" in done and "synced" in done else None

        # batches run in whichever worker process is free, each exporting on its own schedule
        batches = sorted(eventually(all_operations), key=lambda span: span.start_unix_nano)

    assert status["output"]["outcome"] == "synced", status
    operations = [op for s in batches for op in s.attributes["crosswalk.entity.operations"]]
    synced = operations.index("synced")
    assert operations[0] == "claim"
    # the change events of the saga's own writes may be noted after it (triggers/*_changes.py)
    assert set(operations[synced + 1 :]) <= {"note_change"}
    for span in batches:
        assert span.attributes["crosswalk.entity.id"] == f"@record_sync@{account['Id']}"
        assert span.attributes["crosswalk.sf_account_id"] == account["Id"]
        assert span.attributes["crosswalk.entity.failed_operations"] == 0
        assert span.attributes["crosswalk.entity.batch_size"] == len(
            span.attributes["crosswalk.entity.operations"]
        )


def test_the_record_page_links_each_instance_to_its_trace(stack_factory):
    with receiver() as (endpoint, received):
        stack = stack_factory(
            seed=12,
            SUPPORT_TRACE_URL="http://127.0.0.1:16686/trace/{operation_id}",
            **_telemetry_env(endpoint),
        )
        account = onboardable_accounts(stack.sb, needs_approval=False)[0]
        started = stack.host.post(
            f"/api/accounts/{account['Id']}/onboard", headers={"traceparent": CALLER}
        )
        stack.host.wait_for(started.json()["id"], timeout=60)

        record = stack.host.get(
            f"/api/support/records/{account['Id']}",
            headers=easy_auth_principal("kim@support", "Support.Read"),
        )
        steps = eventually(lambda: _spans_named(received, "activity sf_write_back_d2c_ids"))

    assert record.status == 200, record.text
    (instance,) = record.json()["instances"]
    assert instance["operationId"] == CALLER_TRACE == steps[0].trace_id
    assert instance["traceUrl"] == f"http://127.0.0.1:16686/trace/{CALLER_TRACE}"


def test_contact_changes_are_counted_by_outcome(stack_factory):
    with receiver() as (endpoint, received):
        stack = stack_factory(seed=12, **_telemetry_env(endpoint))
        account = onboardable_accounts(stack.sb, needs_approval=False)[0]
        synced = stack.host.wait_for(stack.onboard(account["Id"])["id"], timeout=60)
        assert synced["output"]["outcome"] == "synced", synced
        other = onboardable_accounts(stack.sb, needs_approval=False)[0]  # not onboarded

        stack.sb.salesforce_create("Contact", {"AccountId": account["Id"], "LastName": "Neu"})
        stack.sb.salesforce_create("Contact", {"AccountId": other["Id"], "LastName": "Fremd"})
        assert stack.sb.wait_events_drained(timeout=30)
        for listed in stack.host.get(
            "/runtime/webhooks/durabletask/instances?instanceIdPrefix=contact-"
        ).json():
            stack.host.wait_for(listed["instanceId"], timeout=60)
        changes = _exported_after(received, time.time_ns(), "crosswalk.contact_changes")

    assert _counts(changes, "outcome") == {"refreshed": 1.0, "not_synced": 1.0}


def test_a_stopped_worker_sends_what_it_had_not_exported_yet(tmp_path):
    """With the SDK's default intervals (spans every 5 s, metrics every 60 s) nothing of a
    short onboarding would have left the worker when the host stops: stopping flushes it."""
    with receiver() as (endpoint, received):
        with sandbox.run(seed=14) as sb:
            account_id = onboardable_accounts(sb, needs_approval=False)[0]["Id"]
            env = app_env(sb, tmp_path, OTEL_EXPORTER_OTLP_ENDPOINT=endpoint)
            with run(APP_DIR, env=env, time_skipping=True) as host:
                instance_id = host.post(f"/api/accounts/{account_id}/onboard").json()["id"]
                status = host.wait_for(instance_id, timeout=60)
                with received.lock:
                    points_before_stop = len(received.points)
        with received.lock:
            names = {s.name for s in received.spans}
        onboardings = received.latest("crosswalk.onboardings")

    assert status["output"]["outcome"] == "synced", status
    assert points_before_stop == 0  # the first metric export was 60 s away
    assert {"start account_onboarding", "activity sf_write_back_d2c_ids"} <= names
    assert _counts(onboardings, "outcome") == {"synced": 1.0}
