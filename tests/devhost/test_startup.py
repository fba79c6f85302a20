"""Start-up: indexing, refusal of unsupported bindings, --enforce-keys, CLI."""

from __future__ import annotations

import asyncio
import logging
import shutil
import subprocess
import sys

import pytest

from devhost.index import UnsupportedBinding
from devhost.server import Host
from devhost.settings import HostConfigError, host_config
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
        # the header is read first, even when ?code= holds a good key
        assert host.get("/api/secret?code=fn-key", headers={"x-functions-key": "x"}).status == 401
        # the Event Grid webhook takes the master or its system key, not a function key
        hook = "/runtime/webhooks/eventgrid?functionName=none"
        assert host.post(hook, data=b"[]").status == 401
        assert host.post(hook + "&code=fn-key", data=b"[]").status == 401
        assert host.post(hook + "&code=eg-key", data=b"[]").status == 404  # past the key check
        assert host.post(hook, data=b"[]", headers={"x-functions-key": "master-key"}).status == 404


def _app_with_host_json(tmp_path, host_json: str):
    app = tmp_path / "app"
    app.mkdir()
    shutil.copy(APPS / "later_triggers" / "function_app.py", app / "function_app.py")
    (app / "host.json").write_text(host_json)
    return app


def test_a_host_json_that_does_not_parse_stops_startup_naming_file_and_position(tmp_path) -> None:
    app = _app_with_host_json(tmp_path, '{\n  "version": "2.0"\n}\n}\n')
    cmd = [sys.executable, "-m", "devhost", str(app), "--port", "0", "--data", str(tmp_path)]
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert run.returncode != 0
    assert f"Unable to parse host configuration file '{app / 'host.json'}'" in run.stderr
    assert "line 4 column 1" in run.stderr


def test_comments_in_host_json_stop_startup_as_the_durable_sdk_stops_on_azure(tmp_path) -> None:
    app = _app_with_host_json(tmp_path, '{\n  // a comment\n  "version": "2.0"\n}\n')
    with pytest.raises(HostConfigError, match=r"host\.json'\. Expecting property name.*line 2"):
        host_config(app)
