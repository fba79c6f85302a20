"""One function of each kind devhost serves, annotated the way the Python worker accepts."""

from typing import Any

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.orchestration_trigger(context_name="context")
def flow(context: df.DurableOrchestrationContext):
    result = yield context.call_activity("echo", {"n": 1})
    return result


@app.activity_trigger(input_name="payload")
def echo(payload: dict) -> dict[str, Any]:
    return payload


@app.entity_trigger(context_name="context")
def counter(context: df.DurableEntityContext) -> None:
    context.set_state((context.get_state(lambda: 0) or 0) + 1)


@app.timer_trigger(schedule="0 0 * * * *", arg_name="timer")
def hourly(timer: func.TimerRequest, context: func.Context) -> None:
    pass


@app.event_grid_trigger(arg_name="event")
def on_event(event: func.EventGridEvent) -> None:
    pass


@app.event_grid_trigger(arg_name="event")
def returns_a_value(event: func.EventGridEvent) -> str:  # loads; fails when invoked
    return event.id


@app.route(route="ping")
@app.durable_client_input(client_name="client")
async def ping(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    return func.HttpResponse("pong")
