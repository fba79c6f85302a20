"""HTTP triggers get the invocation's W3C trace context as `context.trace_context`, as in Azure."""

from __future__ import annotations

import re

APP = "trace_context"
CALLER = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
TRACEPARENT = re.compile(r"00-[0-9a-f]{32}-[0-9a-f]{16}-01")


def test_the_callers_traceparent_and_tracestate_reach_the_function(app_host) -> None:
    resp = app_host.get("/api/trace", headers={"traceparent": CALLER, "tracestate": "az=1"})
    assert resp.text == f"{CALLER}|az=1"


def test_without_a_traceparent_the_function_starts_a_new_sampled_trace(app_host) -> None:
    first = app_host.get("/api/trace").text.split("|")[0]
    second = app_host.get("/api/trace").text.split("|")[0]
    assert TRACEPARENT.fullmatch(first) and TRACEPARENT.fullmatch(second)
    assert first.split("-")[1] != second.split("-")[1]


def test_a_malformed_traceparent_is_replaced_not_passed_on(app_host) -> None:
    resp = app_host.get("/api/trace", headers={"traceparent": "00-not-a-trace-01"})
    parent = resp.text.split("|")[0]
    assert TRACEPARENT.fullmatch(parent)
