"""The OAuth 2.0 exchange with the Salesforce org, which Crosswalk performs itself.

simple-salesforce's own login flows only know `*.salesforce.com`, so the token is requested
from the configured login URL (JWT bearer or client credentials) over the client's session.
The JWT key comes from a file or, in Azure, from Key Vault (read with the app's identity and
cached; a refused assertion re-reads it once, so a rotated key is picked up at once).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import jwt
import requests

from crosswalk.clients.http import json_or_empty
from crosswalk.clients.keyvault import KeyVaultSecret
from crosswalk.errors import AuthenticationFailed, TransientError, error_for_status
from crosswalk.settings import SalesforceAuthMode, SalesforceSettings

SYSTEM = "salesforce"


@dataclass(frozen=True)
class SalesforceAccess:
    """What the Pub/Sub API's call metadata names: ``accesstoken``, ``instanceurl`` and
    ``tenantid`` (the org id, from the token response's ``id`` URL ``.../id/<org>/<user>``)."""

    access_token: str = field(repr=False)
    instance_url: str
    org_id: str


class SalesforceLogin:
    """Token requests for one org: the settings' grant, over the client's session."""

    def __init__(
        self,
        settings: SalesforceSettings,
        session: requests.Session,
        private_key: KeyVaultSecret | None,
    ) -> None:
        self._settings = settings
        self._session = session
        self._private_key = private_key

    def token(self) -> dict[str, Any]:
        """A token response; a refused JWT assertion re-reads the key from Key Vault once."""
        try:
            return self._request_token()
        except AuthenticationFailed:
            if self._settings.auth_mode is not SalesforceAuthMode.JWT or self._private_key is None:
                raise
            self._private_key.refresh()  # a rotated key: sign again with the vault's latest
            return self._request_token()

    def access(self) -> SalesforceAccess:
        """A fresh token as the Pub/Sub API's call metadata names it."""
        token = self.token()
        identity = str(token.get("id", "")).rstrip("/").split("/")
        if len(identity) < 2 or not identity[-2].startswith("00D"):
            raise AuthenticationFailed("token response has no org id in its id URL", system=SYSTEM)
        return SalesforceAccess(
            access_token=str(token["access_token"]),
            instance_url=str(self._settings.instance_url or token["instance_url"]).rstrip("/"),
            org_id=identity[-2],
        )

    def _request_token(self) -> dict[str, Any]:
        settings = self._settings
        url = settings.token_url
        if settings.auth_mode is SalesforceAuthMode.JWT:
            form = {
                "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
                "assertion": self._jwt_assertion(),
            }
        else:
            secret = settings.client_secret.get_secret_value() if settings.client_secret else ""
            form = {
                "grant_type": "client_credentials",
                "client_id": settings.client_id,
                "client_secret": secret,
            }
        try:
            response = self._session.post(url, data=form, timeout=settings.timeout_seconds)
        except (requests.Timeout, requests.ConnectionError) as exc:
            raise TransientError(f"token request: {type(exc).__name__}", system=SYSTEM) from None
        if response.status_code != 200:
            body = json_or_empty(response)
            code = body.get("error") or "token_error"
            message = f"token request refused: {code}: {body.get('error_description', '')}"
            if response.status_code in (400, 401, 403):
                raise AuthenticationFailed(
                    message, system=SYSTEM, status=response.status_code, code=code
                )
            raise error_for_status(SYSTEM, response.status_code, message, code=code)
        return response.json()

    def _jwt_assertion(self) -> str:
        settings = self._settings
        if self._private_key is not None:
            key = self._private_key.value().encode()
        else:
            assert settings.private_key_path is not None  # settings validation guarantees it
            key = settings.private_key_path.read_bytes()
        claims = {
            "iss": settings.client_id,
            "sub": settings.username,
            "aud": settings.audience,
            "exp": int(time.time()) + 180,
        }
        return jwt.encode(claims, key, algorithm="RS256")
