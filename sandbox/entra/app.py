"""The Entra stand-in's HTTP edge: the tenant's token endpoint, keys and OpenID metadata, and
`/__sandbox/entra/...` to register clients and rotate keys."""

from __future__ import annotations

import json
import re
from typing import Any

from aiohttp import web

from .directory import Directory, EntraError

_TENANT_PATH = re.compile(
    r"^/([^/]+)/(oauth2/v2\.0/token|discovery/v2\.0/keys|v2\.0/\.well-known/openid-configuration)$"
)


def _json(body: Any, status: int = 200) -> web.Response:
    return web.Response(status=status, text=json.dumps(body), content_type="application/json")


class EntraApp:
    def __init__(self, directory: Directory) -> None:
        self.directory = directory

    async def handle(self, request: web.Request) -> web.StreamResponse:
        path, method = request.path.rstrip("/"), request.method
        if path.startswith("/__sandbox/entra"):
            return await self._control(path, method, request)
        match = _TENANT_PATH.match(path)
        if match is None or match.group(1) != self.directory.tenant_id:
            return _json(
                {"error": "invalid_tenant", "error_description": "AADSTS90002: tenant not found"},
                400 if match else 404,
            )
        what = match.group(2)
        if what.endswith("token") and method == "POST":
            form = {k: v for k, v in (await request.post()).items() if isinstance(v, str)}
            try:
                return _json(self.directory.client_credentials(form))
            except EntraError as exc:
                return _json(exc.body, exc.status)
        if what.endswith("keys") and method == "GET":
            return _json(self.directory.jwks())
        if what.endswith("openid-configuration") and method == "GET":
            d = self.directory
            return _json(
                {
                    "issuer": d.issuer,
                    "token_endpoint": d.token_url,
                    "jwks_uri": d.jwks_url,
                    "id_token_signing_alg_values_supported": ["RS256"],
                    "token_endpoint_auth_methods_supported": ["client_secret_post"],
                }
            )
        return _json({"error": "method_not_allowed"}, 405)

    async def _control(self, path: str, method: str, request: web.Request) -> web.Response:
        try:
            body = await request.json() if request.can_read_body else {}
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return _json({"error": "the body must be a JSON object"}, 400)
        d = self.directory
        if path == "/__sandbox/entra/clients" and method == "POST":
            roles = body.get("roles", [])
            if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
                return _json({"error": "roles must be a list of strings"}, 400)
            client = d.register_client(body.get("client_id"), roles)
            return _json(
                {
                    "client_id": client.client_id,
                    "client_secret": client.secret,
                    "roles": client.roles,
                },
                201,
            )
        if path == "/__sandbox/entra/rotate" and method == "POST":
            kid = d.rotate_keys(retire_previous=body.get("retire_previous") is True)
            return _json({"kid": kid})
        if path == "/__sandbox/entra/info" and method == "GET":
            return _json(
                {
                    "tenant_id": d.tenant_id,
                    "issuer": d.issuer,
                    "token_url": d.token_url,
                    "jwks_url": d.jwks_url,
                    "audience": d.api_app_id,
                    "scope": f"{d.api_identifier_uri}/.default",
                }
            )
        return _json({"error": f"no control endpoint {method} {path}"}, 404)
