"""Conformance app for HTTP triggers: route templates, methods, request and return shapes."""

import json
import os

import azure.functions as func

app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.route(route="items/{id:int}", methods=["GET"])
def item_by_id(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse(
        json.dumps({"id": int(req.route_params["id"]), "kind": "int"}),
        mimetype="application/json",
    )


@app.route(route="items/{name}", methods=["GET"])
def item_by_name(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse(json.dumps({"name": req.route_params["name"]}), status_code=201)


@app.route(route="optional/{x?}")
async def optional(req: func.HttpRequest) -> str:
    return f"x={req.route_params.get('x')}"


@app.route(route="echo", methods=["POST", "PUT"])
def echo(req: func.HttpRequest) -> func.HttpResponse:
    body = {
        "method": req.method,
        "params": dict(req.params),
        "header": req.headers.get("x-custom"),
        "json": req.get_json(),
        "url": req.url,
    }
    return func.HttpResponse(
        json.dumps(body), headers={"X-Echo": "yes"}, mimetype="application/json"
    )


@app.route(route="raw")
def raw(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse(b"\x00\x01binary", mimetype="application/octet-stream")


RETURNS = {"none": None, "dict": {"a": 1}, "list": [1], "bytes": b"x", "int": 7}


@app.route(route="returns/{kind}")
def returns(req: func.HttpRequest):  # unannotated: the worker checks annotations at load
    return RETURNS[req.route_params["kind"]]


@app.route(route="cookies")
def cookies(req: func.HttpRequest) -> func.HttpResponse:
    response = func.HttpResponse("two cookies", mimetype="application/json")
    response.headers.add("Set-Cookie", "a=1; Path=/")
    response.headers.add("Set-Cookie", "b=2; Path=/")
    return response


@app.route(route="plain")
def plain(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse("text", mimetype="text/csv")


@app.route(route="setting")
def setting(req: func.HttpRequest) -> str:
    return (
        os.environ.get("FROM_LOCAL_SETTINGS", "<unset>")
        + "|"
        + os.environ.get("OVERRIDDEN", "<unset>")
    )


@app.route(route="crash")
def crash(req: func.HttpRequest) -> str:
    raise RuntimeError("handler blew up")


@app.function_name("NamedDefaultRoute")
@app.route()
def default_route(req: func.HttpRequest) -> str:
    return "default"


@app.route(route="secret", auth_level=func.AuthLevel.FUNCTION)
def secret(req: func.HttpRequest) -> str:
    return "secret"


# -- routing as the host does it: registration order, constraints, load-time refusals ------
@app.route(route="order/{anything}", methods=["GET"])
def order_parameter(req: func.HttpRequest) -> str:
    return "parameter"


@app.route(route="order/literal", methods=["GET"])
def order_literal(req: func.HttpRequest) -> str:
    return "literal"


@app.route(route="constrained/{n:range(1,10)}/{code:regex(^[a-z]{{2}}$)}/{tag:length(3)}")
def constrained(req: func.HttpRequest) -> str:
    p = req.route_params
    return f"{p['n']}|{p['code']}|{p['tag']}"


@app.route(route="value/{value}")
def route_value(req: func.HttpRequest) -> str:
    return req.route_params["value"]


@app.route(route="administration")  # the host's own `admin` space: not loaded
def reserved_admin(req: func.HttpRequest) -> str:
    return "reserved"


@app.route(route="runtimeinfo")  # the host's own `runtime` space: not loaded
def reserved_runtime(req: func.HttpRequest) -> str:
    return "reserved"


@app.route(route="shared", methods=["GET"])
def shared_get(req: func.HttpRequest) -> str:
    return "get"


@app.route(route="shared", methods=["POST"])  # same template, other methods: both load
def shared_post(req: func.HttpRequest) -> str:
    return "post"


@app.route(route="Shared/", methods=["GET", "PUT"])  # same template, GET again: not loaded
def shared_again(req: func.HttpRequest) -> str:
    return "again"
