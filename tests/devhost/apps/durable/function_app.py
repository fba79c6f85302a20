"""Conformance app: one orchestrator per Durable behaviour, and an HTTP client facade."""

import json
import os
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)

# Outside the app folder when a test gives none, so no run leaves files in the tree.
STATE_DIR = os.environ.get("CONFORMANCE_STATE_DIR") or tempfile.gettempdir()


# -- activities ---------------------------------------------------------------------------
@app.activity_trigger(input_name="name")
def say_hello(name: str) -> str:
    return f"Hello {name}"


@app.activity_trigger(input_name="payload")
def boom(payload: str) -> str:
    raise ValueError(f"kaboom {payload}")


@app.activity_trigger(input_name="key")
def flaky(key: str) -> str:
    """Fails until it has been called `n` times for `key` (counted in a file)."""
    name, _, n = key.partition(":")
    path = Path(STATE_DIR) / f"flaky-{name}"
    count = int(path.read_text()) + 1 if path.exists() else 1
    path.write_text(str(count))
    if count < int(n):
        raise RuntimeError(f"attempt {count} failed")
    return f"ok after {count}"


@app.activity_trigger(input_name="value")
async def double_async(value: int) -> int:
    return value * 2


@app.activity_trigger(input_name="unused")
def read_setting(unused: str) -> str:
    return os.environ.get("CONFORMANCE_SETTING", "<unset>")


# -- orchestrators ------------------------------------------------------------------------
@app.orchestration_trigger(context_name="context")
def sequence(context: df.DurableOrchestrationContext):
    names = context.get_input() or ["Tokyo", "Seattle", "London"]
    out = []
    for n in names:
        out.append((yield context.call_activity("say_hello", n)))
    return out


@app.orchestration_trigger(context_name="context")
def fan_out(context: df.DurableOrchestrationContext):
    n = (context.get_input() or {}).get("n", 5)
    results = yield context.task_all([context.call_activity("double_async", i) for i in range(n)])
    return sum(results)


@app.orchestration_trigger(context_name="context")
def catches_activity_error(context: df.DurableOrchestrationContext):
    try:
        yield context.call_activity("boom", "x1")
    except Exception as exc:
        return {"caught": str(exc)}
    return {"caught": None}


@app.orchestration_trigger(context_name="context")
def fails(context: df.DurableOrchestrationContext):
    yield context.call_activity("say_hello", "before")
    raise RuntimeError("orchestrator gave up")


@app.orchestration_trigger(context_name="context")
def unhandled_activity_error(context: df.DurableOrchestrationContext):
    yield context.call_activity("boom", "x2")
    return "unreachable"


@app.orchestration_trigger(context_name="context")
def retrying(context: df.DurableOrchestrationContext):
    spec = context.get_input()
    opts = df.RetryOptions(first_retry_interval_in_milliseconds=1000, max_number_of_attempts=3)
    try:
        return (yield context.call_activity_with_retry("flaky", opts, spec))
    except Exception as exc:
        return {"failed": str(exc)}


@app.orchestration_trigger(context_name="context")
def concurrent_retries(context: df.DurableOrchestrationContext):
    key = context.get_input()
    opts = df.RetryOptions(first_retry_interval_in_milliseconds=1000, max_number_of_attempts=3)
    a = context.call_activity_with_retry("flaky", opts, f"{key}a:2")
    b = context.call_activity_with_retry("flaky", opts, f"{key}b:1")
    both = yield context.task_all([a, b])
    c = yield context.call_activity("say_hello", "after")
    return [*both, c]


@app.orchestration_trigger(context_name="context")
def parent(context: df.DurableOrchestrationContext):
    child_id = f"{context.instance_id}-child"
    explicit = yield context.call_sub_orchestrator("sequence", ["A", "B"], child_id)
    generated = yield context.call_sub_orchestrator("sequence", ["C"])
    try:
        yield context.call_sub_orchestrator("fails")
        failure = None
    except Exception as exc:
        failure = str(exc)
    opts = df.RetryOptions(first_retry_interval_in_milliseconds=1000, max_number_of_attempts=2)
    retried = yield context.call_sub_orchestrator_with_retry("retrying", opts, f"{child_id}:2")
    return {"explicit": explicit, "generated": generated, "failure": failure, "retried": retried}


