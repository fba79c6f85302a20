"""Turn request JSON into stored field values the way the org does, or raise the org's error.

Nothing is written here: callers validate a whole record first, then change the store, so a
failed request leaves nothing half-written.
"""

from __future__ import annotations

import math
import re
from typing import Any

from .errors import SfError, invalid_field, json_error, malformed_id
from .ids import to18
from .schema import BY_PREFIX
from .sobject import Field, SObjectType

# Help KB 000001145 / 000384328: the local part takes letters, digits and
# !#$%&'*/=?^_+-`{|}~ and dots ('..' inside and a dot at the end allowed, not at the start),
# the domain letters, digits and dashes; non-Latin characters only with Email Address
# Internationalization, which the stand-in's org does not have.
_EMAIL = re.compile(
    r"^[A-Za-z0-9!#$%&'*/=?^_+`{|}~-][A-Za-z0-9!#$%&'*/=?^_+`{|}~.-]*"
    r"@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$"
)
_TYPE_NAMES = {
    "int": "int",
    "double": "double",
    "currency": "double",
    "percent": "double",
    "boolean": "boolean",
}


def _deser(field: Field, value: Any) -> SfError:
    kind = "VALUE_STRING" if isinstance(value, str) else type(value).__name__.upper()
    return json_error(
        f"Cannot deserialize instance of {_TYPE_NAMES.get(field.type, 'string')} from {kind} "
        f"value {value} or request may be missing a required field at [line:1, column:1]"
    )


def coerce(field: Field, value: Any) -> Any:
    """One value, typed and checked; ``None`` clears (booleans clear to false)."""
    t = field.type
    if value is None:
        return False if t == "boolean" else None
    if t == "boolean":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in {"true", "false"}:
            return value.lower() == "true"
        raise _deser(field, value)
    if t in {"double", "currency", "percent", "int"}:
        return _number(field, value)
    if t == "reference":
        return value  # checked against the store by the caller (needs existence)
    # text-like
    if isinstance(value, bool | dict | list):
        raise _deser(field, value)
    if isinstance(value, int | float):
        value = str(value)
    if not isinstance(value, str):
        raise _deser(field, value)
    if value == "":
        return None  # the org stores empty text as null
    if field.length and len(value) > field.length:
        raise SfError(
            400,
            "STRING_TOO_LONG",
            f"{field.label}: data value too large: {value} (max length={field.length})",
            [field.name],
        )
    if t == "email" and not _EMAIL.match(value):
        raise SfError(
            400,
            "INVALID_EMAIL_ADDRESS",
            f"{field.label}: invalid email address: {value}",
            [field.name],
        )
    if t == "email":
        return value.lower()  # Salesforce keeps email fields lower-case (docs/sandbox.md)
    return value


def _number(field: Field, value: Any) -> Any:
    if isinstance(value, bool):
        raise _deser(field, value)
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            raise _deser(field, value) from None
    if not isinstance(value, int | float) or (
        isinstance(value, float) and not math.isfinite(value)
    ):
        raise _deser(field, value)
    if field.type == "int":
        if float(value) != int(value):
            raise _deser(field, value)
        value = int(value)
        limit = 10 ** (field.precision or 9)
    else:
        value = round(float(value), field.scale)
        limit = 10 ** ((field.precision or 18) - field.scale)
    if abs(value) >= limit:
        raise SfError(
            400,
            "NUMBER_OUTSIDE_VALID_RANGE",
            f"{field.label}: value outside of valid range on numeric field: {value}",
            [field.name],
        )
    return value


def check_reference(field: Field, value: str, exists: Any) -> str:
    """A lookup must be a well-formed Id of the target type that names a live record."""
    rid = to18(value)
    target = field.reference_to
    if rid is None or target is None or BY_PREFIX.get(rid[:3]) is None:
        raise malformed_id(field.label, value, [field.name])
    if BY_PREFIX[rid[:3]].name != target:
        raise SfError(
            400,
            "FIELD_INTEGRITY_EXCEPTION",
            f"{field.label}: id value of incorrect type: {value}",
            [field.name],
        )
    state = exists(target, rid)
    if state == "deleted":
        raise SfError(400, "ENTITY_IS_DELETED", "entity is deleted", [field.name])
    if state is None:
        raise SfError(
            400,
            "INVALID_CROSS_REFERENCE_KEY",
            f"invalid cross reference id: {value}",
            [field.name],
        )
    return rid


def clean_input(sobject: SObjectType, body: Any, *, creating: bool, exists: Any) -> dict[str, Any]:
    """Validate a create/update body and return ``{FieldName: value}`` in canonical names."""
    if not isinstance(body, dict):
        raise json_error("Cannot deserialize instance of sObject from a non-object value")
    out: dict[str, Any] = {}
    read_only: list[str] = []
    for key, value in body.items():
        if key == "attributes":
            continue
        field = sobject.lower.get(key.lower())
        if field is None:
            raise invalid_field(sobject.name, key)
        if field.type == "id":
            if creating and value is not None:
                raise SfError(
                    400,
                    "INVALID_FIELD_FOR_INSERT_UPDATE",
                    "Unable to create/update fields: Id. Please check the security settings of "
                    "this field and verify that it is read/write for your profile or permission "
                    "set.",
                    ["Id"],
                )
            continue  # the Id in an update body is the record's own; ignored
        allowed = field.createable if creating else field.updateable
        if not allowed:
            read_only.append(field.name)
            continue
        value = coerce(field, value)
        if field.type == "reference" and value is not None:
            value = check_reference(field, value, exists)
        out[field.name] = value
    if read_only:
        names = ", ".join(read_only)
        raise SfError(
            400,
            "INVALID_FIELD_FOR_INSERT_UPDATE",
            f"Unable to create/update fields: {names}. Please check the security settings of "
            "this field and verify that it is read/write for your profile or permission set.",
            read_only,
        )
    return out


def check_required(sobject: SObjectType, record: dict[str, Any]) -> None:
    missing = [f.name for f in sobject.fields.values() if f.required and record.get(f.name) is None]
    if missing:
        raise SfError(
            400,
            "REQUIRED_FIELD_MISSING",
            f"Required fields are missing: [{', '.join(missing)}]",
            missing,
        )
