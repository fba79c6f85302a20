"""Start-up: indexing, refusal of unsupported bindings, --enforce-keys, CLI."""

from __future__ import annotations

import asyncio
import logging

import pytest

from devhost.index import UnsupportedBinding
from devhost.server import Host
from devhost.testing import spawn
from tests.devhost.conftest import APPS


def test_unsupported_trigger_stops_startup_naming_it(tmp_path) -> None:
    host = Host(APPS / "unsupported", port=0, data_dir=tmp_path, workers=1)
    with pytest.raises(UnsupportedBinding, match="'on_message'.*'queueTrigger'"):
        asyncio.run(host.start())


def test_entity_timer_and_event_grid_triggers_are_served(devhost_factory, caplog) -> None:
    with caplog.at_level(logging.WARNING, logger="devhost"):
        host = devhost_factory(APPS / "later_triggers")
    assert host.get("/api/ping").text == "pong"
    assert "not served" not in " ".join(r.getMessage() for r in caplog.records)


def test_cli_enforce_keys(tmp_path) -> None:
    host = spawn(APPS / "http_routes", data_dir=tmp_path, extra_args=["--enforce-keys"])
    with host:
        assert host.get("/api/secret").status == 401
        assert host.get("/api/secret?code=fn-key").text == "secret"
        assert host.get("/api/secret", headers={"x-functions-key": "master-key"}).status == 200
        assert host.get("/api/items/1").status == 200  # anonymous
