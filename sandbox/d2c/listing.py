"""Listing customers (`GET /v1/customers`) by `updated_at` with opaque cursors, and lookup by
external_ref: the D2C platform's read side (a part of :class:`D2CPlatform`, a mixin).
"""

from __future__ import annotations

import base64
import binascii
import bisect
import datetime
import json
from typing import Any

from . import contract
from .errors import validation


def normalize_instant(text: str) -> str:
    """Any RFC 3339 instant -> the stored ``YYYY-MM-DDTHH:MM:SS.mmmZ`` form (ValueError if bad)."""
    dt = datetime.datetime.fromisoformat(text.replace("Z", "+00:00").replace(" ", "+"))
    if dt.tzinfo is None:
        raise ValueError("an offset or Z is required")
    dt = dt.astimezone(datetime.UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S") + f".{dt.microsecond // 1000:03d}Z"


def encode_cursor(updated_at: str, cid: str) -> str:
    raw = json.dumps([updated_at, cid], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[str, str]:
    try:
        pad = "=" * (-len(cursor) % 4)
        updated_at, cid = json.loads(base64.urlsafe_b64decode(cursor + pad))
        if not isinstance(updated_at, str) or not isinstance(cid, str):
            raise ValueError
    except (ValueError, TypeError, binascii.Error):
        raise validation([{"field": "cursor", "message": "is not a valid cursor"}]) from None
    return updated_at, cid


class CustomerListing:
    """Pages of customers in `(updated_at, id)` order; the platform keeps that order
    (``_sorted``) and validates bodies (``check``)."""

    customers: dict[str, dict[str, Any]]
    by_ref: dict[str, str]

    def list_customers(self, params: dict[str, str]) -> dict[str, Any]:
        problems = []
        limit = 100
        if "limit" in params:
            try:
                limit = int(params["limit"])
                if not 1 <= limit <= 1000:
                    raise ValueError
            except ValueError:
                problems.append({"field": "limit", "message": "must be an integer 1-1000"})
        since = None
        if "updated_since" in params:
            try:
                since = normalize_instant(params["updated_since"])
            except ValueError:
                problems.append(
                    {"field": "updated_since", "message": "must be an RFC 3339 date-time"}
                )
        status = params.get("status")
        if status is not None and status not in {"active", "deactivated"}:
            problems.append({"field": "status", "message": "must be one of active, deactivated"})
        ref = params.get("external_ref")
        if ref is not None and len(ref) > 64:
            problems.append({"field": "external_ref", "message": "must be at most 64 characters"})
        if problems:
            raise validation(problems)
        start: tuple[str, str] | None = None
        if params.get("cursor"):
            start = decode_cursor(params["cursor"])
        order = self._sorted()
        if ref is not None:
            cid = self.by_ref.get(ref)
            keys = [(self.customers[cid]["updated_at"], cid)] if cid else []
        else:
            keys = order
        pos = 0
        if start is not None:
            pos = bisect.bisect_right(keys, start)
        if since is not None:
            pos = max(pos, bisect.bisect_left(keys, (since, "")))
        data: list[dict[str, Any]] = []
        last: tuple[str, str] | None = None
        more = False
        for i in range(pos, len(keys)):
            c = self.customers[keys[i][1]]
            if status is not None and c["status"] != status:
                continue
            if len(data) == limit:
                more = True
                break
            data.append(c)
            last = keys[i]
        cursor = encode_cursor(*last) if more and last is not None else None
        return {"data": data, "next_cursor": cursor}

    def lookup(self, body: Any) -> dict[str, Any]:
        self.check(contract.request_schema("/v1/customers/lookup", "post"), body)
        seen = set()
        data = []
        for ref in body["external_refs"]:
            cid = self.by_ref.get(ref)
            if cid is not None and cid not in seen:
                seen.add(cid)
                data.append(self.customers[cid])
        return {"data": data}
