"""The OpenAPI 3.1 document of the support API, built from the same models that validate
requests, so the document and the behaviour agree."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from crosswalk.support.schemas import (
    AuditQuery,
    BulkRetryBody,
    CancelBody,
    DeadLetterReplayBody,
    DeadLettersQuery,
    DecisionBody,
    ErasureBody,
    RecordsQuery,
    ReportsQuery,
    RetryBody,
)

READ = "any of Support.Read, Support.Operate, Support.Approve"
ERROR = {"$ref": "#/components/schemas/Error"}


def _errors(*codes: int) -> dict[str, Any]:
    text = {
        400: "bad input; `fields` names each problem",
        401: "no or invalid credentials",
        403: "the caller lacks the role",
        404: "not found",
        409: "refused: the action is unsafe or pointless in the current state",
        503: "a dependency is unavailable; try again",
    }
    return {
        str(code): {
            "description": text[code],
            "content": {"application/json": {"schema": ERROR}},
        }
        for code in codes
    }


def _ok(description: str, status: int = 200) -> dict[str, Any]:
    return {
        str(status): {
            "description": description,
            "content": {"application/json": {"schema": {"type": "object"}}},
        }
    }


def _query(model: type[BaseModel]) -> list[dict[str, Any]]:
    schema = model.model_json_schema(by_alias=True)
    required = set(schema.get("required", []))
    return [
        {"name": name, "in": "query", "required": name in required, "schema": prop}
        for name, prop in schema["properties"].items()
    ]


def _path(name: str, description: str, pattern: str | None = None) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string", "minLength": 1, "maxLength": 300}
    if pattern:
        schema["pattern"] = pattern
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": description,
        "schema": schema,
    }


def _body(model: type[BaseModel]) -> dict[str, Any]:
    return {
        "required": True,
        "content": {
            "application/json": {"schema": {"$ref": f"#/components/schemas/{model.__name__}"}}
        },
    }


def _op(summary: str, roles: str, responses: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"summary": summary, "description": f"Role: {roles}.", "responses": responses, **extra}


INSTANCE = _path("instanceId", "an onboarding instance id (`onboard-<AccountId>-<stamp>`)")


def document(server_url: str = "/api/support") -> dict[str, Any]:
    bodies = (DecisionBody, RetryBody, CancelBody, BulkRetryBody, ErasureBody, DeadLetterReplayBody)
    schemas: dict[str, Any] = {
        model.__name__: model.model_json_schema(ref_template="#/components/schemas/{model}")
        for model in bodies
    }
    for schema in list(schemas.values()):
        schemas.update(schema.pop("$defs", {}))
    schemas["Error"] = {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message", "fields"],
                "properties": {
                    "code": {"type": "string"},
                    "message": {"type": "string"},
                    "fields": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {
                                "field": {"type": "string"},
                                "message": {"type": "string"},
                            },
                        },
                    },
                },
            }
        },
    }
    read_errors = _errors(401, 403)
    paths: dict[str, Any] = {
        "/me": {
            "get": _op("The caller and their roles", READ, {**_ok("the principal"), **read_errors})
        },
        "/records/{key}": {
            "get": _op(
                "One record by Salesforce Account Id, D2C customer id or email",
                READ,
                {
                    **_ok("state, profile, instances, timeline, ledger"),
                    **_errors(400, 401, 403, 404, 409),
                },
                parameters=[
                    _path("key", "Account Id (001...), D2C customer id (cus_...) or email")
                ],
            )
        },
        "/records": {
            "get": _op(
                "Records in one state, paged",
                READ,
                {**_ok("items and nextCursor"), **_errors(400, 401, 403)},
                parameters=_query(RecordsQuery),
            )
        },
        "/failures": {
            "get": _op(
                "Failed records counted by failure reason", READ, {**_ok("reasons"), **read_errors}
            )
        },
        "/approvals": {
            "get": _op(
                "Pending approvals with reasons, waiting time and SLA",
                READ,
                {**_ok("items"), **read_errors},
            )
        },
        "/approvals/{instanceId}": {
            "post": _op(
                "Approve or reject a waiting onboarding; the approver is the caller",
                "Support.Approve",
                {**_ok("decision accepted", 202), **_errors(400, 401, 403, 404, 409)},
                parameters=[INSTANCE],
                requestBody=_body(DecisionBody),
            )
        },
        "/instances/{instanceId}/retry": {
            "post": _op(
                "Rewind a failed onboarding or restart a finished one",
                "Support.Operate",
                {**_ok("retry started", 202), **_errors(400, 401, 403, 404, 409)},
                parameters=[INSTANCE],
                requestBody=_body(RetryBody),
            )
        },
        "/instances/{instanceId}/cancel": {
            "post": _op(
                "Terminate a running onboarding, then compensate what it did",
                "Support.Operate",
                {
                    **_ok("cancelled; compensation started", 202),
                    **_errors(400, 401, 403, 404, 409, 503),
                },
                parameters=[INSTANCE],
                requestBody=_body(CancelBody),
            )
        },
        "/instances/{instanceId}/undo": {
            "post": _op(
                "Finish the undo of an onboarding that ended needs_attention",
                "Support.Operate",
                {**_ok("undo started", 202), **_errors(400, 401, 403, 404, 409)},
                parameters=[INSTANCE],
                requestBody=_body(CancelBody),
            )
        },
        "/erasures": {
            "post": _op(
                "Erase a person everywhere (by e-mail and/or D2C user id); audited by request id",
                "Support.Approve",
                {**_ok("requestId and instanceId", 202), **_errors(400, 401, 403, 503)},
                requestBody=_body(ErasureBody),
            )
        },
        "/erasures/{requestId}": {
            "get": _op(
                "An erasure's receipt (what was erased where, no personal data) or its stage",
                READ,
                {**_ok("runtimeStatus, customStatus, receipt"), **_errors(400, 401, 403, 404)},
                parameters=[
                    _path("requestId", "the erasure's request id", r"^[A-Za-z0-9_-]{8,64}$")
                ],
            )
        },
        "/retries": {
            "post": _op(
                "Bulk retry by failure reason; dryRun (default) only counts",
                "Support.Operate",
                {**_ok("dry-run count"), **_ok("retries started", 202), **_errors(400, 401, 403)},
                requestBody=_body(BulkRetryBody),
            )
        },
        "/health": {
            "get": _op(
                "What waits for a person: records per state, overdue approvals, the last "
                "reconciliation, and attention items worst first",
                READ,
                {**_ok("records, approvals, lastReconciliation, attention"), **read_errors},
            )
        },
        "/reconciliations": {
            "get": _op(
                "Latest reconciliation reports",
                READ,
                {**_ok("items"), **_errors(400, 401, 403)},
                parameters=_query(ReportsQuery),
            )
        },
        "/deadletters": {
            "get": _op(
                "Deliveries Event Grid dead-lettered (events that never reached the app), newest "
                "hour first, with why it gave up on each event",
                READ,
                {**_ok("items, total, container"), **_errors(400, 401, 403, 503)},
                parameters=_query(DeadLettersQuery),
            )
        },
        "/deadletters/replay": {
            "post": _op(
                "Publish dead-lettered events again to their topic; each blob is removed once "
                "Event Grid took its events (safe to repeat)",
                "Support.Approve",
                {**_ok("counts and each blob's outcome"), **_errors(400, 401, 403, 503)},
                requestBody=_body(DeadLetterReplayBody),
            )
        },
        "/audit": {
            "get": _op(
                "Support actions: who, when, what, why",
                READ,
                {**_ok("items and nextBefore"), **_errors(400, 401, 403)},
                parameters=_query(AuditQuery),
            )
        },
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Crosswalk support API",
            "version": "1.0.0",
            "description": "What happened to an account, and safe, audited actions on it. "
            "Personal data is masked unless the caller has the PII role (SUPPORT_PII_ROLE).",
        },
        "servers": [{"url": server_url}],
        "security": [{"easyAuth": []}, {"devToken": []}],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "easyAuth": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "X-MS-CLIENT-PRINCIPAL",
                    "description": "set by App Service authentication (Entra ID app roles)",
                },
                "devToken": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "local development token (SUPPORT_AUTH_MODE=dev_token)",
                },
            },
        },
    }
