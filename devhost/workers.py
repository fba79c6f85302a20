"""Host side of the worker subprocesses: start them, route requests, survive crashes."""

from __future__ import annotations

import asyncio
import itertools
import logging
import sys
from typing import Any

from devhost import wire

log = logging.getLogger("devhost.workers")


class WorkerError(RuntimeError):
    """A worker could not start, or died with requests in flight."""


class _WorkerProcess:
    """One `python -m devhost.worker` child and its in-flight requests."""

    def __init__(self, app_dir: str, env: dict[str, str]) -> None:
        self.app_dir = app_dir
        self.env = env
        self.proc: asyncio.subprocess.Process | None = None
        self.pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self.ids = itertools.count(1)
        self.reader_task: asyncio.Task[None] | None = None
        self.ready: asyncio.Future[dict[str, Any]] | None = None
        self._outgoing: list[bytes] = []

    async def start(self) -> dict[str, Any]:
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "devhost.worker",
            self.app_dir,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            env=self.env,
            limit=2**31,
        )
        self.ready = asyncio.get_running_loop().create_future()
        self.reader_task = asyncio.ensure_future(self._read())
        return await self.ready

    async def _read(self) -> None:
        assert self.proc and self.proc.stdout and self.ready
        out, pid = self.proc.stdout, self.proc.pid
        try:
            while True:
                header = await out.readexactly(wire.header_size())
                message = wire.decode(await out.readexactly(wire.body_size(header)))
                if message["id"] == 0:
                    if not self.ready.done():
                        self.ready.set_result(message)
                    continue
                future = self.pending.pop(message["id"], None)
                if future and not future.done():
                    future.set_result(message)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        except ValueError as exc:  # not a frame: the stream is out of step and cannot recover
            log.error("worker process %s sent an unreadable frame (%s); stopping it", pid, exc)
            self.proc.kill()
            await self.proc.wait()
        error = WorkerError("worker process exited")
        if not self.ready.done():
            self.ready.set_exception(error)
        for future in self.pending.values():
            if not future.done():
                future.set_exception(error)
        self.pending.clear()

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.returncode is None

    async def call(self, request: dict[str, Any]) -> dict[str, Any]:
        assert self.proc and self.proc.stdin
        if not self.alive:
            raise WorkerError("worker process is not running")
        rid = next(self.ids)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.pending[rid] = future
        self._outgoing.append(wire.encode({**request, "id": rid}))
        if len(self._outgoing) == 1:  # the requests of one turn of the loop go in one write
            asyncio.get_running_loop().call_soon(self._send)
        return await future

    def _send(self) -> None:
        frames = b"".join(self._outgoing)
        self._outgoing.clear()
        if self.proc and self.proc.stdin and self.alive:
            self.proc.stdin.write(frames)

    async def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.stdin:
            self.proc.stdin.close()
        try:
            await asyncio.wait_for(self.proc.wait(), 3)
        except TimeoutError:
            self.proc.kill()
            await self.proc.wait()
        if self.reader_task:
            await self.reader_task


class WorkerPool:
    """N worker processes; each request goes to the least busy one; dead ones are replaced."""

    def __init__(self, app_dir: str, env: dict[str, str], size: int) -> None:
        self.app_dir = app_dir
        self.env = env
        self.size = max(1, size)
        self.workers: list[_WorkerProcess] = []
        self.functions: list[dict[str, Any]] = []

    async def start(self) -> list[dict[str, Any]]:
        """Start every worker; return the app's function index (from the first worker)."""
        self.workers = [_WorkerProcess(self.app_dir, self.env) for _ in range(self.size)]
        results = await asyncio.gather(*(w.start() for w in self.workers), return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                raise WorkerError(f"worker failed to start: {result}")
            if not result["ok"]:
                raise WorkerError(f"cannot load the app: {result['error']}")
        self.functions = results[0]["functions"]  # type: ignore[index]
        return self.functions

    async def call(self, op: str, **request: Any) -> dict[str, Any]:
        worker = min(self.workers, key=lambda w: (not w.alive, len(w.pending)))
        if not worker.alive:
            await self._replace(worker)
        try:
            return await worker.call({"op": op, **request})
        except WorkerError:
            await self._replace(worker)
            raise

    async def _replace(self, dead: _WorkerProcess) -> None:
        if dead.alive or dead not in self.workers:
            return
        log.warning("worker process died; starting a new one")
        fresh = _WorkerProcess(self.app_dir, self.env)
        self.workers[self.workers.index(dead)] = fresh
        await fresh.start()

    async def stop(self) -> None:
        await asyncio.gather(*(w.stop() for w in self.workers), return_exceptions=True)
