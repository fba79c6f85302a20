"""An erasure request and its receipt, as the saga keeps them.

The request (who to erase) is the only place the saga's personal data lives while it runs: a
lake document the activities read, deleted by the last step. The orchestration's own input,
history and status hold the request id and record ids only, so the task hub never holds an
e-mail address. The receipt lists what was erased where, as counts and system names.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from crosswalk.erasure.keys import Person
from crosswalk.ids import D2CUserId, Email
from crosswalk.lake.base import Lake

REQUEST_ID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")


class ErasureRequest(BaseModel):
    """Who to erase (at least one of the two) and who asked."""

    model_config = ConfigDict(extra="forbid", strict=True)

    email: Email | None = None
    d2c_user_id: D2CUserId | None = None
    source: Literal["d2c", "support"]
    requested_at: AwareDatetime

    @model_validator(mode="after")
    def _someone(self) -> ErasureRequest:
        if self.email is None and self.d2c_user_id is None:
            raise ValueError("email or d2c_user_id is required")
        return self

    def person(self) -> Person:
        return Person(email=self.email, d2c_user_id=self.d2c_user_id)


class ErasureReceipt(BaseModel):
    """What an erasure did, store by store, without personal data."""

    request_id: str
    source: str
    outcome: Literal["erased", "needs_attention"]
    requested_at: AwareDatetime
    finished_at: AwareDatetime
    accounts: list[str] = Field(default_factory=list, description="Account ids they belonged to")
    steps: dict[str, dict[str, Any]] = Field(default_factory=dict)
    failed_step: str | None = None
    purge: list[str] = Field(
        default_factory=list,
        description="instances that held them and were still running when the saga purged"
        " the rest: purged by the erasure_purge timer once finished, then emptied",
    )


def request_path(request_id: str) -> str:
    return f"erasure/requests/{check_id(request_id)}.json"


def receipt_path(request_id: str) -> str:
    return f"erasure/receipts/{check_id(request_id)}.json"


def check_id(request_id: str) -> str:
    if not isinstance(request_id, str) or not REQUEST_ID.match(request_id):
        raise ValueError("request_id must be 8-64 of A-Z a-z 0-9 _ -")
    return request_id


def save_request(lake: Lake, request_id: str, request: ErasureRequest) -> None:
    lake.put_json(request_path(request_id), request.model_dump(mode="json"))


def load_request(lake: Lake, request_id: str) -> ErasureRequest | None:
    path = request_path(request_id)
    if not lake.exists(path):
        return None
    return ErasureRequest.model_validate(lake.get_json(path), strict=False)


def load_receipt(lake: Lake, request_id: str) -> ErasureReceipt | None:
    path = receipt_path(request_id)
    return ErasureReceipt.model_validate(lake.get_json(path)) if lake.exists(path) else None


def save_receipt(lake: Lake, receipt: ErasureReceipt) -> None:
    lake.put_json(receipt_path(receipt.request_id), receipt.model_dump(mode="json"))


def receipts_to_purge(lake: Lake) -> list[ErasureReceipt]:
    found = []
    for path in lake.list("erasure/receipts/"):
        receipt = ErasureReceipt.model_validate(lake.get_json(path))
        if receipt.purge:
            found.append(receipt)
    return found


def receipts_for(lake: Lake, account_id: str) -> list[ErasureReceipt]:
    """Receipts naming the account (the support timeline shows them)."""
    found = []
    for path in lake.list("erasure/receipts/"):
        receipt = ErasureReceipt.model_validate(lake.get_json(path))
        if account_id in receipt.accounts:
            found.append(receipt)
    return found
