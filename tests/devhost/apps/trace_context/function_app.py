"""One HTTP function that answers with the trace context the host handed it."""

import azure.functions as func

app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.route(route="trace", methods=["GET"])
def trace(req: func.HttpRequest, context: func.Context) -> func.HttpResponse:
    trace_context = context.trace_context
    return func.HttpResponse(
        f"{trace_context.trace_parent}|{trace_context.trace_state}", mimetype="text/plain"
    )
