"""Entity, timer and Event Grid triggers next to an HTTP trigger: all served at start-up."""

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.entity_trigger(context_name="context")
def counter(context: df.DurableEntityContext) -> None:
    context.set_state((context.get_state(lambda: 0) or 0) + 1)


@app.timer_trigger(schedule="0 */5 * * * *", arg_name="timer")
def every_five_minutes(timer: func.TimerRequest) -> None:
    pass


@app.event_grid_trigger(arg_name="event")
def on_event(event: func.EventGridEvent) -> None:
    pass


@app.route(route="ping")
def ping(req: func.HttpRequest) -> str:
    return "pong"
