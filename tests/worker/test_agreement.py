"""devhost refuses at start exactly what the real Python worker refuses, with its words.

Small apps in tests/worker/apps/ go through both: devhost on the app's Python (3.11) with its
own load checks (devhost/load_checks.py), and the real worker's indexing code on 3.13.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.worker.real_worker import ROOT, index_with_worker

APPS = Path(__file__).parent / "apps"
REFUSAL = re.compile(r"^\s*(cannot load the (\S+) function: .*)$", re.MULTILINE)


def start_devhost(app: Path, data_dir: Path) -> subprocess.CompletedProcess[str]:
    """`python -m devhost APP --port 0` as a user runs it; returns once it exits (or 60 s)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "devhost", str(app), "--port", "0", "--data", str(data_dir)]
    cmd += ["--workers", "1"]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=60)


def devhost_refusals(output: str) -> dict[str, str]:
    return {m.group(2): m.group(1).strip() for m in REFUSAL.finditer(output)}


def test_devhost_refuses_a_mis_annotated_app_at_start_naming_each_function(tmp_path) -> None:
    run = start_devhost(APPS / "signatures", tmp_path)
    assert run.returncode != 0
    refused = devhost_refusals(run.stderr)
    assert refused["builtin_generic"] == (
        "cannot load the builtin_generic function: "
        "binding payload has invalid non-type annotation dict[str, typing.Any]"
    )
    assert "11 of 16 functions refused" in run.stderr
    assert "devhost listening" not in run.stdout


@pytest.mark.timeout(900)  # the first run builds the cached 3.13 environment
def test_devhost_and_the_real_worker_refuse_the_same_functions_in_the_same_words(
    worker_python: Path, tmp_path
) -> None:
    app = APPS / "signatures"
    worker = index_with_worker(worker_python, app)
    run = start_devhost(app, tmp_path)

    assert run.returncode != 0, "devhost started an app the real worker refuses"
    assert len(worker["functions"]) == 16
    assert worker["refused"], "the app is meant to hold functions the worker refuses"
    assert devhost_refusals(run.stderr) == worker["refused"]
    accepted = set(worker["functions"]) - set(worker["refused"])
    assert accepted == {"bare_dict", "any_payload", "typing_dict", "text", "queue_via_out"}


@pytest.mark.timeout(900)
def test_an_app_both_accept_starts_and_a_value_without_return_binding_fails_it(
    worker_python: Path, devhost_factory
) -> None:
    app = APPS / "loads"
    worker = index_with_worker(worker_python, app)
    assert worker["error"] is None and worker["refused"] == {}
    assert len(worker["functions"]) == 7

    host = devhost_factory(app, workers=1)
    assert host.get("/api/ping").text == "pong"
    event = {
        "id": "e-1",
        "subject": "things/1",
        "eventType": "Thing.Changed",
        "eventTime": "2024-05-01T12:00:00Z",
        "data": {},
        "dataVersion": "1.0",
    }
    hook = "/runtime/webhooks/eventgrid?functionName="
    headers = {"Content-Type": "application/json", "aeg-event-type": "Notification"}
    assert host.post(hook + "on_event", data=json.dumps([event]), headers=headers).status == 202
    # an Event Grid function has no $return binding: returning a value fails the invocation
    failed = host.post(hook + "returns_a_value", data=json.dumps([event]), headers=headers)
    assert failed.status == 500
