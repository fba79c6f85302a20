"""`make run` when a port it needs is taken: it says which one and how to choose others, and
exits non-zero without a traceback, before anything has started."""

from __future__ import annotations

import shutil
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A port something else listens on, for as long as the test runs."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        yield holder.getsockname()[1]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.skipif(shutil.which("make") is None, reason="GNU make is not installed")
@pytest.mark.parametrize("variable", ["PORT", "SALESFORCE_PORT", "D2C_PORT"])
def test_make_run_with_a_port_taken_names_it_and_exits_non_zero(taken_port, variable):
    ports = {"PORT": _free_port(), "SALESFORCE_PORT": _free_port(), "D2C_PORT": _free_port()}
    ports[variable] = taken_port
    # -o: treat the dependency stamp as up to date; this test is not about installing
    result = subprocess.run(
        ["make", "-s", "-o", ".venv/.deps-stamp", "run", *(f"{k}={v}" for k, v in ports.items())],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode != 0
    assert f"port {taken_port}" in result.stderr and "already taken" in result.stderr
    assert "make run PORT=" in result.stderr and "SALESFORCE_PORT=" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert "Crosswalk is running" not in result.stdout


def _port_left_in_time_wait() -> int:
    """A port whose server closed a connection first: it stays in TIME_WAIT for a minute,
    as devhost's and the sandbox's ports do right after `make run` stops."""
    with socket.socket() as server:
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        with socket.create_connection(("127.0.0.1", port)) as client:
            accepted, _ = server.accept()
            accepted.close()
            client.recv(1)  # the server's FIN
    return port


def test_a_port_the_last_run_left_in_time_wait_is_free_and_a_listening_one_is_not(taken_port):
    from scripts.run_stack import _port_taken

    assert not _port_taken(_port_left_in_time_wait())
    assert _port_taken(taken_port)
