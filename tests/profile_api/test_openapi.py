"""The profile API's OpenAPI document: served, committed, covering every route, and no
generated request (valid or not, with or without a token) gets a 5xx. API Management imports
its OpenAPI 3.0 rendering (committed too), a valid 3.0 document of the same contract."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openapi_spec_validator import OpenAPIV30SpecValidator
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error

from crosswalk.profile_api.openapi import document, openapi_30
from scripts.localstack import APP_DIR
from tests.app_functions import app_functions

from .conftest import ProfileStack

OPERATIONS = [(method, path) for path, item in document()["paths"].items() for method in item]
COMMITTED = APP_DIR / "docs" / "profile-api.openapi.json"
COMMITTED_30 = APP_DIR / "docs" / "profile-api.openapi30.json"


def test_the_served_document_is_the_built_one(stack: ProfileStack) -> None:
    assert stack.host.get("/api/profile-api/openapi.json").json() == document()


def test_the_committed_copy_for_api_management_is_current() -> None:
    built = json.dumps(document(), indent=2) + "\n"
    assert Path(COMMITTED).read_text() == built, (
        "regenerate docs/profile-api.openapi.json: python -m crosswalk.profile_api.openapi"
    )


def test_the_committed_30_rendering_for_api_management_is_current() -> None:
    built = json.dumps(openapi_30(document()), indent=2) + "\n"
    assert Path(COMMITTED_30).read_text() == built, (
        "regenerate docs/profile-api.openapi30.json: python -m crosswalk.profile_api.openapi"
    )


def _nodes(node: Any):
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _nodes(value)
    elif isinstance(node, list):
        for value in node:
            yield from _nodes(value)


def test_the_30_rendering_is_valid_openapi_30_with_the_same_contract() -> None:
    original = document()
    rendered = openapi_30(original)

    OpenAPIV30SpecValidator(rendered).validate()  # raises on the first 3.1-only construct
    assert rendered["openapi"] == "3.0.3"
    assert rendered["paths"].keys() == original["paths"].keys()
    for name, schema in original["components"]["schemas"].items():
        kept = rendered["components"]["schemas"][name]
        assert kept.get("properties", {}).keys() == schema.get("properties", {}).keys()
        assert kept.get("required") == schema.get("required")
    assert not any(n.get("type") == "null" or "const" in n for n in _nodes(rendered))
    nullable = rendered["components"]["schemas"]["ProfileView"]["properties"]["country"]
    assert nullable["type"] == "string" and nullable["nullable"] is True


def test_the_30_rendering_turns_each_31_construct_into_its_30_form() -> None:
    doc = {
        "openapi": "3.1.0",
        "paths": {},
        "components": {
            "schemas": {
                "S": {
                    "type": "object",
                    "properties": {
                        "a": {"type": ["integer", "null"]},
                        "b": {"const": "x"},
                        "c": {"$ref": "#/components/schemas/T", "description": "why"},
                        "type": {"anyOf": [{"type": "string"}, {"type": "null"}]},
                    },
                },
                "T": {"type": "string"},
            }
        },
    }

    properties = openapi_30(doc)["components"]["schemas"]["S"]["properties"]

    assert properties["a"] == {"type": "integer", "nullable": True}
    assert properties["b"] == {"enum": ["x"]}
    assert properties["c"] == {"allOf": [{"$ref": "#/components/schemas/T"}], "description": "why"}
    assert properties["type"] == {"type": "string", "nullable": True}


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
