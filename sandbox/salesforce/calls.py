"""What a REST handler sees: the call, its answer and its context (org, transaction, version).

Its own module so ``rest`` (routing, sObject handlers) and ``composite`` (subrequests, which
run through ``Ctx.dispatch``) both build on it and neither imports the other back.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .errors import SfError, json_error

if TYPE_CHECKING:
    from .org import SalesforceOrg
    from .store import Txn

_NO_BODY = object()


@dataclass
class Call:
    """One REST request (top-level or a composite subrequest)."""

    method: str
    path: str  # raw (percent-encoded) path
    query: Mapping[str, str]
    headers: Mapping[str, str]
    body: Any = _NO_BODY  # parsed JSON, or _NO_BODY
    raw_body: bytes = b""

    def json(self) -> Any:
        if self.body is not _NO_BODY:
            return self.body
        if not self.raw_body.strip():
            raise json_error("The request body is empty.")
        try:
            self.body = json.loads(self.raw_body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise json_error(f"Unexpected character: {exc}") from None
        return self.body


@dataclass
class Resp:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Ctx:
    """What a handler may touch: the org, the open transaction, the API version in the URL,
    and the router (subrequests are dispatched through it)."""

    org: SalesforceOrg
    txn: Txn
    version: str
    dispatch: Callable[[Call, Ctx], Resp]

    def run(self, call: Call) -> Resp:
        """``dispatch`` with error answers as responses (composite subrequests)."""
        try:
            return self.dispatch(call, self)
        except SfError as exc:
            return Resp(exc.status, exc.body())


Handler = Callable[[Call, Ctx, tuple[str, ...]], Resp]
