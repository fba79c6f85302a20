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


def openid_configuration(d: Directory) -> dict[str, Any]:
    """The tenant's v2.0 OpenID Provider metadata, with the members Entra ID publishes
    (``https://login.microsoftonline.com/<tenant>/v2.0/.well-known/openid-configuration``);
    MSAL reads ``authorization_endpoint``, ``token_endpoint`` and
    ``device_authorization_endpoint`` from it. Only the token and keys endpoints are served:
    the authorize, device code, user info and logout URLs are named, not implemented."""
    base = f"{d.authority}/{d.tenant_id}"
    return {
        "token_endpoint": f"{base}/oauth2/v2.0/token",
        "token_endpoint_auth_methods_supported": [
            "client_secret_post",
            "private_key_jwt",
            "client_secret_basic",
        ],
        "jwks_uri": d.jwks_url,
        "response_modes_supported": ["query", "fragment", "form_post"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "issuer": d.issuer,
        "request_uri_parameter_supported": False,
        "userinfo_endpoint": "https://graph.microsoft.com/oidc/userinfo",
        "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
        "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
        "http_logout_supported": True,
        "frontchannel_logout_supported": True,
        "end_session_endpoint": f"{base}/oauth2/v2.0/logout",
        "claims_supported": [
            "sub",
            "iss",
            "cloud_instance_name",
            "cloud_instance_host_name",
            "cloud_graph_host_name",
            "msgraph_host",
            "aud",
            "exp",
            "iat",
            "auth_time",
            "acr",
            "nonce",
            "preferred_username",
            "name",
            "tid",
            "ver",
            "at_hash",
            "c_hash",
            "email",
        ],  # fmt: skip
        "kerberos_endpoint": f"{base}/kerberos",
        "tenant_region_scope": "EU",
        "cloud_instance_name": "microsoftonline.com",
        "cloud_graph_host_name": "graph.windows.net",
        "msgraph_host": "graph.microsoft.com",
        "rbac_url": "https://pas.windows.net",
    }


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
            return _json(openid_configuration(self.directory))
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
