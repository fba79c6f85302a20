"""Our launcher for @vercel/cosmosdb-server fixes two of the server's answers (see the script).

Checked over raw HTTPS, without the SDK, so the SDK's own retries cannot hide a wrong answer.
"""

from __future__ import annotations

import http.client
import json
import ssl
from urllib.parse import urlsplit

import pytest

from tests.cosmos import CosmosEndpoint

pytestmark = pytest.mark.cosmos


@pytest.fixture
def connection(cosmos_endpoint: CosmosEndpoint) -> http.client.HTTPSConnection:
    if cosmos_endpoint.faults_url is None or cosmos_endpoint.ca_bundle is None:
        pytest.skip("checks our launcher, not an external emulator")
    url = urlsplit(cosmos_endpoint.url)
    context = ssl.create_default_context(cafile=cosmos_endpoint.ca_bundle)
    return http.client.HTTPSConnection(url.hostname or "", url.port, context=context, timeout=10)


def _call(
    connection: http.client.HTTPSConnection,
    method: str,
    path: str,
    body: dict[str, object] | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, object], http.client.HTTPResponse]:
    connection.request(
        method,
        path,
        body=json.dumps(body) if body is not None else None,
        headers={"content-type": "application/json", **(headers or {})},
    )
    response = connection.getresponse()
    return response.status, json.loads(response.read() or b"{}"), response


def test_a_point_read_of_a_missing_item_is_404_not_found_and_the_connection_stays_open(
    connection: http.client.HTTPSConnection,
) -> None:
    _call(connection, "POST", "/dbs", {"id": "launcher-db"})
    _call(
        connection,
        "POST",
        "/dbs/launcher-db/colls",
        {"id": "c", "partitionKey": {"paths": ["/pk"], "kind": "Hash"}},
    )
    socket_before = connection.sock

    status, body, response = _call(
        connection,
        "GET",
        "/dbs/launcher-db/colls/c/docs/missing",
        headers={"x-ms-documentdb-partitionkey": '["missing"]'},
    )

    assert status == 404
    assert body["code"] == "NotFound"
    assert response.getheader("connection") == "keep-alive"
    assert connection.sock is socket_before  # the same TLS connection served every request
    connection.close()


def test_a_point_read_of_a_stored_item_still_answers_it(
    connection: http.client.HTTPSConnection,
) -> None:
    _call(connection, "POST", "/dbs", {"id": "launcher-db2"})
    _call(
        connection,
        "POST",
        "/dbs/launcher-db2/colls",
        {"id": "c", "partitionKey": {"paths": ["/pk"], "kind": "Hash"}},
    )
    _call(
        connection,
        "POST",
        "/dbs/launcher-db2/colls/c/docs",
        {"id": "a", "pk": "a", "v": 1},
        headers={"x-ms-documentdb-partitionkey": '["a"]'},
    )

    status, body, _ = _call(
        connection,
        "GET",
        "/dbs/launcher-db2/colls/c/docs/a",
        headers={"x-ms-documentdb-partitionkey": '["a"]'},
    )

    assert status == 200
    assert body["v"] == 1
    connection.close()
