"""OAuth 2.0 token endpoint: client credentials and JWT bearer (RS256), and session checks.

The app exchanges credentials itself (simple-salesforce's own login flows hard-code
``*.salesforce.com``) and then talks REST with the access token; the stand-in must accept a
token it has just issued and reject unknown or expired ones with Salesforce's exact 401.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

import jwt
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

from ..clock import Clock

LOGIN_HOSTS = ("login.salesforce.com", "test.salesforce.com")


class OAuthError(Exception):
    """A token-endpoint failure: ``{"error", "error_description"}`` with ``status``."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(f"{error}: {description}")
        self.status = status
        self.body = {"error": error, "error_description": description}


@dataclass(frozen=True)
class Session:
    user_id: str
    client_id: str
    expires_ms: int


@dataclass(frozen=True)
class OAuthConfig:
    org_id: str
    client_id: str
    client_secret: str
    users_by_username: dict[str, str]  # JWT ``sub`` -> User Id
    integration_user_id: str
    jwt_public_key: RSAPublicKey
    ttl_seconds: float


class TokenService:
    """Issues and checks access tokens; expiry follows the shared (shiftable) clock."""

    def __init__(self, config: OAuthConfig, clock: Clock) -> None:
        self.config = config
        self.clock = clock
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()

    def issue(self, user_id: str, client_id: str) -> str:
        token = f"{self.config.org_id[:15]}!{secrets.token_urlsafe(48)}"
        expires = self.clock.now_ms() + int(self.config.ttl_seconds * 1000)
        with self._lock:
            self._sessions[token] = Session(user_id, client_id, expires)
        return token

    def check(self, token: str | None) -> Session | None:
        if not token:
            return None
        with self._lock:
            session = self._sessions.get(token)
        if session is None or session.expires_ms <= self.clock.now_ms():
            return None
        return session

    def revoke(self, token: str) -> bool:
        with self._lock:
            return self._sessions.pop(token, None) is not None

    def expire_all(self) -> None:
        """Every issued token answers 401 from now on (tests of the re-login path)."""
        with self._lock:
            self._sessions.clear()

    # -- token endpoint ----------------------------------------------------------------
    def token_response(
        self, body: bytes, authorization: str | None, instance_url: str, host: str = ""
    ) -> dict[str, Any]:
        form = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
        grant = form.get("grant_type")
        if grant == "client_credentials" and host.lower() in LOGIN_HOSTS:
            # "The client credentials flow doesn't support calls to login.salesforce.com or
            # test.salesforce.com" (Help KB 000886201); the answer as clients report it
            raise OAuthError("invalid_grant", "request not supported on this domain")
        if grant == "client_credentials":
            client_id, secret = self._client_auth(form, authorization)
            if client_id != self.config.client_id or not hmac.compare_digest(
                secret, self.config.client_secret
            ):
                raise OAuthError("invalid_client", "invalid client credentials")
            user_id = self.config.integration_user_id
        elif grant == "urn:ietf:params:oauth:grant-type:jwt-bearer":
            client_id, user_id = self._jwt(form.get("assertion", ""))
        elif grant is None:
            raise OAuthError("unsupported_grant_type", "grant type not supported")
        else:
            raise OAuthError("unsupported_grant_type", "grant type not supported")
        token = self.issue(user_id, client_id)
        issued = str(self.clock.now_ms())
        signature = base64.b64encode(
            hmac.new(
                self.config.client_secret.encode(), (issued + token).encode(), hashlib.sha256
            ).digest()
        ).decode()
        return {
            "access_token": token,
            "signature": signature,
            "scope": "api",
            "instance_url": instance_url,
            "id": f"https://login.salesforce.com/id/{self.config.org_id}/{user_id}",
            "token_type": "Bearer",
            "issued_at": issued,
        }

    def _client_auth(self, form: dict[str, str], authorization: str | None) -> tuple[str, str]:
        if authorization and authorization.lower().startswith("basic "):
            try:
                raw = base64.b64decode(authorization[6:].strip()).decode()
                client_id, _, secret = raw.partition(":")
            except (ValueError, UnicodeDecodeError):
                raise OAuthError("invalid_client", "invalid client credentials") from None
            return client_id, secret
        return form.get("client_id", ""), form.get("client_secret", "")

    def _jwt(self, assertion: str) -> tuple[str, str]:
        try:
            claims = jwt.decode(
                assertion,
                self.config.jwt_public_key,
                algorithms=["RS256"],
                # simple-salesforce sends exp as a string; checked by hand below
                options={"verify_exp": False, "verify_aud": False, "verify_iat": False},
            )
        except jwt.PyJWTError:
            raise OAuthError("invalid_grant", "invalid assertion") from None
        if claims.get("iss") != self.config.client_id:
            raise OAuthError("invalid_client_id", "client identifier invalid")
        aud = claims.get("aud")
        # "the authorization server's URL: https://login.salesforce.com,
        # https://test.salesforce.com, or https://site.force.com/customers" (OAuth 2.0 JWT
        # Bearer Flow); My Domain (this stand-in's own URL) is not one of them. Experience
        # Cloud sites are not modelled.
        accepted = {"https://login.salesforce.com", "https://test.salesforce.com"}
        auds = aud if isinstance(aud, list) else [aud]
        if not any(isinstance(a, str) and a.rstrip("/") in accepted for a in auds):
            raise OAuthError("invalid_grant", "audience is invalid")
        try:
            exp = int(float(claims.get("exp")))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise OAuthError("invalid_grant", "invalid assertion") from None
        if exp * 1000 <= self.clock.now_ms():
            raise OAuthError("invalid_grant", "expired authorization code")
        user_id = self.config.users_by_username.get(str(claims.get("sub", "")).lower())
        if user_id is None:
            raise OAuthError("invalid_grant", "user hasn't approved this consumer")
        return self.config.client_id, user_id