@app.orchestration_trigger(context_name="context")
def long_timer(context: df.DurableOrchestrationContext):
    start = context.current_utc_datetime
    yield context.create_timer(start + timedelta(hours=72))
    return (context.current_utc_datetime - start).total_seconds()


@app.orchestration_trigger(context_name="context")
def approval(context: df.DurableOrchestrationContext):
    """Event raced against a timer; the losing timer is cancelled."""
    deadline = context.current_utc_datetime + timedelta(hours=24)
    timer = context.create_timer(deadline)
    event = context.wait_for_external_event("Approval")
    context.set_custom_status({"stage": "waiting"})
    winner = yield context.task_any([event, timer])
    if winner == event:
        timer.cancel()
        context.set_custom_status({"stage": "approved"})
        return {"approved": event.result}
    context.set_custom_status({"stage": "timed out"})
    return {"approved": None}


@app.orchestration_trigger(context_name="context")
def early_events(context: df.DurableOrchestrationContext):
    """Waits only after an activity: events raised before the wait must be buffered."""
    yield context.create_timer(context.current_utc_datetime + timedelta(minutes=5))
    first = yield context.wait_for_external_event("First")
    return first


@app.orchestration_trigger(context_name="context")
def counter_loop(context: df.DurableOrchestrationContext):
    """continue_as_new per event; events raised meanwhile are carried to the next run."""
    total = context.get_input() or 0
    value = yield context.wait_for_external_event("Add")
    total += int(value)
    if total >= 6:
        return total
    context.continue_as_new(total)


@app.orchestration_trigger(context_name="context")
def deterministic(context: df.DurableOrchestrationContext):
    ids = [str(context.new_uuid()), str(context.new_uuid())]
    t0 = context.current_utc_datetime.isoformat()
    replays = 0 if context.is_replaying else 1
    yield context.call_activity("say_hello", "x")
    t1 = context.current_utc_datetime.isoformat()
    return {
        "ids": ids,
        "t0": t0,
        "t1": t1,
        "tz": context.current_utc_datetime.tzname(),
        "first_run_flag": replays,
        "replaying_after": context.is_replaying,
    }


@app.orchestration_trigger(context_name="context")
def http_call(context: df.DurableOrchestrationContext):
    """call_http with the input's method, uri, content, headers (and managed identity)."""
    spec = context.get_input()
    token = df.ManagedIdentityTokenSource(spec["identity"]) if spec.get("identity") else None
    try:
        response = yield context.call_http(
            spec["method"],
            spec["uri"],
            content=spec.get("content"),
            headers=spec.get("headers"),
            token_source=token,
        )
    except Exception as exc:  # the task failed: the orchestrator sees why
        return {"error": str(exc)}
    return response


@app.orchestration_trigger(context_name="context")
def waits_forever(context: df.DurableOrchestrationContext):
    context.set_custom_status("waiting")
    value = yield context.wait_for_external_event("Go")
    return value


@app.orchestration_trigger(context_name="context")
def reads_setting(context: df.DurableOrchestrationContext):
    return (yield context.call_activity("read_setting", None))


@app.orchestration_trigger(context_name="context")
def plain_function(context: df.DurableOrchestrationContext):
    return {"input": context.get_input(), "id": context.instance_id}


@app.orchestration_trigger(context_name="context")
def fails_once(context: df.DurableOrchestrationContext):
    """First run fails in an activity; after rewind the activity succeeds (file flag)."""
    key = context.get_input()
    a = yield context.call_activity("say_hello", "one")
    b = yield context.call_activity("flaky", f"{key}:2")
    return [a, b]


@app.orchestration_trigger(context_name="context")
def handles_one_failure(context: df.DurableOrchestrationContext):
    """A failure it handles, then one it does not (both fail on the first call only)."""
    key = context.get_input()
    try:
        handled = yield context.call_activity("flaky", f"{key}-handled:2")
    except Exception:
        handled = "handled"
    unhandled = yield context.call_activity("flaky", f"{key}-unhandled:2")
    return [handled, unhandled]


