"""One error taxonomy: transient (retry) versus permanent (compensate or report).

Outside systems fail in many ways; Crosswalk sorts every failure into two kinds at the
boundary where it happens (the clients), so orchestrators decide on the kind alone.

Durable Functions passes an activity's exception to the orchestrator only as text
(`"Activity function 'x' failed: PermanentError: ..."`), so every error's message starts with
a tag, `[crosswalk permanent d2c 409 conflict]`, that `ActivityFailure.parse` reads back.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class ErrorKind(StrEnum):
    TRANSIENT = "transient"
    PERMANENT = "permanent"


class CrosswalkError(Exception):
    """Base of every error Crosswalk raises on purpose."""


class ConfigurationError(CrosswalkError):
    """The deployment is misconfigured; no retry will help, an operator must act."""


class IntegrationError(CrosswalkError):
    """An outside system refused or failed a call; `kind` says whether to retry."""

    kind: ErrorKind = ErrorKind.PERMANENT

    def __init__(
        self,
        message: str,
        *,
        system: str,
        status: int | None = None,
        code: str | None = None,
        field: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.detail = message
        self.system = system
        self.status = status
        self.code = code
        self.field = field
        self.retry_after = retry_after
        super().__init__(f"{self.tag} {message}")

    @property
    def tag(self) -> str:
        status = self.status if self.status is not None else "-"
        return f"[crosswalk {self.kind} {self.system} {status} {self.code or '-'}]"

    @property
    def retryable(self) -> bool:
        return self.kind is ErrorKind.TRANSIENT


class TransientError(IntegrationError):
    """Timeouts, dropped connections, 5xx, 429, REQUEST_LIMIT_EXCEEDED: retry with back-off."""

    kind = ErrorKind.TRANSIENT


class RateLimited(TransientError):
    """The other side asked us to slow down (429, Salesforce REQUEST_LIMIT_EXCEEDED)."""


class PermanentError(IntegrationError):
    """Validation, 4xx, duplicates: retrying cannot succeed."""

    kind = ErrorKind.PERMANENT


class InvalidData(PermanentError, ValueError):
    """The data itself is unusable (a 400/422, or our own validation); `field` names what."""


class NotFound(PermanentError, LookupError):
    """The record does not exist (404), or no longer does."""


class Conflict(PermanentError):
    """A duplicate or a state that forbids the change (409, 300 multiple matches)."""


class PreconditionFailed(PermanentError):
    """The version we based a change on is stale (412); re-read, then decide."""


class AuthenticationFailed(PermanentError):
    """Credentials were refused even after one token refresh (401/403 that is not a limit)."""


_BY_STATUS: dict[int, type[IntegrationError]] = {
    400: InvalidData,
    401: AuthenticationFailed,
    403: AuthenticationFailed,
    404: NotFound,
    409: Conflict,
    410: NotFound,
    412: PreconditionFailed,
    422: InvalidData,
    428: InvalidData,
    429: RateLimited,
}


# Salesforce errorCodes that mean "try again" whatever the HTTP status (a row lock is
# answered 400 on a single PATCH and inside a 200 collections answer): StatusCode docs,
# "unable to obtain exclusive access to this record".
SALESFORCE_TRANSIENT_CODES = frozenset(
    {"UNABLE_TO_LOCK_ROW", "SERVER_UNAVAILABLE", "REQUEST_LIMIT_EXCEEDED"}
)
# Per-record codes of Salesforce's field and record rules: permanent, with the field named.
_SALESFORCE_RECORD_CODES: dict[str, type[IntegrationError]] = {
    "ENTITY_IS_DELETED": NotFound,
    "INVALID_CROSS_REFERENCE_KEY": NotFound,
    "DUPLICATES_DETECTED": Conflict,
    "DUPLICATE_VALUE": Conflict,
}


def error_for_status(
    system: str,
    status: int,
    message: str,
    *,
    code: str | None = None,
    field: str | None = None,
    retry_after: float | None = None,
) -> IntegrationError:
    """Classify an HTTP failure: 408, 425, 429 and 5xx are transient, other 4xx permanent."""
    if code == "REQUEST_LIMIT_EXCEEDED":
        cls: type[IntegrationError] = RateLimited
    elif system == "salesforce" and code in SALESFORCE_TRANSIENT_CODES:
        cls = TransientError
    elif system == "salesforce" and status == 400 and code in _SALESFORCE_RECORD_CODES:
        cls = _SALESFORCE_RECORD_CODES[code]
    elif status in _BY_STATUS:
        cls = _BY_STATUS[status]
    elif status in (408, 425) or status >= 500:
        cls = TransientError
    else:
        cls = PermanentError
    return cls(
        message, system=system, status=status, code=code, field=field, retry_after=retry_after
    )


def error_for_salesforce_record(
    sobject: str, record_id: str | None, error: dict[str, Any]
) -> IntegrationError:
    """One refused record of an sObject Collections answer (`statusCode`, `message`,
    `fields`), classified as a whole call would be: a row lock is transient; a field rule
    (STRING_TOO_LONG, INVALID_EMAIL_ADDRESS, a restricted picklist...) is permanent and
    names the field for support staff."""
    code = error.get("statusCode") or error.get("errorCode")
    fields = error.get("fields") or []
    field = fields[0] if fields else None
    where = f"{sobject} {record_id or '?'}" + (f" field {', '.join(fields)}" if fields else "")
    message = f"{where}: {error.get('message') or 'refused'}"
    if code == "REQUEST_LIMIT_EXCEEDED":
        cls: type[IntegrationError] = RateLimited
    elif code in SALESFORCE_TRANSIENT_CODES:
        cls = TransientError
    else:
        cls = _SALESFORCE_RECORD_CODES.get(code or "", InvalidData)
    return cls(message, system="salesforce", status=400, code=code, field=field)


def error_for_salesforce(exc: Exception) -> IntegrationError:
    """Translate a simple-salesforce or requests exception into the taxonomy."""
    from requests import exceptions as rq  # local: keep this module import-light
    from simple_salesforce import exceptions as sf

    if isinstance(exc, IntegrationError):
        return exc
    if isinstance(exc, rq.Timeout | rq.ConnectionError):
        return TransientError(f"{type(exc).__name__}: network failure", system="salesforce")
    if isinstance(exc, sf.SalesforceAuthenticationFailed):
        return AuthenticationFailed(str(exc.message), system="salesforce", status=401)
    if isinstance(exc, sf.SalesforceError):
        code, message, field = _salesforce_error_body(exc.content)
        if isinstance(exc, sf.SalesforceMoreThanOneRecord):
            return Conflict(
                "more than one record matches",
                system="salesforce",
                status=300,
                code="MULTIPLE_RECORDS",
            )
        return error_for_status(
            "salesforce", exc.status, message or type(exc).__name__, code=code, field=field
        )
    return TransientError(f"{type(exc).__name__}: {exc}", system="salesforce")


def _salesforce_error_body(content: Any) -> tuple[str | None, str, str | None]:
    """Salesforce errors are a JSON array of {message, errorCode, fields}; take the first."""
    if isinstance(content, list) and content and isinstance(content[0], dict):
        first = content[0]
        fields = first.get("fields") or []
        return (
            first.get("errorCode"),
            str(first.get("message", "")),
            (fields[0] if fields else None),
        )
    if isinstance(content, dict):
        return (
            content.get("errorCode") or content.get("error"),
            str(content.get("message", "")),
            None,
        )
    return None, str(content or ""), None


_TAG = re.compile(
    r"\[crosswalk (?P<kind>transient|permanent) (?P<system>\S+) (?P<status>\d+|-) (?P<code>\S+)\]"
    r" ?(?P<detail>.*)",
    re.DOTALL,
)


@dataclass(frozen=True, slots=True)
class ActivityFailure:
    """What an orchestrator learns from a failed activity: enough to decide, and to report."""

    kind: ErrorKind
    system: str
    status: int | None
    code: str | None
    detail: str

    @property
    def retryable(self) -> bool:
        return self.kind is ErrorKind.TRANSIENT

    @classmethod
    def parse(cls, exc: BaseException | str) -> ActivityFailure:
        """Read the tag back from the text Durable hands the orchestrator.

        A failure without a tag is an unexpected bug in our own code; it is reported as
        permanent, since retrying a bug repeats it.
        """
        text = str(exc)
        match = _TAG.search(text)
        if match is None:
            detail = text.split("\n Stack", 1)[0].strip()
            return cls(ErrorKind.PERMANENT, "crosswalk", None, "UNEXPECTED", detail[:2000])
        status = match["status"]
        code = match["code"]
        detail = match["detail"].split("\n", 1)[0].strip()
        return cls(
            ErrorKind(match["kind"]),
            match["system"],
            None if status == "-" else int(status),
            None if code == "-" else code,
            detail[:2000],
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": str(self.kind),
            "system": self.system,
            "status": self.status,
            "code": self.code,
            "detail": self.detail,
        }
