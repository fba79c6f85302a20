"""Conformance app for the Durable HTTP API's answers (history shape, limits, paging)."""

import os
import time
from datetime import timedelta
from pathlib import Path

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)

STATE_DIR = Path(os.environ.get("CONFORMANCE_STATE_DIR", "."))


@app.activity_trigger(input_name="name")
def greet(name: str) -> str:
    return f"Hello {name}"


@app.activity_trigger(input_name="name")
def refuse(name: str) -> str:
    raise ValueError(f"no {name}")


@app.activity_trigger(input_name="flag")
def held(flag: str) -> str:
    """Stays in flight until the test creates the flag file (bounded, so nothing hangs)."""
    path = STATE_DIR / flag
    for _ in range(2000):
        if path.exists():
            return "released"
        time.sleep(0.005)
    return "gave up"


@app.orchestration_trigger(context_name="context")
def child(context: df.DurableOrchestrationContext):
    return (yield context.call_activity("greet", context.get_input()["name"]))


@app.orchestration_trigger(context_name="context")
def tour(context: df.DurableOrchestrationContext):
    """Every kind of history event: activity, failure, sub-orchestration, timer, event."""
    spec = context.get_input()
    first = yield context.call_activity("greet", "Ada")
    try:
        refused = yield context.call_activity("refuse", "Bob")
    except Exception as exc:  # the failure is part of the tour
        refused = str(exc)[:0]
    nested = yield context.call_sub_orchestrator("child", {"name": "Cy"})
    yield context.create_timer(context.current_utc_datetime + timedelta(seconds=1))
    go = yield context.wait_for_external_event("Go")
    last = yield context.call_activity("held", spec["flag"])
    return [first, nested, go, last, refused]


@app.orchestration_trigger(context_name="context")
def status_of_size(context: df.DurableOrchestrationContext):
    """Sets a custom status of `chars` characters (after a first, small one)."""
    context.set_custom_status({"stage": "small"})
    yield context.call_activity("greet", "x")
    context.set_custom_status({"stage": "big", "pad": "x" * context.get_input()["chars"]})
    yield context.call_activity("greet", "y")
    return "done"


@app.orchestration_trigger(context_name="context")
def waits(context: df.DurableOrchestrationContext):
    return (yield context.wait_for_external_event("Go"))


@app.entity_trigger(context_name="context")
def journal(context: df.DurableEntityContext):
    """Appends each `add` input in the order operations reach it."""
    seen = context.get_state(lambda: [])
    if context.operation_name == "add":
        seen.append(context.get_input())
    context.set_state(seen)


@app.activity_trigger(input_name="size")
def produce(size: int) -> str:
    return "x" * size


@app.orchestration_trigger(context_name="context")
def sends(context: df.DurableOrchestrationContext):
    """An activity input of `size` characters."""
    return (yield context.call_activity("greet", "x" * context.get_input()["size"]))[:20]


@app.orchestration_trigger(context_name="context")
def receives(context: df.DurableOrchestrationContext):
    """An activity result of `size` characters; a refused one is caught."""
    try:
        return len((yield context.call_activity("produce", context.get_input()["size"])))
    except Exception as exc:
        return str(exc)
