"""The bases of every model at Crosswalk's edge: request bodies and query strings validated
strictly, and inputs of Crosswalk's own that refuse fields they do not know."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict


class RequestBody(BaseModel):
    """A JSON request body: validated strictly from the JSON text (`model_validate_json(...,
    strict=True)`), so booleans are JSON booleans, numbers JSON numbers and instants ISO 8601
    strings with an offset; `0`, `"yes"` or a Unix time are refused, never coerced."""

    model_config = ConfigDict(extra="forbid", strict=True)


class RequestQuery(BaseModel):
    """A query string: every value is text, so numbers are `QueryInt`; nothing else coerces."""

    model_config = ConfigDict(strict=True, populate_by_name=True)


def _whole_number(value: Any) -> Any:
    if isinstance(value, str):
        if not (value.isascii() and value.isdigit() and len(value) <= 9):
            raise ValueError("a whole number written in digits 0-9")
        return int(value)
    return value


QueryInt = Annotated[int, BeforeValidator(_whole_number)]
"""A number in a query string: ASCII digits only (no sign, spaces, `_`, decimals or
`1,2` from a repeated key)."""


class EdgeModel(BaseModel):
    """Our own inputs: unknown fields are a mistake worth reporting."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
