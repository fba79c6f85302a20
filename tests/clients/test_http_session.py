"""Crosswalk's sessions take the environment's proxy settings as requests would, per origin."""

from __future__ import annotations

import pytest
import requests

from crosswalk.clients.http import make_session

URLS = [
    "https://acme.my.salesforce.com/services/data/v59.0/query?q=SELECT+Id+FROM+Account",
    "https://acme.my.salesforce.com/services/data/v59.0/sobjects/Account/001",
    "https://d2c.example/customers",
    "http://127.0.0.1:7071/runtime/webhooks/durabletask/instances",
    "https://internal.example:8443/hooks/chat",
]


@pytest.fixture
def proxied(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.example:3128")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,internal.example")


@pytest.mark.usefixtures("proxied")
def test_proxy_settings_match_what_requests_itself_would_use_for_every_url() -> None:
    ours, plain = make_session(system="salesforce"), requests.Session()

    for _ in range(2):  # the second round is answered from what the first worked out
        for url in URLS:
            assert ours.merge_environment_settings(url, {}, None, True, None) == (
                plain.merge_environment_settings(url, {}, None, True, None)
            ), url

    assert ours.merge_environment_settings(URLS[2], {}, None, True, None)["proxies"] == {
        "https": "http://proxy.example:3128",
        "http": "http://proxy.example:3128",
        "no": "127.0.0.1,internal.example",
    }
    assert ours.merge_environment_settings(URLS[3], {}, None, True, None)["proxies"] == {}


@pytest.mark.usefixtures("proxied")
def test_a_caller_changing_the_proxies_it_got_does_not_change_the_next_answer() -> None:
    session = make_session(system="d2c")
    first = session.merge_environment_settings(URLS[2], {}, None, True, None)

    first["proxies"]["https"] = "http://elsewhere.example:1"

    again = session.merge_environment_settings(URLS[2], {}, None, True, None)
    assert again["proxies"]["https"] == "http://proxy.example:3128"
