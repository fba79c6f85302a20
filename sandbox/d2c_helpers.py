"""The D2C platform as tests change it: shoppers on the storefront, staff in the back office.

A part of :class:`sandbox.api.Sandbox` (a mixin): each call validates as the customer API
does and emits the event the platform would.
"""

from __future__ import annotations

from typing import Any

from .d2c.store import D2CPlatform


class D2CHelpers:
    """Storefront sign-ups and edits, back-office changes, and read-only views."""

    d2c: D2CPlatform

    # -- a person on the D2C storefront (origin "storefront") -----------------------------
    def d2c_register(
        self,
        email: str,
        last_name: str,
        company_name: str | None = None,
        first_name: str | None = None,
        phone: str | None = None,
        marketing_consent: bool = False,
    ) -> dict[str, Any]:
        """Self sign-up, as the storefront does it; emits ``customer.registered``."""
        body: dict[str, Any] = {"email": email, "last_name": last_name}
        for key, value in (
            ("company_name", company_name),
            ("first_name", first_name),
            ("phone", phone),
        ):
            if value is not None:
                body[key] = value
        if marketing_consent:
            body["marketing_consent"] = True
        with self.d2c.lock:
            customer, _ = self.d2c.register(body, "storefront")
            return dict(customer)

    def d2c_edit(self, customer_id: str, fields: dict[str, Any]) -> dict[str, Any]:
        """A storefront edit (merge patch, no If-Match); emits ``customer.updated``."""
        with self.d2c.lock:
            return dict(
                self.d2c.update_customer(customer_id, fields, "storefront", None, check_etag=False)
            )

    # -- D2C staff in the platform's back office (origin "backoffice") --------------------
    def d2c_create_customer(self, fields: dict[str, Any]) -> dict[str, Any]:
        """A customer made by hand (validated as the API does); emits ``customer.created``."""
        with self.d2c.lock:
            return dict(self.d2c.create_customer(fields, "backoffice"))

    def d2c_add_user(self, customer_id: str, fields: dict[str, Any]) -> dict[str, Any]:
        """A user invited by hand (validated as the API does)."""
        with self.d2c.lock:
            return dict(self.d2c.invite_user(customer_id, fields, "backoffice"))

    def d2c_deactivate(self, customer_id: str, reason: str) -> dict[str, Any]:
        with self.d2c.lock:
            return dict(self.d2c.deactivate(customer_id, {"reason": reason}, "backoffice"))

    def d2c_customers(self) -> list[dict[str, Any]]:
        with self.d2c.lock:
            return [dict(c) for c in self.d2c.customers.values()]

    def d2c_customer(self, customer_id: str) -> dict[str, Any]:
        with self.d2c.lock:
            return dict(self.d2c.customer(customer_id))

    def d2c_users(self, customer_id: str) -> list[dict[str, Any]]:
        with self.d2c.lock:
            return [dict(u) for u in self.d2c.list_users(customer_id)["data"]]
