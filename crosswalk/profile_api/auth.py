"""Bearer tokens from Entra ID, checked here: signature against the tenant's published keys,
issuer, audience, expiry and not-before (with a small clock skew), and the app role.

PyJWT does the cryptography; this module only decides what is acceptable. Only RS256 is
allowed, so `alg: none` and HS256-signed-with-the-public-key tokens fail before any key is
used. The key set is cached and fetched again when a token names a key id the cache does not
hold (Entra rotates keys), at most once per cooldown so unknown ids cannot flood the tenant.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass

import jwt
from jwt import PyJWKClient
from jwt.exceptions import PyJWKClientConnectionError, PyJWKClientError

from crosswalk.settings import ProfileApiSettings

ALGORITHMS = ["RS256"]
MAX_TOKEN_LENGTH = 16_384


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

    def __init__(self, settings: ProfileApiSettings) -> None:
        self._settings = settings
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
        return Caller(client_id=str(client)[:200], roles=granted)


def _bearer(authorization: str | None) -> str:
    scheme, _, token = (authorization or "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise TokenRejected(401, "invalid_request", "send Authorization: Bearer <access token>")
    if len(token) > MAX_TOKEN_LENGTH:
        raise TokenRejected(401, "invalid_token", "the token is too long")
    return token
