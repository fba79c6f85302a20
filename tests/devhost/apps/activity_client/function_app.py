"""An activity with a durable client starts an orchestration that is not its caller's child."""

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.orchestration_trigger(context_name="context")
def parent(context: df.DurableOrchestrationContext):
    started = yield context.call_activity("start_detached", context.get_input())
    return started


@app.activity_trigger(input_name="payload")
@app.durable_client_input(client_name="client")
async def start_detached(payload: dict, client: df.DurableOrchestrationClient) -> dict:
    instance_id = await client.start_new(
        "detached", instance_id=payload["id"], client_input=payload
    )
    return {"started": instance_id}


@app.orchestration_trigger(context_name="context")
def detached(context: df.DurableOrchestrationContext):
    return {"ran_with": context.get_input()["id"]}
