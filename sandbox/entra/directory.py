"""One tenant's state: its signing keys (rotated on request), the API it issues tokens for,
and the client applications it knows with their secrets and app roles.

Tokens are Entra ID v2.0 access tokens in shape (RS256, `kid` header; `aud` the API's
application id, `iss` `<authority>/<tenant>/v2.0`, `azp`, `roles`, `tid`, `ver`), with times
from the wall clock, because the app checks them against its own.
"""

from __future__ import annotations

import base64
import json
import secrets
import ssl
import threading
import time
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass, field
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

TENANT_ID = "7d0b3c3e-5b1a-4c1e-9a51-3c0f5e2d9a10"
API_APP_ID = "3f5e8a3b-2c1d-4e6f-8a9b-0c1d2e3f4a5b"
API_IDENTIFIER_URI = "api://crosswalk-profiles"
STOREFRONT_CLIENT_ID = "a1b2c3d4-0000-4000-8000-00000000f00d"
STOREFRONT_CLIENT_SECRET = "storefront-backend-dev-secret"
PROFILES_READ = "Profiles.Read"
# Azure resources a client may ask a token for, by `.default` scope -> the token's audience.
EVENT_GRID_SCOPE = "https://eventgrid.azure.net/.default"
EVENT_GRID_AUDIENCE = "https://eventgrid.azure.net"
TOKEN_TTL_SECONDS = 3599


class EntraError(Exception):
    """A token-endpoint refusal in Entra's shape (`error`, `error_description` with AADSTS)."""

    def __init__(self, status: int, error: str, code: int, description: str) -> None:
        self.status = status
        self.body = {
            "error": error,
            "error_description": f"AADSTS{code}: {description}",
            "error_codes": [code],
            "trace_id": str(uuid.uuid4()),
            "correlation_id": str(uuid.uuid4()),
        }
        super().__init__(description)


@dataclass(frozen=True)
class SigningKey:
    kid: str
    private: rsa.RSAPrivateKey

    def jwk(self) -> dict[str, Any]:
        numbers = self.private.public_key().public_numbers()
        return {
            "kty": "RSA",
            "use": "sig",
            "kid": self.kid,
            "n": _b64_uint(numbers.n),
            "e": _b64_uint(numbers.e),
        }


@dataclass
class Client:
    client_id: str
    secret: str
    roles: list[str] = field(default_factory=list)


