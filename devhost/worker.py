"""Worker subprocess: imports the app and runs its functions on the host's request.

Run as `python -m devhost.worker APP_DIR`. Requests and replies are wire frames on the
original stdin/stdout; the app's own prints go to stderr so they cannot corrupt a frame.
Orchestrator replays run inline (short and CPU-bound); sync functions run in a thread pool
and async ones on this loop, as the Python Functions worker does.
"""

from __future__ import annotations

import asyncio
import atexit
import functools
import importlib
import inspect
import json
import os
import re
import signal
import sys
import threading
import traceback
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from devhost import load_checks, sdk_memo, wire

_OUT_OF_PROC_MARKER = "$OutOfProcData$:"
_TRACEPARENT = re.compile(r"[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}")


class _TraceContext:
    """`func.TraceContext`: the invocation's W3C trace context, as the host hands it over."""

    def __init__(self, trace_parent: str, trace_state: str) -> None:
        self.trace_parent = trace_parent
        self.trace_state = trace_state
        self.attributes: dict[str, str] = {}


def _http_trace_context(headers: dict[str, str]) -> _TraceContext:
    """Like the Functions host: continue the caller's `traceparent`, or begin a new trace."""
    lower = {key.lower(): value for key, value in headers.items()}
    parent = lower.get("traceparent", "").strip()
    if not _TRACEPARENT.fullmatch(parent) or parent.split("-")[1] == "0" * 32:
        parent = f"00-{uuid.uuid4().hex}-{uuid.uuid4().hex[:16]}-01"
    return _TraceContext(parent, lower.get("tracestate", ""))


class _Context:
    """The subset of `func.Context` functions read: ids, name, directory, trace context."""

    def __init__(
        self, function_name: str, app_dir: str, trace_context: _TraceContext | None = None
    ) -> None:
        self.invocation_id = str(uuid.uuid4())
        self.function_name = function_name
        self.function_directory = app_dir
        self.trace_context = trace_context
        self.retry_context = None
        self.thread_local_storage = None


