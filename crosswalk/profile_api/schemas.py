"""The profile API's query as a model: strict (a query string carries text, so numbers are
digits and times are ISO 8601 with an offset), and the OpenAPI document reads it too."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from crosswalk.edge_models import QueryInt

_OFFSET_TIME = re.compile(
    r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$", re.IGNORECASE
)


def _instant(value: Any) -> Any:
    if isinstance(value, str) and _OFFSET_TIME.match(value):
        return datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value
    raise ValueError("must be an ISO 8601 date-time with an offset, e.g. 2026-01-31T08:00:00Z")


QueryInstant = Annotated[
    datetime,
    BeforeValidator(_instant),
    Field(json_schema_extra={"type": "string", "format": "date-time"}),
]


class ChangesQuery(BaseModel):
    """`GET /api/profiles`: profiles changed since a time, in write order, a page at a time."""

    model_config = ConfigDict(populate_by_name=True, extra="forbid")

    updated_since: QueryInstant | None = Field(default=None, alias="updatedSince")
    cursor: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_-]{1,512}$")
    limit: QueryInt = Field(default=100, ge=1, le=1000)
