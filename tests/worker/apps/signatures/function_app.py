"""Signatures the Python worker accepts and refuses, one function each (see test_agreement)."""

import typing
from typing import Any

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


# -- accepted -----------------------------------------------------------------------------
@app.activity_trigger(input_name="payload")
def bare_dict(payload: dict) -> dict[str, Any]:  # return annotations of activities: unchecked
    return payload


@app.activity_trigger(input_name="payload")
def any_payload(payload: Any) -> Any:
    return payload


@app.activity_trigger(input_name="payload")
def typing_dict(payload: typing.Dict[str, Any]) -> dict:  # a typing generic
    return dict(payload)


@app.route(route="text")
def text(req: func.HttpRequest) -> str:
    return "ok"


@app.route(route="queue-out")
@app.queue_output(arg_name="message", queue_name="work", connection="QUEUE")
def queue_via_out(req: func.HttpRequest, message: func.Out[str]) -> str:
    message.set("work")
    return "queued"


# -- refused ------------------------------------------------------------------------------
@app.activity_trigger(input_name="payload")
def builtin_generic(payload: dict[str, Any]) -> dict:
    return payload


@app.activity_trigger(input_name="payload")
def optional_union(payload: dict | None) -> dict:
    return payload or {}


@app.activity_trigger(input_name="names")
def list_of_str(names: list[str]) -> int:
    return len(names)


@app.timer_trigger(schedule="0 0 * * * *", arg_name="timer")
def timer_as_int(timer: int) -> None:
    pass


@app.activity_trigger(input_name="payload")
def context_as_str(payload: dict, context: str) -> dict:
    return payload


@app.activity_trigger(input_name="payload")
def unbound_parameter(payload: dict, other: str) -> dict:
    return payload


@app.timer_trigger(schedule="0 0 * * * *", arg_name="timer")
def binding_without_parameter() -> None:
    pass


@app.route(route="bytes")
def http_returns_bytes(req: func.HttpRequest) -> bytes:
    return b"no"


@app.route(route="queue")
@app.queue_output(arg_name="message", queue_name="work", connection="QUEUE")
def out_binding_without_out(req: func.HttpRequest, message: str) -> str:
    return "queued"


@app.route(route="out-in")
def out_annotation_on_input(req: func.Out[func.HttpRequest]) -> str:
    return "no"


@app.route(route="out-return")
def returns_out(req: func.HttpRequest) -> func.Out[str]:
    return None
