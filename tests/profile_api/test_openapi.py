"""The profile API's OpenAPI document: served, committed (API Management imports that copy),
covering every route, and no generated request (valid or not, with or without a token) gets
a 5xx."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error

from crosswalk.profile_api.openapi import document
from scripts.localstack import APP_DIR
from tests.app_functions import app_functions

from .conftest import ProfileStack

OPERATIONS = [(method, path) for path, item in document()["paths"].items() for method in item]
COMMITTED = APP_DIR / "docs" / "profile-api.openapi.json"


def test_the_served_document_is_the_built_one(stack: ProfileStack) -> None:
    assert stack.host.get("/api/profile-api/openapi.json").json() == document()


def test_the_committed_copy_for_api_management_is_current() -> None:
    built = json.dumps(document(), indent=2) + "\n"
    assert Path(COMMITTED).read_text() == built, (
        "regenerate docs/profile-api.openapi.json: python -m crosswalk.profile_api.openapi"
    )


def test_the_document_covers_every_profile_route_of_the_app() -> None:
    routes = set()
    for function in app_functions():
        route = getattr(function.get_trigger(), "route", None) or ""
        if route == "profiles" or route.startswith("profiles/"):
            routes.update((str(m).lower(), "/" + route) for m in function.get_trigger().methods)
    assert routes == set(OPERATIONS)


@pytest.fixture(scope="module")
def api_schema(stack: ProfileStack) -> Any:
    return schemathesis.openapi.from_url(f"{stack.host.url}/api/profile-api/openapi.json")


@pytest.mark.slow
@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_no_generated_request_gets_a_server_error(api_schema, stack, reader_token, method, path):
    operation = api_schema[path][method.upper()]
    cases = st.one_of(
        operation.as_strategy(GenerationMode.POSITIVE),
        operation.as_strategy(GenerationMode.NEGATIVE),
    )
    credentials = ({"Authorization": f"Bearer {reader_token}"}, {})

    @given(case=cases)
    @settings(
        max_examples=40, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck)
    )
    def check(case: Any) -> None:
        for headers in credentials:
            response = case.call(base_url=f"{stack.host.url}/api", headers=headers)
            case.validate_response(response, checks=[not_a_server_error])

    check()
