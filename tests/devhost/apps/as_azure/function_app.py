"""Conformance app: where the real host waits, hangs or fails, devhost must too (issue 14).

Each orchestrator exercises one difference between Python's view of the actions and how the
extension's OutOfProcOrchestrationShim carries them out (durable-protocol.md §2.5, §2.7).
"""

import os
from datetime import timedelta
from pathlib import Path

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)

STATE_DIR = Path(os.environ.get("CONFORMANCE_STATE_DIR", "."))


@app.activity_trigger(input_name="payload")
def boom(payload: str) -> str:
    raise ValueError(f"kaboom {payload}")


@app.activity_trigger(input_name="name")
def say_a(name: str) -> str:
    return f"A {name}"


@app.activity_trigger(input_name="name")
def say_b(name: str) -> str:
    return f"B {name}"


@app.entity_trigger(context_name="context")
def keeper(context: df.DurableEntityContext) -> None:
    value = context.get_state(lambda: 0)
    if context.operation_name == "add":
        context.set_state(value + context.get_input())
        context.set_result(value + context.get_input())
    elif context.operation_name == "unserialisable":
        context.set_result({1, 2, 3})  # a set is not JSON: the SDK fails the whole batch
    else:
        context.set_result(value)


# 1. a task_all child fails while a sibling still waits
@app.orchestration_trigger(context_name="context")
def fan_out_failure(context: df.DurableOrchestrationContext):
    try:
        yield context.task_all(
            [context.call_activity("boom", "1"), context.wait_for_external_event("Sibling")]
        )
    except Exception:
        return "caught"
    return "no failure"


# 2. one event raised before two waits
@app.orchestration_trigger(context_name="context")
def two_waits(context: df.DurableOrchestrationContext):
    yield context.create_timer(context.current_utc_datetime + timedelta(minutes=5))
    first = yield context.wait_for_external_event("E")
    second = yield context.wait_for_external_event("E")
    return [first, second]


# 3. an event buffered (never waited for) before continue-as-new
@app.orchestration_trigger(context_name="context")
def buffered_then_continue(context: df.DurableOrchestrationContext):
    if context.get_input() == "second":
        context.set_custom_status("second execution")
        value = yield context.wait_for_external_event("E")
        return value
    yield context.create_timer(context.current_utc_datetime + timedelta(minutes=5))
    context.continue_as_new("second")


# 4. raises after scheduling work in the same episode; and with a timer still open
@app.orchestration_trigger(context_name="context")
def signals_then_raises(context: df.DurableOrchestrationContext):
    yield context.call_activity("say_a", "first")
    context.signal_entity(df.EntityId("keeper", context.get_input()["key"]), "add", 5)
    raise RuntimeError("gave up after signalling")


@app.orchestration_trigger(context_name="context")
def raises_with_timer_open(context: df.DurableOrchestrationContext):
    timer = context.create_timer(context.current_utc_datetime + timedelta(hours=1))
    yield context.task_any([context.wait_for_external_event("Go"), timer])
    raise RuntimeError("gave up, timer not cancelled")


@app.orchestration_trigger(context_name="context")
def completes_with_timer_open(context: df.DurableOrchestrationContext):
    timer = context.create_timer(context.current_utc_datetime + timedelta(hours=1))
    winner = yield context.task_any([context.wait_for_external_event("Go"), timer])
    return "event" if winner != timer else "timer"


# 5. sub-orchestration ids Azure cannot start
@app.orchestration_trigger(context_name="context")
def waits_for_go(context: df.DurableOrchestrationContext):
    return (yield context.wait_for_external_event("Go"))


@app.orchestration_trigger(context_name="context")
def starts_child(context: df.DurableOrchestrationContext):
    body = context.get_input()
    child_id = body["child_id"] if body["child_id"] != "self" else context.instance_id
    try:
        result = yield context.call_sub_orchestrator(body["name"], "x", child_id)
    except Exception as exc:
        return f"failed: {exc}"
    return f"done: {result}"


# 6. the code changed between replays
@app.orchestration_trigger(context_name="context")
def changes_its_mind(context: df.DurableOrchestrationContext):
    changed = (STATE_DIR / f"{context.instance_id}.changed").exists()
    first = yield context.call_activity("say_b" if changed else "say_a", "one")
    yield context.wait_for_external_event("Go")
    return first


# 7. an entity batch the SDK cannot serialise
@app.orchestration_trigger(context_name="context")
def calls_bad_entity(context: df.DurableOrchestrationContext):
    keeper_id = df.EntityId("keeper", context.get_input()["key"])
    try:
        yield context.call_entity(keeper_id, "unserialisable")
    except Exception as exc:
        return f"answered: {exc}"
    return "answered"


# 8. retry gives up: the last back-off timer fires at once
@app.orchestration_trigger(context_name="context")
def retries_then_fails(context: df.DurableOrchestrationContext):
    opts = df.RetryOptions(first_retry_interval_in_milliseconds=3_600_000, max_number_of_attempts=2)
    try:
        yield context.call_activity_with_retry("boom", opts, "retry")
    except Exception:
        return "gave up"
    return "succeeded"


# 9. failure text of a sub-orchestration and of an activity
@app.orchestration_trigger(context_name="context")
def child_raises(context: df.DurableOrchestrationContext):
    raise ValueError("child boom")


@app.orchestration_trigger(context_name="context")
def catches_failures(context: df.DurableOrchestrationContext):
    texts = []
    for task in (context.call_sub_orchestrator("child_raises"), context.call_activity("boom", "9")):
        try:
            yield task
        except Exception as exc:
            texts.append(str(exc))
    return texts


@app.orchestration_trigger(context_name="context")
def calls_unknown_activity(context: df.DurableOrchestrationContext):
    try:
        yield context.call_activity("no_such_activity", "x")
    except Exception as exc:
        return f"failed: {exc}"
    return "done"


@app.orchestration_trigger(context_name="context")
def signals_unknown_entity(context: df.DurableOrchestrationContext):
    context.signal_entity(df.EntityId("no_such_entity", "k"), "poke")
    return (yield context.call_activity("say_a", "after"))
