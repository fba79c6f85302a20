"""HTTP triggers at /api/<route>, the Core Tools way."""

from __future__ import annotations

import socket
import urllib.parse

import pytest

APP = "http_routes"
ENV = {"OVERRIDDEN": "from-env"}


def test_int_constraint_chooses_the_matching_route(app_host) -> None:
    by_id = app_host.get("/api/items/42")
    assert by_id.status == 200 and by_id.json() == {"id": 42, "kind": "int"}
    assert by_id.headers["Content-Type"].startswith("application/json")
    by_name = app_host.get("/api/items/widget")
    assert by_name.status == 201 and by_name.json() == {"name": "widget"}


def test_optional_segment_and_async_str_return(app_host) -> None:
    assert app_host.get("/api/optional").text == "x=None"
    assert app_host.get("/api/optional/7").text == "x=7"


def test_request_shape_and_response_headers(app_host) -> None:
    resp = app_host.request(
        "PUT", "/api/echo?a=1&b=two", json={"k": "v"}, headers={"X-Custom": "hdr"}
    )
    assert resp.status == 200
    assert resp.headers["X-Echo"] == "yes"
    body = resp.json()
    assert body["method"] == "PUT"
    assert body["params"] == {"a": "1", "b": "two"}
    assert body["header"] == "hdr"
    assert body["json"] == {"k": "v"}
    assert body["url"].endswith("/api/echo?a=1&b=two")


def test_methods_are_enforced(app_host) -> None:
    assert app_host.get("/api/echo").status == 405


def test_binary_body_default_route_and_404(app_host) -> None:
    assert app_host.get("/api/raw").body == b"\x00\x01binary"
    assert app_host.get("/api/NamedDefaultRoute").text == "default"
    assert app_host.get("/api/nothing/here").status == 404


def test_local_settings_fill_env_without_overriding(app_host) -> None:
    assert app_host.get("/api/setting").text == "from-file|from-env"


def test_handler_exception_is_a_500(app_host) -> None:
    assert app_host.get("/api/crash").status == 500


def test_auth_levels_not_enforced_by_default(app_host) -> None:
    assert app_host.get("/api/secret").text == "secret"


def test_query_strings_reach_the_function_as_the_host_passes_them(app_host) -> None:
    """Repeated keys joined with ',', keys case-insensitive, empty values dropped."""
    params = app_host.request("PUT", "/api/echo?a=1&a=2&x=&B=3&b=4&c=", json={}).json()["params"]
    assert params == {"a": "1,2", "B": "3,4"}
    url = app_host.request("PUT", "/api/echo?x=&a=1", json={}).json()["url"]
    assert url.endswith("/api/echo?x=&a=1")  # the URL itself is untouched


@pytest.mark.parametrize("kind", ["none", "dict", "list", "bytes", "int"])
def test_only_http_response_or_str_may_be_returned(app_host, kind: str) -> None:
    """The worker's http converter takes HttpResponse and str; anything else is a 500."""
    assert app_host.get(f"/api/returns/{kind}").status == 500


def test_charset_only_for_text_types_and_every_cookie_kept(app_host) -> None:
    cookies = app_host.get("/api/cookies")
    assert cookies.headers["Content-Type"] == "application/json"  # no charset
    assert sorted(cookies.getall("Set-Cookie")) == ["a=1; Path=/", "b=2; Path=/"]
    assert app_host.get("/api/plain").headers["Content-Type"] == "text/csv; charset=utf-8"


def test_a_body_over_100_mib_is_refused_before_it_is_read(app_host) -> None:
    """The host's limit is 100 MiB (104,857,600 bytes); the declared length is enough."""
    url = urllib.parse.urlsplit(app_host.url)
    with socket.create_connection((url.hostname, url.port), timeout=10) as conn:
        conn.sendall(
            b"PUT /api/echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 104857601\r\n\r\n"
        )
        answer = b""
        while chunk := conn.recv(4096):  # until the host closes the connection
            answer += chunk
    assert answer.split(b"\r\n")[0] == b"HTTP/1.1 413 Request Entity Too Large"
