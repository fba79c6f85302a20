"""The OpenAPI 3.1 document of the profile API, built from the models that validate its
input and shape its output, and its OpenAPI 3.0 rendering for API Management, which imports
3.1 only with caveats (Learn: "API Management: supported OpenAPI features"). Both are
committed (`docs/profile-api.openapi.json`, `docs/profile-api.openapi30.json`); tests keep
them equal to these."""

from __future__ import annotations

from typing import Any

from crosswalk.profile_api.schemas import ChangesQuery
from crosswalk.profile_api.view import ProfileView
from crosswalk.support.openapi import _query

PROBLEM = {"$ref": "#/components/schemas/Problem"}
ROLE = "Profiles.Read"


def _problems(*codes: int) -> dict[str, Any]:
    text = {
        304: "not modified: the profile still has the ETag sent in If-None-Match",
        400: "bad input; `errors` names each field",
        401: "no, malformed, expired or foreign token (see WWW-Authenticate)",
        403: f"a valid token without the app role {ROLE}",
        404: "no profile for that key",
        409: "the email belongs to more than one account",
        503: "not configured, or Entra ID's signing keys cannot be fetched; try again",
    }
    return {
        str(code): {"description": text[code]}
        if code == 304
        else {
            "description": text[code],
            "content": {"application/problem+json": {"schema": PROBLEM}},
        }
        for code in codes
    }


def _json(description: str, schema: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "200": {
            "description": description,
            "content": {"application/json": {"schema": schema}},
            **extra,
        }
    }


def document(server_url: str = "/api") -> dict[str, Any]:
    view = ProfileView.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas: dict[str, Any] = {**view.pop("$defs", {}), "ProfileView": view}
    schemas["ChangePage"] = {
        "type": "object",
        "required": ["profiles", "cursor", "has_more"],
        "properties": {
            "profiles": {"type": "array", "items": {"$ref": "#/components/schemas/ProfileView"}},
            "cursor": {"type": "string", "description": "pass as `cursor` for the next page"},
            "has_more": {"type": "boolean", "description": "more changes are there right now"},
        },
    }
    schemas["Problem"] = {
        "type": "object",
        "required": ["type", "title", "status", "detail", "code"],
        "properties": {
            "type": {"type": "string"},
            "title": {"type": "string"},
            "status": {"type": "integer"},
            "detail": {"type": "string"},
            "code": {"type": "string"},
            "errors": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
                },
            },
        },
    }
    etag = {"ETag": {"schema": {"type": "string"}, "description": "the view's version"}}
    paths = {
        "/profiles/{key}": {
            "get": {
                "operationId": "getProfile",
                "summary": "One profile by D2C customer id, Salesforce Account Id or email",
                "parameters": [
                    {
                        "name": "key",
                        "in": "path",
                        "required": True,
                        "description": "cus_... , 001... (15 or 18 characters) or an email",
                        "schema": {"type": "string", "minLength": 1, "maxLength": 300},
                    },
                    {
                        "name": "If-None-Match",
                        "in": "header",
                        "required": False,
                        "schema": {"type": "string"},
                    },
                ],
                "responses": {
                    **_json(
                        "the profile", {"$ref": "#/components/schemas/ProfileView"}, headers=etag
                    ),
                    **_problems(304, 400, 401, 403, 404, 409, 503),
                },
            }
        },
        "/profiles": {
            "get": {
                "operationId": "listProfileChanges",
                "summary": "Profiles changed since a time, in the order they changed; a profile "
                "that changes again comes again later with its new version",
                "parameters": _query(ChangesQuery),
                "responses": {
                    **_json("a page of changes", {"$ref": "#/components/schemas/ChangePage"}),
                    **_problems(400, 401, 403, 503),
                },
            }
        },
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Crosswalk profile API",
            "version": "1.0.0",
            "description": "What the data platform knows about a customer, for the storefront's "
            f"backend. OAuth 2.0 client credentials from Entra ID; the app role {ROLE}.",
        },
        "servers": [{"url": server_url}],
        "security": [{"entra": [ROLE]}],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "entra": {
                    "type": "oauth2",
                    "description": "Entra ID access token (client credentials) for the API's "
                    "application ID URI, with the app role in `roles`",
                    "flows": {
                        "clientCredentials": {
                            "tokenUrl": "https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token",
                            "scopes": {ROLE: "read unified profiles"},
                        }
                    },
                }
            },
        },
    }


def openapi_30(document_31: dict[str, Any]) -> dict[str, Any]:
    """The same contract in OpenAPI 3.0: a null alternative (`anyOf [X, {type: null}]`, a type
    list with "null") becomes `nullable`, `const` a one-value enum, and a `$ref` with sibling
    keywords (which 3.0 ignores) an `allOf` of that one reference."""

    def schema(node: Any) -> Any:
        if not isinstance(node, dict):
            return node
        node = dict(node)
        for key in ("properties", "patternProperties"):
            if isinstance(node.get(key), dict):
                node[key] = {name: schema(value) for name, value in node[key].items()}
        for key in ("items", "additionalProperties", "not"):
            if isinstance(node.get(key), dict):
                node[key] = schema(node[key])
        for key in ("anyOf", "allOf", "oneOf"):
            if isinstance(node.get(key), list):
                node[key] = [schema(choice) for choice in node[key]]
        choices = node.get("anyOf")
        if isinstance(choices, list) and {"type": "null"} in choices:
            rest = [c for c in choices if c != {"type": "null"}]
            del node["anyOf"]
            node = {**rest[0], **node} if len(rest) == 1 else {"anyOf": rest, **node}
            node["nullable"] = True
        if isinstance(node.get("type"), list):
            listed = node.pop("type")
            types = [t for t in listed if t != "null"]
            if len(types) < len(listed):
                node["nullable"] = True
            if len(types) == 1:
                node["type"] = types[0]
            else:
                node["anyOf"] = [{"type": t} for t in types]
        if "const" in node:
            node["enum"] = [node.pop("const")]
        if "$ref" in node and len(node) > 1:
            node = {"allOf": [{"$ref": node.pop("$ref")}], **node}
        return node

    def walk(node: Any) -> Any:
        if isinstance(node, list):
            return [walk(item) for item in node]
        if not isinstance(node, dict):
            return node
        return {
            key: schema(value) if key == "schema" else walk(value) for key, value in node.items()
        }

    rendered = walk({key: value for key, value in document_31.items() if key != "components"})
    components = dict(document_31.get("components") or {})
    components["schemas"] = {
        name: schema(value) for name, value in (components.get("schemas") or {}).items()
    }
    return {**rendered, "openapi": "3.0.3", "components": walk(components)}


if __name__ == "__main__":  # python -m crosswalk.profile_api.openapi: refresh the copies in docs/
    import json
    from pathlib import Path

    docs = Path(__file__).resolve().parents[2] / "docs"
    for name, content in (
        ("profile-api.openapi.json", document()),
        ("profile-api.openapi30.json", openapi_30(document())),
    ):
        (docs / name).write_text(json.dumps(content, indent=2) + "\n")
        print(f"wrote {docs / name}")
