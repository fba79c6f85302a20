"""The D2C platform's state and rules: customers, users, registrations, idempotency, events.

Every operation runs under one lock and either changes state completely or raises a
:class:`Problem` before touching anything.
"""

from __future__ import annotations

import bisect
import copy
import itertools
import random
import threading
import uuid
from dataclasses import dataclass
from typing import Any

from ..clock import Clock, iso_z
from ..outbox import Outbox
from . import contract
from .errors import Problem, not_found, validation
from .listing import CustomerListing
from .users import CustomerUsers

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_ADDRESS_KEYS = ("line1", "line2", "city", "region", "postal_code", "country")
_SF_KEYS = ("account_id", "contact_id", "lead_id")
_CUSTOMER_FIELDS = (
    "name",
    "email_domain",
    "phone",
    "website",
    "tax_id",
    "industry",
    "billing_address",
    "credit_terms",
    "marketing_consent",
    "salesforce",
)


@dataclass
class Stored:
    """A first response kept for an idempotency key."""

    fingerprint: str
    status: int
    body: Any
    headers: dict[str, str]


def _address(value: Any) -> Any:
    if value is None:
        return None
    return {k: value.get(k) for k in _ADDRESS_KEYS}


def _link(value: Any) -> dict[str, Any]:
    value = value or {}
    return {k: value.get(k) for k in _SF_KEYS}


def _merge(current: Any, patch: Any) -> Any:
    """RFC 7396 JSON merge patch (``null`` clears)."""
    if not isinstance(patch, dict):
        return patch
    out = dict(current) if isinstance(current, dict) else {}
    for k, v in patch.items():
        if v is None:
            out[k] = None
        else:
            out[k] = _merge(out.get(k), v)
    return out


