"""Rows as the REST API returns them: ``attributes`` first, every field, nulls included."""

from __future__ import annotations

from typing import Any

from .errors import SfError
from .sobject import Field, SObjectType
from .soql_fields import value_getter
from .store import Record

_GETTERS: dict[tuple[str, str], Any] = {}


def _getter(sobject: SObjectType, fld: Field) -> Any:
    key = (sobject.name, fld.name)
    g = _GETTERS.get(key)
    if g is None:
        g = _GETTERS[key] = value_getter(fld)
    return g


def select_fields(sobject: SObjectType, fields: str | None) -> list[Field]:
    """The ``fields=`` parameter of a record GET; unknown names are INVALID_FIELD."""
    if not fields:
        return list(sobject.fields.values())
    out = []
    for name in fields.split(","):
        name = name.strip()
        if not name:
            continue
        fld = sobject.lower.get(name.lower())
        if fld is None:
            raise SfError(
                400,
                "INVALID_FIELD",
                f"No such column '{name}' on entity '{sobject.name}'. If you are attempting to "
                "use a custom field, be sure to append the '__c' after the custom field name. "
                "Please reference your WSDL or the describe call for the appropriate names.",
            )
        out.append(fld)
    return out


def rest_record(
    sobject: SObjectType, rec: Record, version: str, fields: list[Field] | None = None
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "attributes": {
            "type": sobject.name,
            "url": f"/services/data/v{version}/sobjects/{sobject.name}/{rec['Id']}",
        }
    }
    for fld in fields if fields is not None else sobject.fields.values():
        out[fld.name] = _getter(sobject, fld)(rec)
    return out
