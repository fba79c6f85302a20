"""Run devhost from tests. These names are a stable API; the app's own tests use them.

In-process (fast; one temporary task hub per host; virtual clock)::

    from datetime import timedelta
    from devhost.testing import run

    with run("path/to/app", env={"SETTING": "x"}) as host:
        r = host.post("/api/orchestrators/hello", json={"city": "Tokyo"})
        iid = r.json()["id"]
        host.advance(timedelta(hours=72))      # a 72-hour durable timer fires now
        status = host.wait_for(iid)            # dict: runtimeStatus, output, customStatus...
        assert status["runtimeStatus"] == "Completed"

Subprocess (for kill -9 tests; survives restarts on the same data_dir)::

    with spawn("path/to/app", data_dir=tmp_path) as host:
        host.kill()        # SIGKILL, no cleanup
        host.restart()     # same data_dir; in-flight instances resume

API (both `RunningHost` and `SpawnedHost` are `HostClient`s):

* `run(app_dir, *, env=None, data_dir=None, workers=1, port=0, time_skipping=False,
  clock=None) -> ContextManager[RunningHost]`
* `spawn(app_dir, *, data_dir, env=None, port=0, workers=1, extra_args=None) -> SpawnedHost`
  (also a context manager; `.kill()` (SIGKILL), `.launch()` (start again after a kill),
  `.restart()` (= kill + launch), `.stop()` (SIGTERM), `.pid`)
* `HostClient.url` (`http://127.0.0.1:PORT`), `.request(method, path, json=, data=, headers=)`,
  `.get/.post/.delete(path, ...)` -> `Response(status, headers, body)` with `.json()` / `.text`
* `HostClient.start(orchestrator, input=None, instance_id=None) -> str` (Durable HTTP API)
* `HostClient.status(instance_id, show_history=False) -> dict | None`
* `HostClient.wait_for(instance_id, timeout=10, statuses=TERMINAL_STATUSES) -> dict`
  (long-polls the host, no sleeps; raises `TimeoutError` with the last status)
* `HostClient.raise_event(instance_id, name, data=None)`, `.terminate(instance_id, reason)`
* `HostClient.advance(timedelta | seconds)`; `RunningHost.clock` is the `Clock` itself
* pytest: `devhost_factory` fixture (import it into a conftest): `devhost_factory(app_dir,
  env=...)` returns a started `RunningHost`, stopped at the end of the test.
"""

from __future__ import annotations

import asyncio
import contextlib
import json as jsonlib
import logging
import os
import signal
import subprocess
import sys
import tempfile
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from devhost.clock import Clock
from devhost.server import Host

log = logging.getLogger("devhost.testing")

TERMINAL_STATUSES = frozenset({"Completed", "Failed", "Terminated", "Canceled"})
_DURABLE = "/runtime/webhooks/durabletask"

__all__ = [
    "TERMINAL_STATUSES",
    "HostClient",
    "Response",
    "RunningHost",
    "SpawnedHost",
    "devhost_factory",
    "run",
    "spawn",
]


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes
    header_list: list[tuple[str, str]] = field(default_factory=list)  # repeats kept

    def getall(self, name: str) -> list[str]:
        """Every value of a header sent more than once (e.g. `Set-Cookie`)."""
        return [v for k, v in self.header_list if k.lower() == name.lower()]

    @property
    def text(self) -> str:
        return self.body.decode()

    def json(self) -> Any:
        return jsonlib.loads(self.body) if self.body else None