class Worker:
    """Holds the imported app's functions and serves requests from the host."""

    def __init__(self, app_dir: str) -> None:
        self.app_dir = app_dir
        self.functions: dict[str, Any] = {}
        self.checked: dict[str, load_checks.Checked] = {}
        self.pool = ThreadPoolExecutor(max_workers=32, thread_name_prefix="fn")

    # -- indexing ---------------------------------------------------------------------
    def load(self) -> list[dict[str, Any]]:
        """Import function_app.py, refuse what the Python worker refuses (load_checks), and
        describe every function with its raw bindings."""
        sys.path.insert(0, self.app_dir)
        os.chdir(self.app_dir)
        module = importlib.import_module("function_app")
        import azure.functions as func

        registers = [v for v in vars(module).values() if isinstance(v, func.FunctionRegister)]
        if not registers:
            raise RuntimeError("function_app.py defines no FunctionApp/DFApp instance")
        functions = [fn for register in registers for fn in register.get_functions()]
        self.checked = load_checks.check_all(functions)
        described = []
        for fn in functions:
            name = fn.get_function_name()
            self.functions[name.lower()] = fn
            bindings = [json.loads(b) for b in fn.get_raw_bindings()]
            described.append({"name": name, "bindings": bindings})
        return described

    def _function(self, name: str) -> Any:
        fn = self.functions.get(name.lower())
        if fn is None:
            raise LookupError(f"The function '{name}' doesn't exist")
        return fn

    # -- invocations ------------------------------------------------------------------
    async def orchestrate(self, req: dict[str, Any]) -> dict[str, Any]:
        handle = self._function(req["name"]).get_user_function()
        try:
            return {"ok": True, "state": handle(req["context"])}
        except Exception as exc:  # the SDK signals orchestrator failure by raising
            text = str(exc) or str(type(exc))
            state = None
            if _OUT_OF_PROC_MARKER in text:
                text, _, data = text.partition(_OUT_OF_PROC_MARKER)
                text = text.rstrip("\n")
                try:
                    state = json.loads(data.split("\nStack:")[0])
                except ValueError:
                    state = None
            error = state.get("error") if isinstance(state, dict) and state.get("error") else text
            return {"ok": False, "error": error, "state": state}

    async def entity(self, req: dict[str, Any]) -> dict[str, Any]:
        """One operation batch through the SDK's entity handle (durable-protocol.md §3).

        The whole batch goes through the SDK as the real host sends it, so results, state
        and quirks are the SDK's own. If the SDK fails the batch as a whole (e.g. a result
        that is not JSON-serialisable), the batch fails as a whole, as in `TaskEntityShim`.
        """
        handle = self._function(req["name"]).get_user_function()
        loop = asyncio.get_running_loop()
        try:
            return {
                "ok": True,
                "state": await loop.run_in_executor(self.pool, handle, req["context"]),
            }
        except Exception as exc:
            return {"ok": False, "error": f"{type(exc).__name__}: {exc}"}

    async def activity(self, req: dict[str, Any]) -> dict[str, Any]:
        from azure.functions import meta
        from azure.functions.durable_functions import ActivityTriggerConverter

        fn = self._function(req["name"])
        trigger, clients = _activity_parameters(fn)
        try:
            value = ActivityTriggerConverter.decode(
                meta.Datum(value=req["input"], type="string"), trigger_metadata={}
            )
            kwargs: dict[str, Any] = {trigger: value}
            for name in clients:
                kwargs[name] = req.get("client")
            result = await self._call(fn, kwargs)
            encoded = ActivityTriggerConverter.encode(result, expected_type=None).value
            return {"ok": True, "result": encoded}
        except Exception as exc:
            return {
                "ok": False,
                "error": f"{type(exc).__name__}: {exc}",
                "details": traceback.format_exc(),
            }

    async def trigger(self, req: dict[str, Any]) -> dict[str, Any]:
        """A timer or Event Grid invocation: the payload decoded by azure.functions' own
        converter for the trigger type (TimerRequest, EventGridEvent / CloudEvent)."""
        from azure.functions import meta
        from azure.functions.eventgrid import EventGridEventInConverter
        from azure.functions.timer import TimerRequestConverter

        converters = {
            "timerTrigger": TimerRequestConverter,
            "eventGridTrigger": EventGridEventInConverter,
        }
        fn = self._function(req["name"])
        kwargs: dict[str, Any] = {}
        try:
            for b in fn.get_bindings():
                if b.type in converters:
                    datum = meta.Datum(value=req["payload"], type="json")
                    kwargs[b.name] = converters[b.type].decode(datum, trigger_metadata={})
                elif b.type == "durableClient":
                    kwargs[b.name] = req["client"]
            await self._call(fn, kwargs)
        except Exception as exc:
            traceback.print_exc()
            return {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
        return {"ok": True}

    async def http(self, req: dict[str, Any]) -> dict[str, Any]:
        import azure.functions as func

        fn = self._function(req["name"])
        kwargs: dict[str, Any] = {}
        for b in fn.get_bindings():
            if b.type == "httpTrigger":
                kwargs[b.name] = func.HttpRequest(
                    method=req["method"],
                    url=req["url"],
                    headers=req["headers"],
                    params=req["params"],
                    route_params=req["route_params"],
                    body=bytes.fromhex(req["body"]),
                )
            elif b.type == "durableClient":
                kwargs[b.name] = req["client"]
        try:
            result = await self._call(fn, kwargs, _http_trace_context(req["headers"]))
            response = _http_response(result)
        except Exception as exc:
            traceback.print_exc()
            return {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
        return {"ok": True, "response": response}

    async def _call(
        self, fn: Any, kwargs: dict[str, Any], trace_context: _TraceContext | None = None
    ) -> Any:
        user = fn.get_user_function()
        if _takes_context(user) and "context" not in kwargs:
            kwargs["context"] = _Context(fn.get_function_name(), self.app_dir, trace_context)
        if inspect.iscoroutinefunction(user):
            return self._returned(fn, await user(**kwargs))
        loop = asyncio.get_running_loop()
        result = await loop.run_in_executor(self.pool, lambda: user(**kwargs))
        if inspect.isawaitable(result):
            result = await result
        return self._returned(fn, result)

    def _returned(self, fn: Any, result: Any) -> Any:
        """The worker fails an invocation whose function returns a value it has no binding for."""
        name = fn.get_function_name()
        checked = self.checked.get(name.lower())
        if result is not None and checked is not None and not checked.has_return:
            raise RuntimeError(load_checks.no_return_binding(name))
        return result


@functools.cache
def _activity_parameters(fn: Any) -> tuple[str, tuple[str, ...]]:
    """An activity's trigger parameter and its durable client parameters (read once)."""
    bindings = fn.get_bindings()
    trigger = next(b.name for b in bindings if b.type == "activityTrigger")
    return trigger, tuple(b.name for b in bindings if b.type == "durableClient")


@functools.cache
def _takes_context(user: Any) -> bool:
    """Whether the function has a `context` parameter (read once per function)."""
    return "context" in inspect.signature(user).parameters


def _http_response(result: Any) -> dict[str, Any]:
    """A function's return value as the Python worker sends it to the host: through
    azure.functions' own `HttpResponseConverter`, which takes only `HttpResponse` and `str`;
    anything else (None, dict, list, bytes, int...) fails the invocation, as the worker's
    `to_outgoing_proto` raises TypeError for it (the host answers 500).

    Headers are a list of pairs so every `Set-Cookie` survives (the worker sends them as
    cookies, the host writes one header each)."""
    from azure.functions.http import HttpResponseConverter

    if isinstance(result, str):  # a string datum: the host answers 200 text/plain
        headers = [("Content-Type", "text/plain; charset=utf-8")]
        return {"status": 200, "headers": headers, "body": result.encode().hex()}
    cookies = result.headers.getlist("Set-Cookie") if hasattr(result, "headers") else []
    try:
        datum = HttpResponseConverter.encode(result, expected_type=None)
    except NotImplementedError:
        raise TypeError(
            'unable to encode outgoing TypedData: unsupported type "http" for Python type '
            f'"{type(result).__name__}"'
        ) from None
    value = datum.value
    headers = [(name, item.value) for name, item in value["headers"].items()]
    headers += [("Set-Cookie", cookie) for cookie in cookies]
    body = value["body"].value or b""
    return {"status": int(value["status_code"].value), "headers": headers, "body": body.hex()}


async def _serve(worker: Worker, reader: asyncio.StreamReader, out: Any) -> None:
    loop = asyncio.get_running_loop()
    ready: list[bytes] = []  # replies finished in this turn of the loop, sent in one write

    def send() -> None:
        frames = b"".join(ready)
        ready.clear()
        wire.write_all(out, frames)

    async def reply(message: dict[str, Any]) -> None:
        ready.append(wire.encode(message))
        if message["id"] == 0:  # start-up: the worker may stop right after it
            send()
        elif len(ready) == 1:
            loop.call_soon(send)

    async def handle(request: dict[str, Any]) -> None:
        op = request["op"]
        try:
            result = await getattr(worker, op)(request)
        except Exception as exc:
            result = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
        result["id"] = request["id"]
        await reply(result)

    try:
        functions = worker.load()
        sdk_memo.remember_sdk_work()
        await reply({"id": 0, "ok": True, "functions": functions})
    except BaseException as exc:
        traceback.print_exc()
        await reply({"id": 0, "ok": False, "error": f"{type(exc).__name__}: {exc}"})
        return
    tasks: set[asyncio.Task[None]] = set()
    while True:
        try:
            header = await reader.readexactly(wire.header_size())
            body = await reader.readexactly(wire.body_size(header))
        except asyncio.IncompleteReadError:
            return  # the host went away (even kill -9): stop with it
        task = asyncio.ensure_future(handle(wire.decode(body)))
        tasks.add(task)
        task.add_done_callback(tasks.discard)


async def _main(app_dir: str) -> None:
    out = os.fdopen(os.dup(1), "wb", buffering=0)
    os.dup2(2, 1)  # print() in user code goes to stderr, never into a frame
    sys.stdout = sys.stderr
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=2**31)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    await _serve(Worker(app_dir), reader, out)


def _exit_handlers(timeout: float) -> None:
    """What a normal interpreter exit runs first: the app's atexit handlers (the OpenTelemetry
    SDK's providers flush spans, metrics and logs there; the raw zone writes its queue), bounded
    so that a stuck one cannot outlast the host's stop (it kills after 3 s)."""
    runner = threading.Thread(target=atexit._run_exitfuncs, name="atexit", daemon=True)
    runner.start()
    runner.join(timeout)


if __name__ == "__main__":
    # The host stops its workers (it closes their input, then kills a straggler). Ctrl-C in a
    # terminal signals the whole process group, the workers too: left to Python, each would
    # die mid-await with a KeyboardInterrupt traceback and skip its exit handlers.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    asyncio.run(_main(os.path.abspath(sys.argv[1])))
    _exit_handlers(timeout=2.5)
    os._exit(0)  # do not wait for user threads stuck in blocking calls