@app.orchestration_trigger(context_name="context")
def counts_then_fails_once(context: df.DurableOrchestrationContext):
    """A child: its first activity counts its calls; its second fails on the first call."""
    key = context.get_input()
    first = yield context.call_activity("flaky", f"{key}-first:1")
    second = yield context.call_activity("flaky", f"{key}-second:2")
    return [first, second]


@app.orchestration_trigger(context_name="context")
def parent_of_failing_child(context: df.DurableOrchestrationContext):
    key = context.get_input()
    child = yield context.call_sub_orchestrator("counts_then_fails_once", key, f"{key}-child")
    return {"child": child}


# -- HTTP client facade (the SDK's DurableOrchestrationClient, unmodified) ---------------
def _json(data, status=200):
    return func.HttpResponse(json.dumps(data), status_code=status, mimetype="application/json")


def _status(s):
    return s.to_json() if s else None


@app.route(route="client/start/{name}/{instance_id?}", methods=["POST"])
@app.durable_client_input(client_name="client")
async def client_start(req: func.HttpRequest, client: df.DurableOrchestrationClient):
    body = req.get_body()
    data = json.loads(body) if body else None
    iid = await client.start_new(
        req.route_params["name"], req.route_params.get("instance_id"), data
    )
    return client.create_check_status_response(req, iid)


@app.route(route="client/wait/{name}", methods=["POST"])
@app.durable_client_input(client_name="client")
async def client_wait(req: func.HttpRequest, client: df.DurableOrchestrationClient):
    body = req.get_body()
    iid = await client.start_new(req.route_params["name"], None, json.loads(body) if body else None)
    timeout = int(req.params.get("timeout", "5000"))
    return await client.wait_for_completion_or_create_check_status_response(req, iid, timeout, 50)


@app.route(route="client/status/{instance_id}", methods=["GET"])
@app.durable_client_input(client_name="client")
async def client_status(req: func.HttpRequest, client: df.DurableOrchestrationClient):
    flag = req.params.get("history") == "1"
    s = await client.get_status(
        req.route_params["instance_id"],
        show_history=flag,
        show_history_output=flag,
        show_input=True,
    )
    data = _status(s) if s and s.instance_id else None
    if data is not None and flag:
        data["historyEvents"] = getattr(s, "historyEvents", None)
    return _json(data)


@app.route(route="client/list", methods=["GET"])
@app.durable_client_input(client_name="client")
async def client_list(req: func.HttpRequest, client: df.DurableOrchestrationClient):
    prefix = req.params.get("prefix")
    if prefix or req.params.get("status"):
        statuses = [
            df.OrchestrationRuntimeStatus(s)
            for s in filter(None, req.params.get("status", "").split(","))
        ]
        found = await client.get_status_by(
            created_time_from=datetime(2000, 1, 1, tzinfo=UTC),
            runtime_status=statuses or None,
            instance_id_prefix=prefix,
        )
    else:
        found = await client.get_status_all()
    return _json(sorted(s.instance_id for s in found))


@app.route(route="client/{op:alpha}/{instance_id}", methods=["POST", "DELETE"])
@app.durable_client_input(client_name="client")
async def client_op(req: func.HttpRequest, client: df.DurableOrchestrationClient):
    op, iid = req.route_params["op"], req.route_params["instance_id"]
    reason = req.params.get("reason", "because")
    if op == "raise":
        await client.raise_event(iid, req.params["event"], req.get_json())
    elif op == "terminate":
        await client.terminate(iid, reason)
    elif op == "suspend":
        await client.suspend(iid, reason)
    elif op == "resume":
        await client.resume(iid, reason)
    elif op == "rewind":
        await client.rewind(iid, reason)
    elif op == "purge":
        result = await client.purge_instance_history(iid)
        return _json({"deleted": result.instances_deleted})
    else:
        return _json({"error": op}, 400)
    return _json({"done": op})


@app.route(route="client/purge_by", methods=["DELETE"])
@app.durable_client_input(client_name="client")
async def client_purge_by(req: func.HttpRequest, client: df.DurableOrchestrationClient):
    statuses = [df.OrchestrationRuntimeStatus(s) for s in req.params["status"].split(",")]
    result = await client.purge_instance_history_by(
        created_time_from=datetime(2000, 1, 1, tzinfo=UTC), runtime_status=statuses
    )
    return _json({"deleted": result.instances_deleted})
