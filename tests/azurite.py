"""Azurite, the real Blob Storage emulator from npm, for every test that needs Blob.

Started once per session on a free port; a missing Azurite is a failure (run `npm install`),
never a skip, so CI always exercises the Blob code.
"""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.processes import stop

REPO = Path(__file__).resolve().parents[1]
AZURITE_BLOB = REPO / "node_modules" / ".bin" / "azurite-blob"
# Azurite's well-known development account (public, documented by Microsoft; not a secret).
DEV_ACCOUNT = "devstoreaccount1"
DEV_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


def azurite_executable(path: Path) -> Path:
    """The Azurite blob binary, or a test failure telling how to install it (never a skip)."""
    if not path.exists():
        pytest.fail(
            f"{path} is missing: run `npm install` in {REPO} (CI installs Azurite;"
            " the Blob lake tests never skip)",
            pytrace=False,
        )
    return path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def connection_string(port: int) -> str:
    return (
        "DefaultEndpointsProtocol=http;"
        f"AccountName={DEV_ACCOUNT};AccountKey={DEV_KEY};"
        f"BlobEndpoint=http://127.0.0.1:{port}/{DEV_ACCOUNT};"
    )


def _wait_for_port(port: int, process: subprocess.Popen[bytes], deadline: float) -> None:
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"azurite-blob exited early with code {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"azurite-blob did not answer on port {port} within the deadline")


@pytest.fixture(scope="session")
def azurite_connection_string(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Azurite blob service on a free port for the whole session, stopped afterwards."""
    executable = azurite_executable(AZURITE_BLOB)
    workspace = tmp_path_factory.mktemp("azurite")
    port = free_port()
    log = (workspace / "azurite.log").open("wb")
    process = subprocess.Popen(
        [
            str(executable),
            "--blobHost", "127.0.0.1",
            "--blobPort", str(port),
            "--location", str(workspace),
            "--silent",
            "--skipApiVersionCheck",
            "--loose",
            "--disableTelemetry",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        _wait_for_port(port, process, time.monotonic() + 30)
        yield connection_string(port)
    finally:
        stop(process)
        log.close()
