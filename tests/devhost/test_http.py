"""HTTP triggers at /api/<route>, the Core Tools way."""

from __future__ import annotations

import asyncio
import socket
import urllib.parse

import pytest

from devhost.index import UnsupportedBinding
from devhost.server import Host
from tests.devhost.conftest import APPS

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


def test_a_method_no_route_takes_is_a_404_as_on_azure(app_host) -> None:
    assert app_host.get("/api/echo").status == 404


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


def test_the_first_matching_route_in_registration_order_wins(app_host) -> None:
    assert app_host.get("/api/order/literal").text == "parameter"


def test_int_is_32_bit(app_host) -> None:
    assert app_host.get("/api/items/2147483647").json() == {"id": 2147483647, "kind": "int"}
    assert app_host.get("/api/items/2147483648").json() == {"name": "2147483648"}


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("constrained/10/ab/xyz", 200),
        ("constrained/11/ab/xyz", 404),  # range(1,10)
        ("constrained/5/abc/xyz", 404),  # regex(^[a-z]{2}$)
        ("constrained/5/AB/xyz", 200),  # regex is case-insensitive
        ("constrained/5/ab/xy", 404),  # length(3)
    ],
)
def test_aspnet_constraints_are_enforced(app_host, path: str, status: int) -> None:
    assert app_host.get(f"/api/{path}").status == status


def test_an_encoded_slash_stays_encoded_in_a_route_value(app_host) -> None:
    assert app_host.get("/api/value/a%2Fb").text == "a%2Fb"
    assert app_host.get("/api/value/a%20b").text == "a b"


def test_routes_in_the_hosts_own_space_are_not_loaded(app_host) -> None:
    assert app_host.get("/api/administration").status == 404
    assert app_host.get("/api/runtimeinfo").status == 404


def test_a_second_function_on_the_same_route_and_method_is_not_loaded(app_host) -> None:
    assert app_host.get("/api/shared").text == "get"
    assert app_host.post("/api/shared", data=b"").text == "post"
    assert app_host.request("PUT", "/api/shared", data=b"").status == 404  # shared_again


BAD_ROUTE_APP = APPS / "bad_route"


@pytest.mark.parametrize(
    ("template", "reason"),
    [
        ("things/{id:integer}", "could not be resolved"),
        ("things/{id?}/more", "optional"),
        ("things/{*rest}/more", "catch-all"),
    ],
)
def test_a_route_template_the_host_refuses_stops_start_up(tmp_path, template, reason) -> None:
    host = Host(BAD_ROUTE_APP, port=0, data_dir=tmp_path, workers=1, env={"BAD_ROUTE": template})
    with pytest.raises(UnsupportedBinding, match=f"'bad'.*{reason}"):
        asyncio.run(host.start())
