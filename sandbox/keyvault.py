"""Key Vault's secrets data plane and App Service's managed identity endpoint, for the real
azure-identity and azure-keyvault-secrets clients to run against (docs/sandbox.md, "Key Vault
and the managed identity", names the documentation each rule follows).

- The identity endpoint is what a Function App's system-assigned identity calls:
  `GET $IDENTITY_ENDPOINT?resource=<uri>&api-version=2019-08-01` with the header
  `X-IDENTITY-HEADER: $IDENTITY_HEADER`, answering `access_token`, `expires_on` (epoch seconds),
  `resource`, `token_type`, `client_id`. Tokens are signed by the Entra stand-in's keys, with
  `aud` the resource and `oid` the app's identity.
- The vault serves `GET /secrets/{name}[/{version}]` (no version: the latest) and
  `PUT /secrets/{name}` (a new version), `api-version` required. A request without a valid
  bearer token gets 401 with Key Vault's challenge (`WWW-Authenticate: Bearer
  authorization="<authority>/<tenant>", resource="<vault resource>"`), which the SDK answers
  with a token for that resource. A caller without a role gets 403 ForbiddenByRbac. The vault
  is HTTPS only, as the SDK sends bearer tokens over TLS only.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from .entra.directory import Directory
from .server import ServerThread

# The versions the secrets API documents (7.x and the dated ones the SDK sends by default).
API_VERSIONS = ("7.4", "7.5", "7.6", "2025-07-01", "2026-04-01")
IDENTITY_API_VERSION = "2019-08-01"


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        status=status, text=json.dumps(body), content_type="application/json", headers=headers
    )


def _error(status: int, code: str, message: str, inner: str | None = None) -> web.Response:
    error: dict[str, Any] = {"code": code, "message": message}
    if inner:
        error["innererror"] = {"code": inner}
    return _json({"error": error}, status)


@dataclass
class SecretVersion:
    version: str
    value: str
    content_type: str | None
    created: int


@dataclass
class Vault:
    """The secrets and who may read or write them (object ids holding a role)."""

    readers: set[str] = field(default_factory=set)
    officers: set[str] = field(default_factory=set)
    secrets: dict[str, list[SecretVersion]] = field(default_factory=dict)
    reads: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def set(self, name: str, value: str, content_type: str | None = None) -> SecretVersion:
        version = SecretVersion(uuid.uuid4().hex, value, content_type, int(time.time()))
        with self.lock:
            self.secrets.setdefault(name, []).append(version)
        return version

    def get(self, name: str, version: str = "") -> SecretVersion | None:
        with self.lock:
            self.reads += 1
            versions = self.secrets.get(name) or []
            if not version:
                return versions[-1] if versions else None
            return next((v for v in versions if v.version == version), None)


class KeyVaultStandIn:
    """A vault (HTTPS) and an identity endpoint (HTTP, as App Service's is) on free ports."""

    def __init__(self, directory: Directory, server_ssl: Any, host: str = "127.0.0.1") -> None:
        self.directory = directory
        self.vault = Vault()
        self.identity_header = secrets.token_urlsafe(16)
        self.app_object_id = str(uuid.uuid4())  # the Function App's system-assigned identity
        self.app_client_id = str(uuid.uuid4())
        self._vault_server = ServerThread(
            self._vault_handler, name="keyvault", host=host, ssl_context=server_ssl
        )
        self._identity_server = ServerThread(self._identity_handler, name="identity", host=host)
        self.vault_url = ""
        self.identity_endpoint = ""

    def start(self) -> KeyVaultStandIn:
        vault_port = self._vault_server.start()
        identity_port = self._identity_server.start()
        self.vault_url = f"https://{self._vault_server.host}:{vault_port}"
        self.identity_endpoint = f"http://{self._identity_server.host}:{identity_port}/msi/token"
        return self

    def close(self) -> None:
        self._vault_server.stop()
        self._identity_server.stop()

    def __enter__(self) -> KeyVaultStandIn:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def resource(self) -> str:
        """What the vault's challenge names; Azure's is https://vault.azure.net. Its host must
        be the vault's domain, which the SDK checks before it asks for a token."""
        return self.vault_url

    def identity_environment(self) -> dict[str, str]:
        """The variables App Service sets for the identity endpoint."""
        return {
            "IDENTITY_ENDPOINT": self.identity_endpoint,
            "IDENTITY_HEADER": self.identity_header,
        }

    def secret_uri(self, name: str, version: str = "") -> str:
        return f"{self.vault_url}/secrets/{name}" + (f"/{version}" if version else "")

    # -- identity endpoint ------------------------------------------------------------------
    async def _identity_handler(self, request: web.Request) -> web.Response:
        if request.method != "GET" or request.path != "/msi/token":
            return _json({"error": "not_found"}, 404)
        if request.headers.get("X-IDENTITY-HEADER") != self.identity_header:
            return _json({"error": "invalid_request", "error_description": "header"}, 400)
        if request.query.get("api-version") != IDENTITY_API_VERSION:
            return _json({"error": "invalid_request", "error_description": "api-version"}, 400)
        resource = request.query.get("resource", "")
        if not resource:
            return _json({"error": "invalid_resource", "error_description": "resource"}, 400)
        client_id = request.query.get("client_id")
        if client_id and client_id != self.app_client_id:
            return _json({"error": "invalid_request", "error_description": "identity"}, 400)
        now = int(time.time())
        expires = now + 3600
        token = self.directory.sign(
            {
                "aud": resource,
                "iss": self.directory.issuer,
                "iat": now,
                "nbf": now,
                "exp": expires,
                "oid": self.app_object_id,
                "sub": self.app_object_id,
                "appid": self.app_client_id,
                "tid": self.directory.tenant_id,
                "idtyp": "app",
            }
        )
        return _json(
            {
                "access_token": token,
                "expires_on": str(expires),
                "resource": resource,
                "token_type": "Bearer",
                "client_id": self.app_client_id,
            }
        )

    # -- vault ------------------------------------------------------------------------------
    async def _vault_handler(self, request: web.Request) -> web.Response:
        if request.query.get("api-version") not in API_VERSIONS:
            return _error(400, "BadParameter", "The api-version is missing or not supported.")
        caller = self.directory.bearer_caller(
            request.headers.get("Authorization", ""), self.resource
        )
        if caller is None:
            challenge = (
                f'Bearer authorization="{self.directory.authority}/{self.directory.tenant_id}", '
                f'resource="{self.resource}"'
            )
            missing = _error(401, "Unauthorized", "AKV10000: Request is missing a Bearer token.")
            missing.headers["WWW-Authenticate"] = challenge
            return missing
        parts = [p for p in request.path.split("/") if p]
        if len(parts) not in (2, 3) or parts[0] != "secrets":
            return _error(404, "NotFound", "The requested resource was not found.")
        name, version = parts[1], parts[2] if len(parts) == 3 else ""
        if request.method == "GET":
            if caller not in self.vault.readers | self.vault.officers:
                return _forbidden(caller, "getSecret")
            found = self.vault.get(name, version)
            if found is None:
                return _error(
                    404,
                    "SecretNotFound",
                    f"A secret with (name/id) {name} was not found in this key vault.",
                )
            return _json(self._bundle(name, found))
        if request.method == "PUT" and not version:
            if caller not in self.vault.officers:
                return _forbidden(caller, "setSecret")
            body = await request.json()
            stored = self.vault.set(name, str(body["value"]), body.get("contentType"))
            return _json(self._bundle(name, stored))
        return _error(405, "MethodNotAllowed", "The method is not allowed.")

    def _bundle(self, name: str, version: SecretVersion) -> dict[str, Any]:
        bundle: dict[str, Any] = {
            "value": version.value,
            "id": f"{self.vault_url}/secrets/{name}/{version.version}",
            "attributes": {
                "enabled": True,
                "created": version.created,
                "updated": version.created,
                "recoveryLevel": "Recoverable",
                "recoverableDays": 90,
            },
        }
        if version.content_type:
            bundle["contentType"] = version.content_type
        return bundle


def _forbidden(caller: str, action: str) -> web.Response:
    return _error(
        403,
        "Forbidden",
        f"Caller is not authorized to perform action on resource. Caller: oid={caller}; "
        f"Action: 'Microsoft.KeyVault/vaults/secrets/{action}/action'",
        inner="ForbiddenByRbac",
    )