class HostClient:
    """HTTP helpers shared by the in-process and subprocess hosts."""

    url: str

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        data: bytes | str | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float = 30,
    ) -> Response:
        hdrs = dict(headers or {})
        body: bytes | None = data.encode() if isinstance(data, str) else data
        if json is not None:
            body = jsonlib.dumps(json).encode()
            hdrs.setdefault("Content-Type", "application/json")
        target = path if path.startswith("http") else self.url + path
        req = urllib.request.Request(target, data=body, method=method.upper(), headers=hdrs)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                pairs = list(resp.headers.items())
                return Response(resp.status, dict(pairs), resp.read(), pairs)
        except urllib.error.HTTPError as err:
            with err:
                pairs = list(err.headers.items())
                return Response(err.code, dict(pairs), err.read(), pairs)

    def get(self, path: str, **kw: Any) -> Response:
        return self.request("GET", path, **kw)

    def post(self, path: str, **kw: Any) -> Response:
        return self.request("POST", path, **kw)

    def delete(self, path: str, **kw: Any) -> Response:
        return self.request("DELETE", path, **kw)

    def start(self, orchestrator: str, input: Any = None, instance_id: str | None = None) -> str:
        """Start through the Durable HTTP API; the input arrives as the orchestrator's input."""
        path = f"{_DURABLE}/orchestrators/{orchestrator}"
        if instance_id:
            path += "/" + urllib.parse.quote(instance_id, safe="")
        resp = self.post(path, json=input) if input is not None else self.post(path, data=b"")
        if resp.status != 202:
            raise RuntimeError(f"start {orchestrator}: {resp.status} {resp.text}")
        return str(resp.json()["id"])

    def status(self, instance_id: str, show_history: bool = False) -> dict[str, Any] | None:
        query = "?showHistory=true&showHistoryOutput=true" if show_history else ""
        resp = self.get(f"{_DURABLE}/instances/{urllib.parse.quote(instance_id, safe='')}{query}")
        return None if resp.status == 404 else resp.json()

    def wait_for(
        self,
        instance_id: str,
        timeout: float = 10,
        statuses: frozenset[str] | set[str] = TERMINAL_STATUSES,
    ) -> dict[str, Any]:
        """Block until the instance reaches one of `statuses` (default: any terminal one)."""
        query = urllib.parse.urlencode({"timeout": timeout, "statuses": ",".join(statuses)})
        iid = urllib.parse.quote(instance_id, safe="")
        resp = self.get(f"/admin/devhost/instances/{iid}/wait?{query}", timeout=timeout + 30)
        if resp.status == 200:
            return dict(resp.json())
        last = resp.json() if resp.status == 408 else None
        raise TimeoutError(f"{instance_id} not in {sorted(statuses)} after {timeout}s: {last}")

    def raise_event(self, instance_id: str, name: str, data: Any = None) -> Response:
        iid = urllib.parse.quote(instance_id, safe="")
        return self.post(f"{_DURABLE}/instances/{iid}/raiseEvent/{name}", json=data)

    def terminate(self, instance_id: str, reason: str = "") -> Response:
        iid = urllib.parse.quote(instance_id, safe="")
        query = urllib.parse.urlencode({"reason": reason})
        return self.post(f"{_DURABLE}/instances/{iid}/terminate?{query}", data=b"")

    def advance(self, delta: timedelta | float) -> None:
        seconds = delta.total_seconds() if isinstance(delta, timedelta) else float(delta)
        resp = self.post(f"/admin/devhost/clock/advance?seconds={seconds}", data=b"")
        if resp.status != 200:
            raise RuntimeError(f"advance: {resp.status}")


class RunningHost(HostClient):
    """An in-process host on its own event-loop thread; function code runs in workers."""

    def __init__(self, host: Host) -> None:
        self.host = host
        self.url = host.url
        self.clock: Clock = host.clock
        self.data_dir = host.data_dir
        self.app_dir = host.app_dir

    def advance(self, delta: timedelta | float) -> None:
        self.clock.advance(delta)


@contextlib.contextmanager
def run(
    app_dir: str | os.PathLike[str],
    *,
    env: Mapping[str, str] | None = None,
    data_dir: str | os.PathLike[str] | None = None,
    workers: int = 1,
    port: int = 0,
    time_skipping: bool = False,
    clock: Clock | None = None,
) -> Iterator[RunningHost]:
    """Start a host on a free port with a temporary task hub; stop it on exit.

    `time_skipping=True`: whenever nothing is running, the clock jumps to the next durable
    timer (retry back-offs and long waits finish at once; do not use it while a test still
    has to raise an event before a timer).
    `clock`: start on this (virtual) clock, e.g. one already advanced by three days to play
    "devhost was down" against a task hub in `data_dir`.
    """
    with contextlib.ExitStack() as stack:
        if data_dir is None:
            data_dir = stack.enter_context(tempfile.TemporaryDirectory(prefix="devhost-"))
        loop = asyncio.new_event_loop()
        thread = threading.Thread(target=loop.run_forever, name="devhost", daemon=True)
        thread.start()
        host = Host(
            app_dir,
            port=port,
            data_dir=data_dir,
            env=env,
            workers=workers,
            time_skipping=time_skipping,
            clock=clock,
        )

        def shutdown() -> None:
            try:
                asyncio.run_coroutine_threadsafe(host.stop(), loop).result(30)
            except Exception:  # the test's own failure, if any, is the one to report
                log.exception("devhost did not stop cleanly; cancelling what is left")
            # Whatever outlived stop() is cancelled and awaited on its loop, so no task is
            # destroyed pending and no socket is left for the garbage collector to warn about.
            with contextlib.suppress(Exception):
                asyncio.run_coroutine_threadsafe(_cancel_the_rest(), loop).result(10)
            loop.call_soon_threadsafe(loop.stop)
            thread.join(10)
            loop.close()

        stack.callback(shutdown)
        asyncio.run_coroutine_threadsafe(host.start(), loop).result(60)
        yield RunningHost(host)


