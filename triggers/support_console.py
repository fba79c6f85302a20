"""The support console (static files, no build step) and the OpenAPI document.

Neither holds data, so both are served without a role; the console gets everything it shows
from the JSON API, which checks roles on every call.
"""

from __future__ import annotations

import json
from pathlib import Path

import azure.functions as func

from crosswalk.support.openapi import document
from triggers import bp
from triggers.responses import HttpError, translated

STATIC = Path(__file__).with_name("support_console")
ASSETS = {
    "app.js": "text/javascript; charset=utf-8",
    "app.css": "text/css; charset=utf-8",
}
SECURITY = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; "
    "img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}
ANON = func.AuthLevel.ANONYMOUS


@bp.route(route="support/console", methods=["GET"], auth_level=ANON)
@translated
async def support_console(req: func.HttpRequest) -> func.HttpResponse:
    html = (STATIC / "index.html").read_bytes()
    return func.HttpResponse(html, mimetype="text/html", charset="utf-8", headers=SECURITY)


@bp.route(route="support/console/{asset}", methods=["GET"], auth_level=ANON)
@translated
async def support_console_asset(req: func.HttpRequest) -> func.HttpResponse:
    name = req.route_params.get("asset", "")
    if name not in ASSETS:  # a fixed list: no path ever reaches the file system unchecked
        raise HttpError(404, "not_found", "no such console file")
    body = (STATIC / name).read_bytes()
    return func.HttpResponse(body, headers={**SECURITY, "Content-Type": ASSETS[name]})


@bp.route(route="support/openapi.json", methods=["GET"], auth_level=ANON)
@translated
async def support_openapi(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse(
        json.dumps(document(), indent=1),
        mimetype="application/json",
        headers={"Cache-Control": "no-cache"},
    )
