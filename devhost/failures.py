"""Failure details in the shape the real host writes them into history.

The SDK turns a failed task into `Exception(f"{Reason} \\n {Details}")`, so the Details text
is part of what an orchestrator sees. The extension writes (azure-functions-durable-extension
2.13.x):

* activity failure (`TaskActivityShim`): Details = the .NET exception serialised by DTFx's
  error data converter (Newtonsoft JSON with `$type`): a `System.Exception` carrying the
  worker's friendly message, its inner exception the worker's `RpcException`, whose message
  holds the Python traceback as "Result: Failure / Exception: ... / Stack: ...";
* sub-orchestration failure (`OutOfProcOrchestrationShim`): Details =
  `"Message: {error}, StackTrace: {stack}"`, the stack being the .NET one of the exception
  the Functions host raised for the invocation.
"""

from __future__ import annotations

import json

_HRESULT = -2146233088  # COR_E_EXCEPTION, what a plain System.Exception carries
# The .NET frames of the invocation exception the extension reads StackTrace from.
_INVOKER_STACK = (
    "   at Microsoft.Azure.WebJobs.Script.Description.WorkerFunctionInvoker.InvokeCore("
    "Object[] parameters, FunctionInvocationContext context)"
)


def _exception(type_name: str, assembly: str, message: str, inner: object = None) -> dict:
    return {
        "$type": f"{type_name}, {assembly}",
        "ClassName": type_name,
        "Message": message,
        "Data": None,
        "InnerException": inner,
        "HelpURL": None,
        "StackTraceString": None,
        "RemoteStackTraceString": None,
        "RemoteStackIndex": 0,
        "ExceptionMethod": None,
        "HResult": _HRESULT,
        "Source": None,
        "WatsonBuckets": None,
    }


def activity_details(message: str, stack: str | None) -> str:
    """`TaskFailed.Details` for an activity that raised `message` (e.g. "ValueError: x")."""
    rpc = _exception(
        "Microsoft.Azure.WebJobs.Script.Workers.Rpc.RpcException",
        "Microsoft.Azure.WebJobs.Script",
        f"Result: Failure\nException: {message}\nStack: {stack or ''}",
    )
    return json.dumps(_exception("System.Exception", "System.Private.CoreLib", message, rpc))


def orchestrator_details(error: str) -> str:
    """`SubOrchestrationInstanceFailed.Details` for a child that failed with `error`."""
    return f"Message: {error}, StackTrace: {_INVOKER_STACK}"