async def _cancel_the_rest() -> None:
    current = asyncio.current_task()
    rest = [task for task in asyncio.all_tasks() if task is not current]
    for task in rest:
        task.cancel()
    await asyncio.gather(*rest, return_exceptions=True)
    loop = asyncio.get_running_loop()
    await loop.shutdown_asyncgens()
    # Connections stop() did not get to (a request cut off by its timeout) are aborted, or
    # the garbage collector warns "unclosed transport" later in whatever test runs then.
    # The selector loop keeps its transports by file descriptor (private; the only list).
    for transport in list(getattr(loop, "_transports", {}).values()):
        if transport is not None and not transport.is_closing():
            transport.abort()
    await asyncio.sleep(0)  # their sockets close on the next iteration


class SpawnedHost(HostClient):
    """`python -m devhost` in a child process; kill it with SIGKILL and start it again."""

    def __init__(
        self,
        app_dir: str | os.PathLike[str],
        *,
        data_dir: str | os.PathLike[str],
        env: Mapping[str, str] | None = None,
        port: int = 0,
        workers: int = 1,
        extra_args: list[str] | None = None,
    ) -> None:
        self.app_dir = Path(app_dir)
        self.extra_args = list(extra_args or [])
        self.data_dir = Path(data_dir)
        self.env = {**os.environ, **(env or {})}
        root = str(Path(__file__).resolve().parent.parent)
        self.env["PYTHONPATH"] = os.pathsep.join(
            [root, *filter(None, self.env.get("PYTHONPATH", "").split(os.pathsep))]
        )
        self.port = port
        self.workers = workers
        self.proc: subprocess.Popen[str] | None = None
        self.url = ""

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def launch(self) -> SpawnedHost:
        """Start the process (again) on the same data_dir; returns once it serves."""
        cmd = [sys.executable, "-m", "devhost", str(self.app_dir), "--port", str(self.port)]
        cmd += ["--data", str(self.data_dir), "--workers", str(self.workers), "--quiet"]
        cmd += self.extra_args
        self.proc = subprocess.Popen(
            cmd, env=self.env, stdout=subprocess.PIPE, text=True, start_new_session=True
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line.startswith("devhost listening on "):
            self.proc.wait(10)
            raise RuntimeError(f"devhost did not start (exit {self.proc.returncode})")
        self.url = line.split()[-1]
        return self

    def kill(self) -> None:
        """SIGKILL the host and its workers: nothing gets to clean up."""
        if self.proc and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        self._close_pipe()

    def restart(self) -> SpawnedHost:
        self.kill()
        return self.launch()

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()
        self._close_pipe()

    def _close_pipe(self) -> None:
        if self.proc and self.proc.stdout:
            self.proc.stdout.close()

    def __enter__(self) -> SpawnedHost:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def spawn(
    app_dir: str | os.PathLike[str],
    *,
    data_dir: str | os.PathLike[str],
    env: Mapping[str, str] | None = None,
    port: int = 0,
    workers: int = 1,
    extra_args: list[str] | None = None,
) -> SpawnedHost:
    """Start `python -m devhost` as a child process (its own session, so kill() gets all)."""
    return SpawnedHost(
        app_dir, data_dir=data_dir, env=env, port=port, workers=workers, extra_args=extra_args
    ).launch()


def _factory() -> Iterator[Callable[..., RunningHost]]:
    with contextlib.ExitStack() as stack:

        def make(app_dir: str | os.PathLike[str], **kwargs: Any) -> RunningHost:
            return stack.enter_context(run(app_dir, **kwargs))

        yield make


try:  # the fixture exists only where pytest does (tests); the API above never needs it
    import pytest

    devhost_factory = pytest.fixture(_factory, name="devhost_factory")
except ImportError:  # pragma: no cover
    devhost_factory = None  # type: ignore[assignment]