class Directory:
    """The tenant. Thread-safe: the server thread and tests call it concurrently."""

    def __init__(self, tenant_id: str = TENANT_ID) -> None:
        self.tenant_id = tenant_id
        self.api_app_id = API_APP_ID
        self.api_identifier_uri = API_IDENTIFIER_URI
        self.authority = ""  # set once the server listens
        self.ca_bundle: str | None = None  # the CA its TLS certificate comes from
        self._lock = threading.Lock()
        self._keys: list[SigningKey] = [_new_key()]
        self._clients: dict[str, Client] = {}
        self.register_client(STOREFRONT_CLIENT_ID, [PROFILES_READ], STOREFRONT_CLIENT_SECRET)

    @property
    def issuer(self) -> str:
        return f"{self.authority}/{self.tenant_id}/v2.0"

    @property
    def token_url(self) -> str:
        return f"{self.authority}/{self.tenant_id}/oauth2/v2.0/token"

    @property
    def jwks_url(self) -> str:
        return f"{self.authority}/{self.tenant_id}/discovery/v2.0/keys"

    # -- clients and keys ----------------------------------------------------------------
    def register_client(
        self,
        client_id: str | None = None,
        roles: list[str] | None = None,
        secret: str | None = None,
    ) -> Client:
        client = Client(
            client_id=client_id or str(uuid.uuid4()),
            secret=secret or secrets.token_urlsafe(24),
            roles=list(roles or []),
        )
        with self._lock:
            self._clients[client.client_id] = client
        return client

    def rotate_keys(self, *, retire_previous: bool = False) -> str:
        """Sign with a new key from now on; the old ones stay published unless retired."""
        key = _new_key()
        with self._lock:
            self._keys = [key] if retire_previous else [key, *self._keys]
        return key.kid

    def jwks(self) -> dict[str, Any]:
        with self._lock:
            return {"keys": [key.jwk() for key in self._keys]}

    # -- tokens --------------------------------------------------------------------------
    def client_credentials(self, form: dict[str, str]) -> dict[str, Any]:
        """The token endpoint's answer to a client-credentials request (or EntraError)."""
        if form.get("grant_type") != "client_credentials":
            raise EntraError(
                400, "unsupported_grant_type", 70003, "the grant type is not supported"
            )
        with self._lock:
            client = self._clients.get(form.get("client_id", ""))
        if client is None:
            raise EntraError(
                400, "unauthorized_client", 700016, "application not found in the directory"
            )
        if not secrets.compare_digest(form.get("client_secret", ""), client.secret):
            raise EntraError(401, "invalid_client", 7000215, "invalid client secret provided")
        scope = form.get("scope", "")
        if scope == EVENT_GRID_SCOPE:
            # an Azure resource's token (what azure-identity asks for Event Grid): its own
            # audience, no app roles (Azure RBAC decides what the client may do)
            token = self.sign(self.claims_for(client, aud=EVENT_GRID_AUDIENCE, roles=None))
            return {"token_type": "Bearer", "expires_in": TOKEN_TTL_SECONDS, "access_token": token}
        if scope not in (f"{self.api_identifier_uri}/.default", f"{self.api_app_id}/.default"):
            raise EntraError(
                400, "invalid_scope", 1002012, "the scope must be the API's /.default scope"
            )
        token = self.sign(self.claims_for(client))
        return {"token_type": "Bearer", "expires_in": TOKEN_TTL_SECONDS, "access_token": token}

    def fetch_token(
        self, client_id: str = STOREFRONT_CLIENT_ID, secret: str = STOREFRONT_CLIENT_SECRET
    ) -> str:
        """A token from the running token endpoint, over HTTP as a service gets one (raises
        urllib's HTTPError with Entra's refusal)."""
        form = urllib.parse.urlencode(
            {
                "grant_type": "client_credentials",
                "client_id": client_id,
                "client_secret": secret,
                "scope": f"{self.api_identifier_uri}/.default",
            }
        ).encode()
        context = ssl.create_default_context(cafile=self.ca_bundle) if self.ca_bundle else None
        with urllib.request.urlopen(
            self.token_url, data=form, timeout=10, context=context
        ) as answer:
            return str(json.load(answer)["access_token"])

    def claims_for(self, client: Client, **overrides: Any) -> dict[str, Any]:
        now = int(time.time())
        claims: dict[str, Any] = {
            "aud": self.api_app_id,
            "iss": self.issuer,
            "iat": now,
            "nbf": now,
            "exp": now + TOKEN_TTL_SECONDS,
            "azp": client.client_id,
            "azpacr": "1",
            "oid": str(uuid.uuid5(uuid.NAMESPACE_URL, client.client_id)),
            "sub": str(uuid.uuid5(uuid.NAMESPACE_URL, client.client_id)),
            "tid": self.tenant_id,
            "ver": "2.0",
            "uti": secrets.token_urlsafe(16),
        }
        if client.roles:
            claims["roles"] = list(client.roles)
        claims.update(overrides)
        return {k: v for k, v in claims.items() if v is not None}

    def verify(self, token: str, audience: str) -> dict[str, Any]:
        """Claims of a token this tenant signed for ``audience`` (jwt.InvalidTokenError if
        not): how the sandbox's Event Grid topics check a bearer token."""
        kid = jwt.get_unverified_header(token).get("kid")
        with self._lock:
            key = next((k for k in self._keys if k.kid == kid), None)
        if key is None:
            raise jwt.InvalidTokenError("signed with a key the tenant does not publish")
        return jwt.decode(
            token,
            key.private.public_key(),
            algorithms=["RS256"],
            audience=audience,
            issuer=self.issuer,
            options={"require": ["exp", "aud", "iss"]},
        )

    def bearer_caller(self, authorization: str, audience: str) -> str | None:
        """The `oid` of the caller an `Authorization: Bearer` header names, if its token is
        this tenant's for ``audience``; None when it is missing or not valid (a 401): how the
        sandbox's Key Vault and Application Insights ingestion know who calls."""
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token:
            return None
        try:
            claims = self.verify(token, audience)
        except jwt.PyJWTError:
            return None
        return str(claims.get("oid") or "")

    def sign(self, claims: dict[str, Any], *, kid: str | None = None) -> str:
        """Sign `claims` with the current key (or the key `kid`): tests craft odd tokens here."""
        with self._lock:
            key = next((k for k in self._keys if k.kid == kid), None) if kid else self._keys[0]
        if key is None:
            raise KeyError(f"no signing key {kid}")
        return jwt.encode(
            claims, key.private, algorithm="RS256", headers={"kid": key.kid, "typ": "JWT"}
        )


def _new_key() -> SigningKey:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return SigningKey(kid=secrets.token_urlsafe(20), private=private)


def _b64_uint(value: int) -> str:
    raw = value.to_bytes((value.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
