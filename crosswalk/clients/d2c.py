"""The one client for the D2C customer API (docs/d2c-api.yaml).

Built once from the settings and reused, so connections are pooled across invocations.
Every failure leaves here already classified (crosswalk.errors): callers never see a raw
`requests` exception or an HTTP status to interpret.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

import requests

from crosswalk.clients.http import make_session
from crosswalk.d2c_models import Customer, CustomerCreate, D2CUser, UserInvite
from crosswalk.errors import (
    Conflict,
    IntegrationError,
    TransientError,
    error_for_status,
)
from crosswalk.models import utc_iso
from crosswalk.settings import D2CSettings

SYSTEM = "d2c"
LOOKUP_LIMIT = 2000


DEACTIVATED_BY_CROSSWALK = "crosswalk: "
"""How the reason of every deactivation Crosswalk makes begins: only those may it undo."""


def deactivated_by_crosswalk(customer: Customer) -> bool:
    reason = customer.deactivation_reason or ""
    return customer.status == "deactivated" and reason.startswith(DEACTIVATED_BY_CROSSWALK)


class CustomerExists(Conflict):
    """409 on create: a customer with this external_ref exists; `existing_id` names it."""

    def __init__(self, message: str, *, existing_id: str | None, **kwargs: Any) -> None:
        self.existing_id = existing_id
        super().__init__(message, **kwargs)


class D2CClient:
    def __init__(self, settings: D2CSettings, *, session: requests.Session | None = None) -> None:
        self._base = str(settings.base_url).rstrip("/")
        self._timeout = settings.timeout_seconds
        self._session = session or make_session(system=SYSTEM)
        self._session.headers["Authorization"] = f"Bearer {settings.token.get_secret_value()}"
        self._session.headers["Accept"] = "application/json"

    def close(self) -> None:
        self._session.close()

    # ------------------------------------------------------------------ customers

    def create_customer(self, customer: CustomerCreate, *, idempotency_key: str) -> Customer:
        response = self._request(
            "POST",
            "/v1/customers",
            json=customer.model_dump(mode="json", exclude_none=True),
            headers={"Idempotency-Key": idempotency_key},
        )
        return Customer.model_validate(response.json())

    def get_customer(self, customer_id: str) -> Customer:
        return Customer.model_validate(self._request("GET", f"/v1/customers/{customer_id}").json())

    def find_by_external_ref(self, external_ref: str) -> Customer | None:
        page = self._request("GET", "/v1/customers", params={"external_ref": external_ref}).json()
        return Customer.model_validate(page["data"][0]) if page["data"] else None

    def lookup(self, external_refs: Sequence[str]) -> dict[str, Customer]:
        """Customers by external_ref, in as few calls as the API allows (2,000 per call)."""
        found: dict[str, Customer] = {}
        refs = list(dict.fromkeys(external_refs))
        for start in range(0, len(refs), LOOKUP_LIMIT):
            chunk = refs[start : start + LOOKUP_LIMIT]
            body = self._request(
                "POST", "/v1/customers/lookup", json={"external_refs": chunk}
            ).json()
            for item in body["data"]:
                customer = Customer.model_validate(item)
                if customer.external_ref:
                    found[customer.external_ref] = customer
        return found

    def iter_customers(
        self, *, updated_since: datetime | None = None, page_size: int = 1000
    ) -> Iterator[Customer]:
        params: dict[str, Any] = {"limit": page_size}
        if updated_since is not None:
            params["updated_since"] = utc_iso(updated_since)
        while True:
            page = self._request("GET", "/v1/customers", params=params).json()
            for item in page["data"]:
                yield Customer.model_validate(item)
            if not page.get("next_cursor"):
                return
            params = {"limit": page_size, "cursor": page["next_cursor"]}

    def update_customer(self, customer_id: str, patch: Mapping[str, Any], *, etag: str) -> Customer:
        response = self._request(
            "PATCH", f"/v1/customers/{customer_id}", json=dict(patch), headers={"If-Match": etag}
        )
        return Customer.model_validate(response.json())

    def deactivate_customer(self, customer_id: str, *, reason: str) -> Customer:
        """Deactivate, marking the reason as Crosswalk's (see `deactivated_by_crosswalk`)."""
        body = {"reason": f"{DEACTIVATED_BY_CROSSWALK}{reason}"[:500]}
        response = self._request("POST", f"/v1/customers/{customer_id}/deactivate", json=body)
        return Customer.model_validate(response.json())

    def reactivate_customer(self, customer_id: str, *, reason: str) -> Customer:
        response = self._request(
            "POST", f"/v1/customers/{customer_id}/reactivate", json={"reason": reason[:500]}
        )
        return Customer.model_validate(response.json())

    # ------------------------------------------------------------------ users

    def invite_user(self, customer_id: str, invite: UserInvite, *, idempotency_key: str) -> D2CUser:
        response = self._request(
            "POST",
            f"/v1/customers/{customer_id}/users",
            json=invite.model_dump(mode="json", exclude_none=True),
            headers={"Idempotency-Key": idempotency_key},
        )
        return D2CUser.model_validate(response.json())

    def list_users(self, customer_id: str) -> list[D2CUser]:
        body = self._request("GET", f"/v1/customers/{customer_id}/users").json()
        return [D2CUser.model_validate(item) for item in body["data"]]

    def remove_user(self, customer_id: str, user_id: str) -> None:
        self._request("DELETE", f"/v1/customers/{customer_id}/users/{user_id}")

    def erase_user(self, user_id: str) -> None:
        """Erase the person's data in D2C (eraseUser; idempotent)."""
        self._request("POST", f"/v1/users/{user_id}/erase")

    # ------------------------------------------------------------------ transport

    def _request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        try:
            response = self._session.request(
                method, self._base + path, timeout=self._timeout, **kwargs
            )
        except (requests.Timeout, requests.ConnectionError) as exc:
            raise TransientError(f"{method} {path}: {type(exc).__name__}", system=SYSTEM) from None
        if response.status_code >= 400:
            raise _problem(method, path, response)
        return response


def _problem(method: str, path: str, response: requests.Response) -> IntegrationError:
    """Turn an RFC 9457 problem body into the taxonomy, keeping the first field it names."""
    try:
        body = response.json()
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    errors = body.get("errors") or []
    field = errors[0].get("field") if errors and isinstance(errors[0], dict) else None
    detail = body.get("detail") or body.get("title") or response.reason or "error"
    if errors:
        named = "; ".join(
            f"{e.get('field')}: {e.get('message')}" for e in errors if isinstance(e, dict)
        )
        detail = f"{detail} ({named})"
    code = str(body.get("type", "")).rstrip("/").rsplit("/", 1)[-1] or None
    message = f"{method} {path} -> {response.status_code}: {detail}"
    retry_after = _retry_after(response.headers.get("Retry-After"))
    if response.status_code == 409 and method == "POST" and path == "/v1/customers":
        return CustomerExists(
            message,
            existing_id=body.get("existing_id"),
            system=SYSTEM,
            status=409,
            code=code,
        )
    return error_for_status(
        SYSTEM, response.status_code, message, code=code, field=field, retry_after=retry_after
    )


def _retry_after(value: str | None) -> float | None:
    try:
        return float(value) if value else None
    except ValueError:
        return None
