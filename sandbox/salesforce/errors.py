"""Salesforce REST errors: raised anywhere, rendered once as the JSON array Salesforce sends."""

from __future__ import annotations

from typing import Any


class SfError(Exception):
    """An error the REST API answers with ``[{message, errorCode, fields}]`` and ``status``."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        fields: list[str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.fields = fields
        self.extra = extra or {}  # e.g. duplicateResult beside DUPLICATES_DETECTED

    def body(self) -> list[dict[str, Any]]:
        item: dict[str, Any] = {**self.extra, "message": self.message, "errorCode": self.code}
        if self.fields is not None:
            item["fields"] = self.fields
        return [item]

    def collection_error(self) -> dict[str, Any]:
        """sObject Collections spell it ``statusCode``, not ``errorCode``."""
        return {
            **self.extra,
            "statusCode": self.code,
            "message": self.message,
            "fields": self.fields or [],
        }


def not_found() -> SfError:
    return SfError(404, "NOT_FOUND", "The requested resource does not exist")


def invalid_field(sobject: str, name: str) -> SfError:
    return SfError(
        400,
        "INVALID_FIELD",
        f"No such column '{name}' on sobject of type {sobject}",
        [name],
    )


def malformed_id(label: str, value: Any, fields: list[str] | None = None) -> SfError:
    return SfError(400, "MALFORMED_ID", f"{label}: id value of incorrect type: {value}", fields)


def entity_deleted() -> SfError:
    return SfError(404, "ENTITY_IS_DELETED", "entity is deleted", [])


def converted_lead() -> SfError:
    """A converted Lead is read-only history: every write to it is refused."""
    return SfError(400, "CANNOT_UPDATE_CONVERTED_LEAD", "cannot reference converted lead")


def json_error(message: str) -> SfError:
    return SfError(400, "JSON_PARSER_ERROR", message)
