"""Bearer tokens from Entra ID, checked here: signature against the tenant's published keys,
issuer, audience, expiry and not-before (with a small clock skew), and the app role.

PyJWT does the cryptography; this module only decides what is acceptable. Only RS256 is
allowed, so `alg: none` and HS256-signed-with-the-public-key tokens fail before any key is
used. The key set is cached and fetched again when a token names a key id the cache does not
hold (Entra rotates keys), at most once per cooldown so unknown ids cannot flood the tenant.
"""

from __future__ import annotations

import hashlib
import ssl
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

import jwt
from jwt import PyJWKClient
from jwt.exceptions import PyJWKClientConnectionError, PyJWKClientError

from crosswalk.settings import ProfileApiSettings

ALGORITHMS = ["RS256"]
MAX_TOKEN_LENGTH = 16_384
REMEMBERED_TOKENS = 1024
REMEMBER_SECONDS = 300.0
"""A token that passed every check is remembered (by its SHA-256) for at most 5 minutes and
never past its expiry: a service calls with the same token for its lifetime, and verifying
the RS256 signature again is most of a read's cost. A key the tenant withdraws stops being
accepted within those 5 minutes; a rejected token is never remembered."""


class TokenRejected(Exception):
    """401 (no, bad or expired token) or 403 (a valid token without the role); 503 when the
    tenant's keys cannot be fetched. `error` is the RFC 6750 error code for the challenge."""

    def __init__(self, status: int, error: str, detail: str) -> None:
        self.status, self.error, self.detail = status, error, detail
        super().__init__(detail)


@dataclass(frozen=True, slots=True)
class Caller:
    """The calling service: its client (application) id and app roles."""

    client_id: str
    roles: frozenset[str]


class TokenVerifier:
    """One per process (the key cache lives here); `verify` is blocking (it may fetch keys)."""

    def __init__(
        self, settings: ProfileApiSettings, *, clock: Callable[[], float] = time.time
    ) -> None:
        self._settings = settings
        self._clock = clock
        self._verified: OrderedDict[bytes, tuple[Caller, float]] = OrderedDict()
        self._lock = threading.Lock()
        self._keys = PyJWKClient(
            settings.keys_url(),
            cache_jwk_set=True,
            lifespan=3600,
            timeout=10,
            cooldown_duration=settings.jwks_refresh_cooldown_seconds,
            ssl_context=(
                ssl.create_default_context(cafile=str(settings.ca_bundle))
                if settings.ca_bundle
                else None
            ),
        )

    def remembered(self, authorization: str | None) -> Caller | None:
        """The caller of a token verified within `REMEMBER_SECONDS` and still unexpired, or
        None (then `verify`). Cheap: safe to call on the event loop."""
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token or len(token) > MAX_TOKEN_LENGTH:
            return None
        digest = hashlib.sha256(token.strip().encode()).digest()
        with self._lock:
            entry = self._verified.get(digest)
        if entry is None:
            return None
        caller, until = entry
        if self._clock() >= until:
            with self._lock:
                self._verified.pop(digest, None)
            return None
        return caller

    def verify(self, authorization: str | None) -> Caller:
        token = _bearer(authorization)
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError:
            raise TokenRejected(401, "invalid_token", "the token is not a JWT") from None
        if header.get("alg") not in ALGORITHMS:
            raise TokenRejected(401, "invalid_token", "the token must be signed with RS256")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise TokenRejected(401, "invalid_token", "the token names no signing key (kid)")
        try:
            key = self._keys.get_signing_key(kid)
        except PyJWKClientConnectionError:
            raise TokenRejected(
                503, "temporarily_unavailable", "the tenant's signing keys cannot be fetched"
            ) from None
        except PyJWKClientError:
            raise TokenRejected(
                401, "invalid_token", "the token is signed with a key the tenant does not publish"
            ) from None
        settings = self._settings
        try:
            claims = jwt.decode(
                token,
                key.key,
                algorithms=ALGORITHMS,
                audience=settings.audience,
                issuer=settings.expected_issuer(),
                leeway=settings.clock_skew_seconds,
                options={"require": ["exp", "nbf", "iat", "iss", "aud"]},
            )
        except jwt.ExpiredSignatureError:
            raise TokenRejected(401, "invalid_token", "the token has expired") from None
        except jwt.ImmatureSignatureError:
            raise TokenRejected(401, "invalid_token", "the token is not valid yet") from None
        except jwt.InvalidAudienceError:
            raise TokenRejected(401, "invalid_token", "the token is for another audience") from None
        except jwt.InvalidIssuerError:
            raise TokenRejected(401, "invalid_token", "the token is from another issuer") from None
        except jwt.InvalidSignatureError:
            raise TokenRejected(401, "invalid_token", "the token's signature is wrong") from None
        except jwt.InvalidTokenError as exc:
            raise TokenRejected(401, "invalid_token", f"the token is invalid: {exc}") from None
        roles = claims.get("roles")
        granted = (
            frozenset(r for r in roles if isinstance(r, str))
            if isinstance(roles, list)
            else frozenset()
        )
        if settings.required_role not in granted:
            raise TokenRejected(
                403, "insufficient_scope", f"the token lacks the app role {settings.required_role}"
            )
        client = claims.get("azp") or claims.get("appid") or claims.get("sub") or ""
        caller = Caller(client_id=str(client)[:200], roles=granted)
        self._remember(token, caller, float(claims["exp"]))
        return caller

    def _remember(self, token: str, caller: Caller, expires: float) -> None:
        until = min(expires, self._clock() + REMEMBER_SECONDS)
        digest = hashlib.sha256(token.encode()).digest()
        with self._lock:
            self._verified[digest] = (caller, until)
            self._verified.move_to_end(digest)
            while len(self._verified) > REMEMBERED_TOKENS:
                self._verified.popitem(last=False)


def _bearer(authorization: str | None) -> str:
    scheme, _, token = (authorization or "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise TokenRejected(401, "invalid_request", "send Authorization: Bearer <access token>")
    if len(token) > MAX_TOKEN_LENGTH:
        raise TokenRejected(401, "invalid_token", "the token is too long")
    return token
