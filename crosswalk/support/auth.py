"""Who is calling the support API, and what their roles let them do.

In Azure, App Service authentication puts the signed-in user in `X-MS-CLIENT-PRINCIPAL`
(base64 JSON with a claims list; Entra ID app roles arrive as `roles` claims) and strips that
header from anything a client sends. Locally there is no App Service, so a development token
signed with `SUPPORT_DEV_TOKEN_KEY` stands in. The two are exclusive: a deployment trusts one.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from crosswalk.settings import SupportAuthMode, SupportSettings

PRINCIPAL_HEADER = "x-ms-client-principal"
TOKEN_PREFIX = "cwdev"
ROLE_CLAIMS = frozenset({"roles", "http://schemas.microsoft.com/ws/2008/06/identity/claims/role"})
NAME_CLAIMS = ("preferred_username", "name", "email", "upn")


class Role(StrEnum):
    READ = "Support.Read"
    OPERATE = "Support.Operate"
    APPROVE = "Support.Approve"


ANY_ROLE = frozenset(Role)
"""Reading needs any support role: operators and approvers must see what they act on."""


class AuthError(Exception):
    """401 (no or bad credentials) or 403 (a known caller without the role)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        self.status, self.code, self.message = status, code, message
        super().__init__(message)


@dataclass(frozen=True, slots=True)
class Principal:
    name: str
    roles: frozenset[str] = field(default_factory=frozenset)
    provider: str = "aad"

    def has_any(self, roles: Iterable[str]) -> bool:
        return bool(self.roles & set(roles))

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "roles": sorted(self.roles), "provider": self.provider}


def authenticate(headers: Mapping[str, str], settings: SupportSettings) -> Principal:
    """The caller, or AuthError(401). Never echoes the credential it was given."""
    lowered = {key.lower(): value for key, value in headers.items()}
    if settings.auth_mode is SupportAuthMode.EASYAUTH:
        raw = lowered.get(PRINCIPAL_HEADER)
        if not raw:
            raise AuthError(401, "unauthenticated", "sign in first (App Service authentication)")
        return parse_client_principal(raw)
    bearer = lowered.get("authorization", "")
    scheme, _, token = bearer.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthError(401, "unauthenticated", "send Authorization: Bearer <development token>")
    assert settings.dev_token_key is not None  # the settings validator guarantees it
    return verify_dev_token(token.strip(), settings.dev_token_key.get_secret_value())


def require(principal: Principal, allowed: Iterable[str]) -> Principal:
    allowed = frozenset(allowed)
    if not principal.has_any(allowed):
        needed = " or ".join(sorted(allowed))
        raise AuthError(403, "forbidden", f"this needs the role {needed}")
    return principal


def parse_client_principal(raw: str) -> Principal:
    """Decode App Service's `X-MS-CLIENT-PRINCIPAL` (base64 JSON `{auth_typ, claims, ...}`)."""
    try:
        data = json.loads(base64.b64decode(raw + "=" * (-len(raw) % 4), validate=False))
        claims = [(str(c["typ"]), str(c["val"])) for c in data.get("claims", [])]
    except (ValueError, binascii.Error, TypeError, KeyError, AttributeError):
        raise AuthError(401, "unauthenticated", "the client principal is malformed") from None
    role_types = set(ROLE_CLAIMS) | {str(data.get("role_typ") or "roles")}
    roles = frozenset(val for typ, val in claims if typ in role_types)
    by_type = dict(claims)
    name_typ = str(data.get("name_typ") or "")
    name = by_type.get(name_typ) or next((by_type[n] for n in NAME_CLAIMS if n in by_type), "")
    if not name:
        raise AuthError(401, "unauthenticated", "the client principal names nobody")
    return Principal(name=name[:200], roles=roles, provider=str(data.get("auth_typ") or "aad"))


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _sign(body: str, key: str) -> str:
    return _b64(hmac.new(key.encode(), f"{TOKEN_PREFIX}.{body}".encode(), hashlib.sha256).digest())


def make_dev_token(
    key: str,
    name: str,
    roles: Iterable[str],
    *,
    ttl_seconds: int = 8 * 3600,
    now: float | None = None,
) -> str:
    """`cwdev.<claims>.<HMAC-SHA256>`: a development stand-in for the Easy Auth principal."""
    issued = int(now if now is not None else time.time())
    claims = {"sub": name, "roles": sorted(set(roles)), "iat": issued, "exp": issued + ttl_seconds}
    body = _b64(json.dumps(claims, separators=(",", ":")).encode())
    return f"{TOKEN_PREFIX}.{body}.{_sign(body, key)}"


def verify_dev_token(token: str, key: str, *, now: float | None = None) -> Principal:
    prefix, _, rest = token.partition(".")
    body, _, signature = rest.partition(".")
    if prefix != TOKEN_PREFIX or not body or not signature:
        raise AuthError(401, "unauthenticated", "not a development token")
    if not hmac.compare_digest(signature, _sign(body, key)):
        raise AuthError(401, "unauthenticated", "the development token's signature is wrong")
    try:
        claims = json.loads(_unb64(body))
        name, roles, expires = str(claims["sub"]), claims["roles"], float(claims["exp"])
    except (ValueError, binascii.Error, TypeError, KeyError):
        raise AuthError(401, "unauthenticated", "the development token is malformed") from None
    if expires < (now if now is not None else time.time()):
        raise AuthError(401, "unauthenticated", "the development token has expired")
    if not name or not isinstance(roles, list):
        raise AuthError(401, "unauthenticated", "the development token is malformed")
    return Principal(name=name[:200], roles=frozenset(map(str, roles)), provider="dev")


def main(argv: list[str] | None = None) -> None:
    """`python -m crosswalk.support.auth NAME ROLE...`: print a token signed with the env key."""
    import argparse
    import os

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("name")
    parser.add_argument("roles", nargs="+", choices=[r.value for r in Role])
    parser.add_argument("--hours", type=float, default=8)
    args = parser.parse_args(argv)
    key = os.environ.get("SUPPORT_DEV_TOKEN_KEY", "")
    if len(key) < 32:
        raise SystemExit("set SUPPORT_DEV_TOKEN_KEY (32+ characters) first")
    print(make_dev_token(key, args.name, args.roles, ttl_seconds=int(args.hours * 3600)))


if __name__ == "__main__":
    main()
