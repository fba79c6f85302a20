"""Conformance app for entities: class-less entity functions, orchestrators, a client facade."""

import json

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


# -- entities -------------------------------------------------------------------------------
@app.entity_trigger(context_name="context")
def counter(context: df.DurableEntityContext) -> None:
    value = context.get_state(lambda: 0)
    op = context.operation_name
    if op == "add":
        value += context.get_input()
        context.set_state(value)
        context.set_result(value)
    elif op == "get":
        context.set_result(value)
    elif op == "reset":
        context.set_state(0)
    elif op == "delete":
        context.destruct_on_exit()
    elif op == "fail":  # raises before set_state, as the app's record_sync does
        raise ValueError(f"counter refuses at {value}")
    else:
        raise ValueError(f"no operation {op!r}")


@app.entity_trigger(context_name="context")
def sequencer(context: df.DurableEntityContext) -> None:
    """Records each sender's sequence numbers; counts any out-of-order arrival."""
    state = context.get_state(lambda: {"count": 0, "last": {}, "violations": 0})
    item = context.get_input()
    sender, n = item["sender"], item["n"]
    if n != state["last"].get(sender, 0) + 1:
        state["violations"] += 1
    state["last"][sender] = n
    state["count"] += 1
    context.set_state(state)


# -- orchestrators ---------------------------------------------------------------------------
@app.orchestration_trigger(context_name="context")
def counter_flow(context: df.DurableOrchestrationContext):
    key = context.get_input()["key"]
    entity = df.EntityId("counter", key)
    context.signal_entity(entity, "add", 5)
    after_add = yield context.call_entity(entity, "add", 2)
    current = yield context.call_entity(entity, "get")
    try:
        yield context.call_entity(entity, "fail")
        caught = None
    except Exception as exc:
        caught = str(exc)
    final = yield context.call_entity(entity, "get")
    return {"after_add": after_add, "current": current, "caught": caught, "final": final}


@app.orchestration_trigger(context_name="context")
def fan_out_counters(context: df.DurableOrchestrationContext):
    keys = context.get_input()["keys"]
    values = yield context.task_all(
        [context.call_entity(df.EntityId("counter", k), "add", 1) for k in keys]
    )
    return values


# -- client facade ---------------------------------------------------------------------------
@app.route(route="entities/{name}/{key}/{op}", methods=["POST"])
@app.durable_client_input(client_name="client")
async def signal(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    p = req.route_params
    body = req.get_body()
    value = json.loads(body) if body else None
    await client.signal_entity(df.EntityId(p["name"], p["key"]), p["op"], value)
    return func.HttpResponse(status_code=202)


@app.route(route="entities/{name}/{key}", methods=["GET"])
@app.durable_client_input(client_name="client")
async def read(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    p = req.route_params
    response = await client.read_entity_state(df.EntityId(p["name"], p["key"]))
    body = {"exists": response.entity_exists, "state": response.entity_state}
    return func.HttpResponse(json.dumps(body), mimetype="application/json")


@app.route(route="start/{name}", methods=["POST"])
@app.durable_client_input(client_name="client")
async def start(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    iid = await client.start_new(req.route_params["name"], None, req.get_json())
    return func.HttpResponse(json.dumps({"id": iid}), status_code=202)
