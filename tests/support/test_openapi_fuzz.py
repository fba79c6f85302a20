"""Schemathesis against the support API's OpenAPI document: generated requests (valid and
invalid), with full roles, a reader's role and no credentials, never get a 5xx.

Schemathesis's pytest plugin does not run on pytest 9 yet, so each operation's strategy is
driven by Hypothesis directly.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error

from crosswalk.support.openapi import document
from tests.app_functions import app_functions
from tests.support.stack import APPROVE, OPERATE, READ, SupportStack

pytestmark = pytest.mark.slow
OPERATIONS = [(method, path) for path, item in document()["paths"].items() for method in item]


@pytest.fixture(scope="module")
def api_schema(stack: SupportStack) -> Any:
    return schemathesis.openapi.from_url(f"{stack.host.url}/api/support/openapi.json")


def test_the_served_document_is_the_built_one_and_covers_every_route(stack):
    served = stack.host.get("/api/support/openapi.json").json()

    assert served == document()
    assert sorted(OPERATIONS) == sorted(_api_routes_of_the_app())


def _api_routes_of_the_app() -> list[tuple[str, str]]:
    """Every support JSON route function_app registers (the console's pages aside)."""
    routes = []
    for function in app_functions():
        trigger = function.get_trigger()
        route = getattr(trigger, "route", None) or ""
        if not route.startswith("support/") or route.startswith(
            ("support/console", "support/openapi")
        ):
            continue
        for method in trigger.methods or []:
            routes.append((str(method).lower(), route.removeprefix("support")))
    return routes


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_no_generated_request_gets_a_server_error(api_schema, stack, method, path):
    operation = api_schema[path][method.upper()]
    cases = st.one_of(
        operation.as_strategy(GenerationMode.POSITIVE),
        operation.as_strategy(GenerationMode.NEGATIVE),
    )
    base = f"{stack.host.url}/api/support"
    credentials = (stack.auth(READ, OPERATE, APPROVE), stack.auth(READ), {})

    @given(case=cases)
    @settings(
        max_examples=25, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck)
    )
    def check(case: Any) -> None:
        for headers in credentials:
            response = case.call(base_url=base, headers=headers)
            case.validate_response(response, checks=[not_a_server_error])

    check()
