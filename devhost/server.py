"""Assemble a host: workers + index + task hub + engine + HTTP server, on one event loop."""

from __future__ import annotations

import json
import logging
import os
import socket
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from aiohttp import web

from devhost.clock import Clock
from devhost.durable_api import DurableApi
from devhost.engine import Engine
from devhost.event_grid import EventGridTriggers
from devhost.http_triggers import MAX_REQUEST_BODY, HttpTriggers, route_table
from devhost.index import FunctionIndex, resolve_expressions
from devhost.options import HostOptions
from devhost.rows import TERMINAL
from devhost.settings import disabled_by_setting, host_config, hub_name, worker_env
from devhost.store import Store
from devhost.timer_triggers import TimerTriggers, check_schedules, schedule_time_zone
from devhost.workers import WorkerPool

log = logging.getLogger("devhost")


class Host:
    """One running devhost. `await start()`, then serve at `url`; `await stop()` to end."""

    def __init__(
        self,
        app_dir: str | os.PathLike[str],
        *,
        port: int = 7071,
        bind: str = "127.0.0.1",
        data_dir: str | os.PathLike[str] | None = None,
        env: Mapping[str, str] | None = None,
        workers: int | None = None,
        enforce_keys: bool = False,
        clock: Clock | None = None,
        time_skipping: bool = False,
    ) -> None:
        self.app_dir = Path(app_dir).resolve()
        self.port = port
        self.bind = bind
        self.data_dir = Path(data_dir) if data_dir else self.app_dir / ".devhost"
        self.env = worker_env(self.app_dir, os.environ, env)
        self.workers = workers or min(2, os.cpu_count() or 1)
        self.enforce_keys = enforce_keys
        self.clock = clock or Clock()
        self.time_skipping = time_skipping
        self.url = ""
        self.engine: Engine | None = None
        self._runner: web.AppRunner | None = None
        self._pool: WorkerPool | None = None
        self._store: Store | None = None

    async def start(self) -> None:
        host_config(self.app_dir)  # a host.json that does not parse stops start-up, as in Azure
        options = HostOptions.from_env(self.env)  # a bad setting stops start-up, naming it
        self._pool = WorkerPool(str(self.app_dir), self.env, self.workers)
        try:
            described = resolve_expressions(await self._pool.start(), self.env)
            index = FunctionIndex.build([f for f in described if self._enabled(f)])
            time_zone = schedule_time_zone(self.env)
            check_schedules(index.timers, time_zone)
            routes = route_table(index.http)  # a template the host cannot parse stops here
        except BaseException:
            await self._pool.stop()
            raise
        self._store = Store(self.data_dir / "taskhub.sqlite3")
        self.engine = Engine(
            self._store,
            self._pool,
            index,
            self.clock,
            time_skipping=self.time_skipping,
            options=options,
        )
        keys = self._keys() if self.enforce_keys else None
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.bind, self.port))  # bound first: the URL goes into the client binding
        self.url = f"http://{self.bind}:{sock.getsockname()[1]}"
        app = web.Application(client_max_size=MAX_REQUEST_BODY)
        api = DurableApi(
            self.engine, hub_name(self.app_dir), self.url, (keys or {}).get("master"), options
        )
        api.add_routes(app)
        self.engine.client_json = json.dumps(api.client_binding())
        HttpTriggers(routes, self._pool, api.client_binding, keys).add_routes(app)
        EventGridTriggers(
            index.event_grid, self._pool, api.client_binding, self.engine.busy, keys
        ).add_routes(app)
        timers = TimerTriggers(
            index.timers,
            self._pool,
            self._store,
            self.clock,
            spawn=self.engine.spawn,
            busy=self.engine.busy,
            client_binding=api.client_binding,
            time_zone=time_zone,
        )
        self.engine.trigger_due = timers.next_due
        self._add_admin_routes(app, api)
        self.api = api
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        await web.SockSite(self._runner, sock, backlog=1024).start()
        self.engine.start()
        timers.start()
        for fn in index.http:
            route = fn.trigger.get("route") or fn.name
            methods = ",".join(fn.trigger.get("methods") or ["*"])
            log.info("  %s: [%s] %s/api/%s", fn.name, methods, self.url, route)
        log.info("devhost serving %s at %s", self.app_dir, self.url)

    def _enabled(self, function: dict[str, Any]) -> bool:
        """False for a function its Disabled setting turns off. The host creates no listener
        for it (azure-webjobs-sdk `HostListenerFactory`), so an HTTP route 404s, a timer never
        fires, and the Durable extension never registers a disabled orchestrator, activity or
        entity: to it the function does not exist."""
        if disabled_by_setting(function["name"], self.env):
            log.info(
                "function '%s' is disabled by its AzureWebJobs.*.Disabled setting", function["name"]
            )
            return False
        return True

    def _keys(self) -> dict[str, str]:
        """Keys come from settings, as Core Tools' host keys would."""
        master = self.env.get("DEVHOST_MASTER_KEY") or ""
        if not master:
            raise RuntimeError("--enforce-keys needs DEVHOST_MASTER_KEY in settings")
        return {
            "master": master,
            "function": self.env.get("DEVHOST_FUNCTION_KEY", ""),
            "eventgrid": self.env.get("DEVHOST_EVENTGRID_KEY", ""),
        }

    async def stop(self) -> None:
        if self.engine:
            await self.engine.stop()
        if self._runner:
            await self._runner.cleanup()
        if self._pool:
            await self._pool.stop()
        if self._store:
            self._store.close()

    # -- control endpoints for devhost.testing ----------------------------------------
    def _add_admin_routes(self, app: web.Application, api: DurableApi) -> None:
        engine = self.engine
        assert engine is not None

        async def host_status(_: web.Request) -> web.Response:
            return web.json_response({"state": "Running", "url": self.url})

        async def advance(request: web.Request) -> web.Response:
            self.clock.advance(float(request.query.get("seconds", "0")))
            return web.json_response({"now": self.clock.now()})

        async def wait(request: web.Request) -> web.Response:
            wanted = request.query.get("statuses")
            statuses = set(wanted.split(",")) if wanted else set(TERMINAL)
            timeout = float(request.query.get("timeout", "10"))
            inst = await engine.wait_status(request.match_info["iid"], statuses, timeout)
            if inst is None:
                return web.Response(status=404)
            body = api.status_payload(inst)
            return web.json_response(body, status=200 if inst.status in statuses else 408)

        async def stats(_: web.Request) -> web.Response:
            return web.json_response(
                {
                    "episodes": engine.stats.episodes,
                    "activities": engine.stats.activities,
                    "dispatch_latency": list(engine.stats.dispatch_latency),
                    "replay_seconds": engine.stats.replay_seconds,
                    "activity_seconds": engine.stats.activity_seconds,
                    "commit_seconds": engine.stats.commit_seconds,
                    "groups": engine.stats.groups,
                    "time": time.time(),
                }
            )

        app.router.add_get("/admin/host/status", host_status)
        app.router.add_post("/admin/devhost/clock/advance", advance)
        app.router.add_get("/admin/devhost/instances/{iid}/wait", wait)
        app.router.add_get("/admin/devhost/stats", stats)
