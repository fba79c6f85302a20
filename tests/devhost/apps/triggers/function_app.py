"""Conformance app for timer and Event Grid triggers; each invocation is recorded in a file."""

import json
import os
from pathlib import Path

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)

STATE_DIR = Path(os.environ.get("CONFORMANCE_STATE_DIR", "."))


def record(kind: str, item: dict) -> None:
    with open(STATE_DIR / f"{kind}.jsonl", "a") as f:
        f.write(json.dumps(item, default=str) + "\n")


# -- timers ---------------------------------------------------------------------------------
@app.timer_trigger(schedule="%TICK_SCHEDULE%", arg_name="timer")
def ticker(timer: func.TimerRequest) -> None:
    record("ticker", {"past_due": timer.past_due, "status": timer.schedule_status})


@app.timer_trigger(schedule="01:00:00", arg_name="timer", run_on_startup=True, use_monitor=False)
def hourly_on_startup(timer: func.TimerRequest) -> None:
    record("hourly", {"past_due": timer.past_due, "status": timer.schedule_status})


@app.timer_trigger(schedule="0 0 */6 * * *", arg_name="timer", run_on_startup=True)
def six_hourly_on_startup(timer: func.TimerRequest) -> None:
    record("startup", {"past_due": timer.past_due, "status": timer.schedule_status})


# -- Event Grid -----------------------------------------------------------------------------
@app.event_grid_trigger(arg_name="event")
def on_event(event: func.EventGridEvent) -> None:
    data = event.get_json()
    if isinstance(data, dict) and data.get("fail"):
        raise RuntimeError("asked to fail")
    fields = ("id", "topic", "subject", "event_type", "data_version", "source", "type")
    item = {f: getattr(event, f) for f in fields if hasattr(event, f)}
    item["class"] = type(event).__name__
    item["data"] = data
    item["time"] = str(getattr(event, "event_time", None) or getattr(event, "time", None))
    record("events", item)


@app.event_grid_trigger(arg_name="event")
@app.durable_client_input(client_name="client")
async def start_from_event(event: func.EventGridEvent, client: df.DurableOrchestrationClient):
    await client.start_new("echo", f"eg-{event.id}", event.get_json())


@app.orchestration_trigger(context_name="context")
def echo(context: df.DurableOrchestrationContext):
    return context.get_input()
