"""Kill -9 target: chained and fanned-out activities that log every execution."""

import os
import time
from datetime import timedelta
from pathlib import Path

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.activity_trigger(input_name="job")
def step(job: dict) -> int:
    """Slow enough that kills land mid-run; appends one line per execution."""
    time.sleep(0.03)
    log = Path(os.environ["DURABILITY_LOG"])
    with log.open("a") as f:
        f.write(f"{job['instance']}:{job['n']}\n")
    return job["n"] * job["n"]


@app.orchestration_trigger(context_name="context")
def chain(context: df.DurableOrchestrationContext):
    total = 0
    for n in range(20):
        total += yield context.call_activity("step", {"instance": context.instance_id, "n": n})
    yield context.create_timer(context.current_utc_datetime + timedelta(milliseconds=50))
    fan = yield context.task_all(
        [
            context.call_activity("step", {"instance": context.instance_id, "n": 10 + i})
            for i in range(4)
        ]
    )
    return total + sum(fan)


@app.orchestration_trigger(context_name="context")
def gated(context: df.DurableOrchestrationContext):
    """A step, an external event `go`, a step: what group commits write at once under load."""
    first = yield context.call_activity("step", {"instance": context.instance_id, "n": 2})
    go = yield context.wait_for_external_event("go")
    second = yield context.call_activity("step", {"instance": context.instance_id, "n": 3})
    return [first, go, second]
