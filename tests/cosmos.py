"""A Cosmos DB NoSQL API server for the contract suite: `@vercel/cosmosdb-server` from npm.

Started once per session through `scripts/cosmosdb_server.js` (our launcher: keep-alive, a
404 for a missing point read, TLS with a certificate from a throwaway CA, fault injection) on
a port the server picks itself. The SDK verifies TLS against that CA, so no
`InsecureRequestWarning`. A missing package is a failure (run `npm install`), never a skip.

`COSMOS_EMULATOR_ENDPOINT` (with `COSMOS_EMULATOR_KEY`, and `COSMOS_EMULATOR_CA_BUNDLE` for the
emulator's exported certificate) points the suite at a real emulator or account instead.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
import trustme

from tests.processes import stop

REPO = Path(__file__).resolve().parents[1]
LAUNCHER = REPO / "scripts" / "cosmosdb_server.js"
PACKAGE = REPO / "node_modules" / "@vercel" / "cosmosdb-server" / "package.json"
# The server checks no signatures, but the SDK wants a base64 key to sign with: any will do.
SERVER_KEY = "Y29zbW9zZGItc2VydmVyIGNoZWNrcyBubyBrZXk="


@dataclass(frozen=True)
class CosmosEndpoint:
    """Where the suite's Cosmos API answers, and how the SDK should reach it."""

    url: str
    key: str | None
    ca_bundle: str | None  # None: the SDK's own choice (it never verifies localhost by itself)
    faults_url: str | None = None  # the launcher's /__faults control path, when it is ours

    def client_options(self) -> dict[str, Any]:
        """`CosmosClient` options that make the SDK verify TLS against our CA.

        For localhost the SDK turns verification off (and urllib3 warns) unless it is given an
        `ssl_config`; with one, `connection_verify` becomes the CA bundle it checks against.
        """
        if self.ca_bundle is None:
            return {}
        from azure.cosmos import SSLConfiguration

        return {"ssl_config": SSLConfiguration(), "connection_verify": self.ca_bundle}


def _node_server(workspace: Path) -> Iterator[CosmosEndpoint]:
    node = shutil.which("node")
    if node is None or not PACKAGE.exists():
        pytest.fail(
            f"{PACKAGE.parent} is missing: run `npm install` in {REPO} (CI installs it;"
            " the Cosmos DB contract tests never skip)",
            pytrace=False,
        )
    ca = trustme.CA(organization_name="Crosswalk test Cosmos")
    cert = ca.issue_cert("127.0.0.1", "localhost")
    cert_path, key_path, ca_path = (workspace / n for n in ("cert.pem", "key.pem", "ca.pem"))
    cert.cert_chain_pems[0].write_to_path(str(cert_path))
    cert.private_key_pem.write_to_path(str(key_path))
    ca.cert_pem.write_to_path(str(ca_path))
    log = (workspace / "cosmosdb-server.log").open("wb")
    process = subprocess.Popen(
        [node, str(LAUNCHER), "--port", "0", "--cert", str(cert_path), "--key", str(key_path),
         "--faults"],
        stdout=subprocess.PIPE,
        stderr=log,
    )  # fmt: skip
    try:
        ready = _read_ready_line(process, timeout=30)
        base = f"https://127.0.0.1:{ready['port']}"
        yield CosmosEndpoint(
            url=f"{base}/",
            key=SERVER_KEY,
            ca_bundle=str(ca_path),
            faults_url=f"{base}/__faults",
        )
    finally:
        stop(process)
        if process.stdout is not None:
            process.stdout.close()
        log.close()


def _read_ready_line(process: subprocess.Popen[bytes], *, timeout: float) -> dict[str, Any]:
    """The launcher's `{"ready": ...}` line; a reader thread keeps the wait bounded."""
    assert process.stdout is not None
    box: list[bytes] = []
    reader = threading.Thread(target=lambda: box.append(process.stdout.readline()), daemon=True)  # type: ignore[union-attr]
    reader.start()
    reader.join(timeout)
    if not box or not box[0]:
        process.kill()
        raise RuntimeError(
            f"cosmosdb-server launcher did not start (exit code {process.poll()}); see its log"
        )
    return dict(json.loads(box[0]))


@pytest.fixture(scope="session")
def cosmos_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CosmosEndpoint]:
    """A Cosmos DB API for the whole session: a configured emulator, else our Node server."""
    configured = os.environ.get("COSMOS_EMULATOR_ENDPOINT")
    if configured:
        yield CosmosEndpoint(
            url=configured,
            key=os.environ.get("COSMOS_EMULATOR_KEY"),
            ca_bundle=os.environ.get("COSMOS_EMULATOR_CA_BUNDLE"),
        )
        return
    yield from _node_server(tmp_path_factory.mktemp("cosmosdb-server"))


class Faults:
    """The launcher's fault injection: the next matching requests get a chosen status."""

    def __init__(self, url: str, ca_bundle: str) -> None:
        self._url = url
        self._verify = ca_bundle  # per request: REQUESTS_CA_BUNDLE would override a session's
        self._session = requests.Session()

    def add(
        self,
        *,
        status: int,
        path: str = "",
        method: str | None = None,
        count: int = 1,
        retry_after_ms: int | None = None,
        substatus: int | None = None,
    ) -> None:
        rule: dict[str, Any] = {"status": status, "path": path, "count": count}
        if method:
            rule["method"] = method
        if retry_after_ms is not None:
            rule["retryAfterMs"] = retry_after_ms
        if substatus is not None:
            rule["substatus"] = substatus
        self._session.post(self._url, json=rule, timeout=10, verify=self._verify).raise_for_status()

    def injected(self) -> int:
        """How many requests were answered with a fault since the server started."""
        return int(self._session.get(self._url, timeout=10, verify=self._verify).json()["injected"])

    def clear(self) -> None:
        self._session.delete(self._url, timeout=10, verify=self._verify).raise_for_status()

    def close(self) -> None:
        self._session.close()