class D2CPlatform(CustomerListing, CustomerUsers):
    """Customers and users of the D2C platform, as the customer API sees them."""

    def __init__(self, clock: Clock, outbox: Outbox, seed: int) -> None:
        self.clock = clock
        self.outbox = outbox
        self.seed = seed
        self.lock = threading.RLock()
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.customers: dict[str, dict[str, Any]] = {}
            self.by_ref: dict[str, str] = {}
            self.users: dict[str, dict[str, Any]] = {}
            self.users_by_customer: dict[str, list[str]] = {}
            self.emails: dict[str, str] = {}  # active/invited users' emails, lower-case
            self.idem: dict[tuple[str, str], Stored] = {}
            self._rng = random.Random(f"{self.seed}:d2c:ids")
            self._events = itertools.count(1)
            self._order: list[tuple[str, str]] = []  # (updated_at, id), sorted
            self._order_dirty = False

    def snapshot(self) -> dict[str, Any]:
        """Customers, users, idempotency records and the id generator, JSON-ready."""
        with self.lock:
            return {
                "customers": list(self.customers.values()),
                "users": list(self.users.values()),
                "idempotency": [
                    [client, key, s.fingerprint, s.status, s.body, s.headers]
                    for (client, key), s in self.idem.items()
                ],
                "rng": _jsonable(self._rng.getstate()),
            }

    def restore(self, state: dict[str, Any]) -> None:
        with self.lock:
            self.reset()
            for c in state["customers"]:
                self._insert(c)
            for u in state["users"]:
                self.users[u["id"]] = u
                self.users_by_customer.setdefault(u["customer_id"], []).append(u["id"])
                if u["status"] != "removed":
                    self.emails[u["email"].lower()] = u["id"]
            for client, key, fingerprint, status, body, headers in state["idempotency"]:
                self.idem[(client, key)] = Stored(fingerprint, status, body, headers)
            self._rng.setstate(_tupled(state["rng"]))
            self._order_dirty = True

    # -- helpers -----------------------------------------------------------------------
    def _new_id(self, prefix: str) -> str:
        return prefix + "".join(self._rng.choice(ALPHABET) for _ in range(16))

    def _now(self) -> str:
        return iso_z(self.clock.now_ms())

    def _sorted(self) -> list[tuple[str, str]]:
        if self._order_dirty:
            self._order = sorted((c["updated_at"], c["id"]) for c in self.customers.values())
            self._order_dirty = False
        return self._order

    def _touch(self, customer: dict[str, Any]) -> None:
        self._order_dirty = True

    def customer(self, cid: str) -> dict[str, Any]:
        c = self.customers.get(cid)
        if c is None:
            raise not_found("customer")
        return c

    def _emit(
        self,
        kind: str,
        customer: dict[str, Any],
        origin: str | None,
        *,
        user: dict[str, Any] | None = None,
        changed: list[str] | None = None,
    ) -> None:
        now = self._now()
        data: dict[str, Any] = {"customer": copy.deepcopy(customer), "user": copy.deepcopy(user)}
        if kind == "customer.updated":
            data["changed_fields"] = changed or []
        data["origin"] = origin
        self.outbox.publish(
            [
                {
                    "specversion": "1.0",
                    "id": f"evt_{next(self._events):08d}_{uuid.uuid4().hex[:12]}",
                    "source": "/d2c/customers",
                    "type": kind,
                    "subject": f"customers/{customer['id']}",
                    "time": now,
                    "datacontenttype": "application/json",
                    "data": data,
                }
            ]
        )

    @staticmethod
    def check(schema: dict[str, Any], body: Any) -> None:
        problems = contract.validate(schema, body)
        if problems:
            raise validation(problems)

    # -- idempotency -------------------------------------------------------------------
    def replay(self, client: str, key: str, fingerprint: str) -> Stored | None:
        """The stored first response for this key, None if new; 422 if the body differs."""
        stored = self.idem.get((client, key))
        if stored is None:
            return None
        if stored.fingerprint != fingerprint:
            raise Problem(
                422,
                "idempotency-mismatch",
                "Idempotency key reused",
                "This Idempotency-Key was used before with a different request body",
            )
        return stored

    def remember(self, client: str, key: str, stored: Stored) -> None:
        self.idem[(client, key)] = stored

    # -- customers ---------------------------------------------------------------------
    def create_customer(self, body: Any, origin: str) -> dict[str, Any]:
        self.check(contract.schema("CustomerCreate"), body)
        ref = body.get("external_ref")
        if ref is not None and ref in self.by_ref:
            existing = self.by_ref[ref]
            raise Problem(
                409,
                "conflict",
                "Customer exists",
                f"A customer with external_ref {ref!r} already exists",
                existing_id=existing,
            )
        return self._new_customer(
            body,
            kind=body["kind"],
            external_ref=ref,
            name=body["name"],
            email_domain=body.get("email_domain"),
            website=body.get("website"),
            tax_id=body.get("tax_id"),
            industry=body.get("industry"),
            billing_address=_address(body.get("billing_address")),
            credit_terms=body.get("credit_terms"),
            salesforce=_link(body.get("salesforce")),
        )

    def _new_customer(self, body: dict[str, Any], **fields: Any) -> dict[str, Any]:
        """A new active customer, stored: `fields` over the empty ones, in the API's order."""
        now = self._now()
        customer = {
            "id": self._new_id("cus_"),
            "kind": None,
            "external_ref": None,
            "name": None,
            "email_domain": None,
            "phone": body.get("phone"),
            "website": None,
            "tax_id": None,
            "industry": None,
            "billing_address": None,
            "credit_terms": None,
            "marketing_consent": body.get("marketing_consent", False),
            "salesforce": _link(None),
            "status": "active",
            "deactivation_reason": None,
            "version": 1,
            "created_at": now,
            "updated_at": now,
        }
        customer.update(fields)
        self._insert(customer)
        return customer

    def _insert(self, customer: dict[str, Any]) -> None:
        self.customers[customer["id"]] = customer
        if customer["external_ref"] is not None:
            self.by_ref[customer["external_ref"]] = customer["id"]
        self.users_by_customer[customer["id"]] = []
        bisect.insort(self._order, (customer["updated_at"], customer["id"]))

    def update_customer(
        self, cid: str, body: Any, origin: str, if_match: str | None, *, check_etag: bool = True
    ) -> dict[str, Any]:
        customer = self.customer(cid)
        if check_etag:
            if if_match is None:
                raise Problem(
                    428, "precondition-required", "If-Match required", "PATCH needs If-Match"
                )
            if not _etag_matches(if_match, customer["version"]):
                raise Problem(
                    412,
                    "precondition-failed",
                    "Version mismatch",
                    f"The current version is {customer['version']}",
                    headers={"ETag": f'"{customer["version"]}"'},
                )
        self.check(contract.schema("CustomerPatch"), body)
        if customer["status"] == "deactivated":
            raise Problem(
                409, "conflict", "Customer deactivated", "A deactivated customer cannot change"
            )
        new = dict(customer)
        for key, value in body.items():
            if key == "billing_address":
                new[key] = _address(_merge(customer[key], value)) if value is not None else None
            elif key == "credit_terms":
                new[key] = _merge(customer[key], value) if value is not None else None
            elif key == "salesforce":
                new[key] = _link(_merge(customer[key], value))
            else:
                new[key] = value
        changed = [k for k in _CUSTOMER_FIELDS if new.get(k) != customer.get(k)]
        if not changed:
            return customer
        return self._save_change(customer, new, origin, changed)

    def _save_change(
        self, old: dict[str, Any], new: dict[str, Any], origin: str, changed: list[str]
    ) -> dict[str, Any]:
        """A customer's next version: numbered, stored, announced as `customer.updated`."""
        new["version"] = old["version"] + 1
        new["updated_at"] = self._now()
        self.customers[old["id"]] = new
        self._touch(new)
        self._emit("customer.updated", new, origin, changed=changed)
        return new

    def deactivate(self, cid: str, body: Any, origin: str) -> dict[str, Any]:
        reason = (body or {}).get("reason") if isinstance(body, dict) else None
        changed = ["status"] + (["deactivation_reason"] if reason else [])
        return self._set_status(cid, body, origin, "deactivate", "deactivated", reason, changed)

    def reactivate(self, cid: str, body: Any, origin: str) -> dict[str, Any]:
        changed = ["status", "deactivation_reason"]
        return self._set_status(cid, body, origin, "reactivate", "active", None, changed)

    def _set_status(
        self,
        cid: str,
        body: Any,
        origin: str,
        action: str,
        status: str,
        reason: str | None,
        changed: list[str],
    ) -> dict[str, Any]:
        """`POST /v1/customers/{id}/<action>`: idempotent, a customer already there is returned
        as it is."""
        customer = self.customer(cid)
        if body is not None:
            self.check(
                contract.request_schema(f"/v1/customers/{{customerId}}/{action}", "post"), body
            )
        if customer["status"] == status:
            return customer
        new = {**customer, "status": status, "deactivation_reason": reason}
        return self._save_change(customer, new, origin, changed)

    # -- registrations -----------------------------------------------------------------
    def register(self, body: Any, origin: str) -> tuple[dict[str, Any], dict[str, Any]]:
        self.check(contract.schema("Registration"), body)
        self._email_taken(body["email"])
        company = body.get("company_name")
        person = " ".join(p for p in (body.get("first_name"), body["last_name"]) if p)
        customer = self._new_customer(
            body,
            kind="business" if company else "consumer",
            name=company or person,
            email_domain=body["email"].rsplit("@", 1)[-1].lower() if company else None,
        )
        user = self._new_user(
            customer["id"], body, status="active", role="admin" if company else "buyer"
        )
        self._emit("customer.registered", customer, origin, user=user)
        return customer, user


def _jsonable(value: Any) -> Any:
    return [_jsonable(v) for v in value] if isinstance(value, tuple | list) else value


def _tupled(value: Any) -> Any:
    return tuple(_tupled(v) for v in value) if isinstance(value, list) else value


def _etag_matches(header: str, version: int) -> bool:
    want = f'"{version}"'
    return any(tag.strip() in ("*", want) for tag in header.split(","))
