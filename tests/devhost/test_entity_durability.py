"""Entity state and queued operations survive kill -9 of the host."""

from __future__ import annotations

import threading
import time
import urllib.error
import uuid

import pytest

from devhost.testing import spawn
from tests.devhost.conftest import APPS

API = "/runtime/webhooks/durabletask"


def wait_state(host, path: str, predicate, timeout: float = 20):
    deadline = time.monotonic() + timeout
    while True:
        resp = host.get(path)
        if resp.status == 200 and predicate(resp.json()):
            return resp.json()
        assert time.monotonic() < deadline, f"{path}: {resp.status} {resp.text}"
        time.sleep(0.02)


@pytest.mark.slow
def test_entity_state_survives_kill_9_mid_stream(tmp_path) -> None:
    key = uuid.uuid4().hex[:8]
    path = f"{API}/entities/counter/{key}"
    host = spawn(APPS / "entities", data_dir=tmp_path / "hub")
    accepted = 0
    stop = threading.Event()

    def sender() -> None:  # one sender, one signal at a time: at most one in flight at the kill
        nonlocal accepted
        while not stop.is_set():
            try:
                if host.post(f"{path}?op=add", json="1", timeout=5).status == 202:
                    accepted += 1
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                return

    try:
        thread = threading.Thread(target=sender)
        thread.start()
        deadline = time.monotonic() + 10
        while accepted < 150:  # kill in the middle of the stream, batches in flight
            assert time.monotonic() < deadline
            time.sleep(0.01)
        host.kill()
        stop.set()
        thread.join(10)
        host.launch()
        # every acknowledged signal lands exactly once; the one in flight at most once
        final = wait_state(host, path, lambda v: v >= accepted)
        time.sleep(0.3)
        assert host.get(path).json() in (accepted, accepted + 1), (final, accepted)
        settled = host.get(path).json()
        host.kill()
        host.launch()
        assert host.get(path).json() == settled  # committed state, read after another kill
        assert host.post(f"{path}?op=add", json="10").status == 202
        wait_state(host, path, lambda v: v == settled + 10)
    finally:
        stop.set()
        host.stop()
