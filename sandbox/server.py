"""Run one aiohttp handler on its own event loop in a background thread.

Each stand-in gets a thread so tests (synchronous code, simple-salesforce, requests) can call
it from the main thread; port 0 asks the OS for a free port.
"""

from __future__ import annotations

import asyncio
import ssl
import threading
from collections.abc import Awaitable, Callable

from aiohttp import web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

# Bodies can carry 2,000 lookup refs or 200 composite records; stay well above that.
MAX_BODY = 32 * 1024 * 1024


class ServerThread:
    """HTTP(S) on ``host:port`` (0 = a free port), every path served by ``handler``."""

    def __init__(
        self,
        handler: Handler,
        *,
        name: str,
        host: str = "127.0.0.1",
        port: int = 0,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self._handler = handler
        self._name = name
        self.host = host
        self.port = port
        self._ssl = ssl_context
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    def start(self) -> int:
        """Start serving; return the bound port once the socket listens."""
        self._thread = threading.Thread(target=self._run, name=f"sandbox-{self._name}", daemon=True)
        self._thread.start()
        self._ready.wait()
        if self._error is not None:
            raise self._error
        return self.port

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._setup())
        except BaseException as exc:  # surfaced to start()
            self._error = exc
            self._ready.set()
            loop.close()
            return
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(self._teardown())
            abort_leftover_transports(loop)
            # closed transports release their sockets on the next loop iterations
            for _ in range(3):
                loop.run_until_complete(asyncio.sleep(0))
            loop.close()

    async def _setup(self) -> None:
        # lines and fields longer than a real service takes reach the handler, which answers
        # as that service does (Salesforce: 414 / 431 beyond 16,384 bytes)
        limits = {"max_field_size": 65536, "max_line_size": 1 << 20}
        app = web.Application(client_max_size=MAX_BODY, handler_args=limits)
        app.router.add_route("*", "/{tail:.*}", self._handler)
        self._runner = web.AppRunner(
            app, access_log=None, handle_signals=False, shutdown_timeout=1.0
        )
        await self._runner.setup()
        site = web.TCPSite(
            self._runner,
            self.host,
            self.port,
            ssl_context=self._ssl,
            backlog=512,
            reuse_address=True,
        )
        await site.start()
        server = site._server  # the bound socket is the only way to learn port 0's pick
        assert server is not None
        sockets = getattr(server, "sockets", None) or []
        self.port = sockets[0].getsockname()[1]

    async def _teardown(self) -> None:
        if self._runner is not None:
            server = self._runner.server
            # Abort kept-alive connections: a graceful TLS close would wait for each client.
            for handler in list(server.connections) if server is not None else []:
                if handler.transport is not None:
                    handler.transport.abort()
            await self._runner.cleanup()
        # A request cut off mid-way (a fault's latency still sleeping) no longer belongs to
        # any connection the runner knows: finish it here, not as a warning at loop.close().
        current = asyncio.current_task()
        orphans = [task for task in asyncio.all_tasks() if task is not current]
        for task in orphans:
            task.cancel()
        await asyncio.gather(*orphans, return_exceptions=True)

    def call_soon(self, fn: Callable[[], None]) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(fn)

    def stop(self) -> None:
        """Stop the loop and wait for the thread; idempotent."""
        if self._loop is not None and self._thread is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)


def abort_leftover_transports(loop: asyncio.AbstractEventLoop) -> None:
    """Abort every socket transport still open on a loop about to close.

    A connection the server never handed to a handler (one still in its TLS handshake when the
    stop came) is not among the runner's connections, so nothing closes it; left to the
    garbage collector it warns "unclosed transport" in whatever runs next. The selector loop
    keeps its transports by file descriptor (a private map, the only list there is).
    """
    for transport in list(getattr(loop, "_transports", {}).values()):
        if transport is not None and not transport.is_closing():
            transport.abort()
