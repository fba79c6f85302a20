"""A customer's users: invited, listed, removed, erased; e-mails unique among active users
(a part of :class:`D2CPlatform`, a mixin).
"""

from __future__ import annotations

from typing import Any

from . import contract
from .errors import Problem, not_found

_USER_FIELDS = ("email", "first_name", "last_name", "phone", "role", "status", "external_ref")


class CustomerUsers:
    """Users belong to one customer; their e-mail index is lower-case. Relies on the
    platform's ``customer``, ``check``, ``_new_id``, ``_now``, ``_emit`` and ``_touch``."""

    users: dict[str, dict[str, Any]]
    users_by_customer: dict[str, list[str]]
    emails: dict[str, str]

    def list_users(self, cid: str) -> dict[str, Any]:
        self.customer(cid)
        return {"data": [self.users[u] for u in self.users_by_customer[cid]]}

    def _email_taken(self, email: str) -> None:
        if email.lower() in self.emails:
            raise Problem(409, "conflict", "Email in use", f"{email} already belongs to a user")

    def invite_user(self, cid: str, body: Any, origin: str) -> dict[str, Any]:
        customer = self.customer(cid)
        self.check(contract.schema("UserInvite"), body)
        if customer["status"] == "deactivated":
            raise Problem(
                409, "conflict", "Customer deactivated", "Cannot invite to a deactivated customer"
            )
        self._email_taken(body["email"])
        user = self._new_user(cid, body, status="invited", role=body.get("role", "buyer"))
        changed = [f"user.{k}" for k in _USER_FIELDS if user.get(k) is not None]
        self._emit("customer.updated", customer, origin, user=user, changed=changed)
        return user

    def _new_user(
        self, cid: str, body: dict[str, Any], *, status: str, role: str
    ) -> dict[str, Any]:
        user = {
            "id": self._new_id("usr_"),
            "customer_id": cid,
            "email": body["email"],
            "first_name": body.get("first_name"),
            "last_name": body.get("last_name"),
            "phone": body.get("phone"),
            "role": role,
            "status": status,
            "external_ref": body.get("external_ref"),
            "created_at": self._now(),
        }
        self.users[user["id"]] = user
        self.users_by_customer[cid].append(user["id"])
        self.emails[user["email"].lower()] = user["id"]
        return user

    def remove_user(self, cid: str, uid: str, origin: str) -> None:
        customer = self.customer(cid)
        user = self.users.get(uid)
        if user is None or user["customer_id"] != cid:
            raise not_found("user")
        if user["status"] == "removed":
            return
        new = dict(user, status="removed")
        self.users[uid] = new
        if self.emails.get(user["email"].lower()) == uid:
            del self.emails[user["email"].lower()]
        self._emit("customer.updated", customer, origin, user=new, changed=["user.status"])

    def erase_user(self, uid: str) -> None:
        """docs/d2c-api.yaml eraseUser: personal data gone, the user removed; no event."""
        user = self.users.get(uid)
        if user is None:
            return  # nothing held: done (idempotent, as the contract says)
        cid = user["customer_id"]
        customer = self.customer(cid)
        if self.emails.get(user["email"].lower()) == uid:
            del self.emails[user["email"].lower()]
        self.users[uid] = dict(
            user,
            email=f"erased-{uid}@erased.invalid",
            first_name=None,
            last_name=None,
            phone=None,
            status="removed",
        )
        others = [u for u in self.users_by_customer[cid] if u != uid]
        if customer["kind"] == "consumer" and not others:
            erased = dict(
                customer,
                name="Erased customer",
                phone=None,
                billing_address=None,
                tax_id=None,
                version=customer["version"] + 1,
                updated_at=self._now(),
            )
            self.customers[cid] = erased
            self._touch(erased)
