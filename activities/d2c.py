"""Activities against the D2C customer API; each forward step has its compensation here."""

from __future__ import annotations

from typing import Any

from activities import bp
from crosswalk.clients.d2c import CustomerExists, deactivated_by_crosswalk
from crosswalk.d2c_models import CustomerCreate, UserInvite
from crosswalk.errors import Conflict, NotFound, PreconditionFailed
from crosswalk.services import services


@bp.activity_trigger(input_name="payload")
def d2c_create_customer(payload: dict) -> dict[str, Any]:
    return create_or_adopt_customer(payload)


def create_or_adopt_customer(payload: dict[str, Any]) -> dict[str, Any]:
    """Create the organisation; a replay of the same idempotency key returns the first result.

    A 409 means a customer already carries this Salesforce id. An active one (an earlier run
    made it) is adopted rather than duplicated. A deactivated one that Crosswalk itself
    deactivated (a compensated or cancelled onboarding, now retried) is adopted with
    `reactivate`: the orchestrator registers its undo, then reactivates it in a step of its
    own, so a crash in between can never leave it active with no undo. One that someone else
    deactivated is not revived behind their back: that is a conflict for a person.
    """
    d2c = services().d2c
    customer = CustomerCreate.model_validate(payload["customer"])
    try:
        created = d2c.create_customer(customer, idempotency_key=payload["idempotency_key"])
        return {"customer_id": created.id, "version": created.version, "adopted": False}
    except CustomerExists as exc:
        if not exc.existing_id:
            raise
        existing = d2c.get_customer(exc.existing_id)
    if existing.external_ref != customer.external_ref:
        raise Conflict(
            f"D2C customer {existing.id} does not carry {customer.external_ref}",
            system="d2c",
            status=409,
            code="customer-mismatch",
        )
    if deactivated_by_crosswalk(existing):
        # brought back by its own step, after the orchestrator has registered the undo
        return {
            "customer_id": existing.id,
            "version": existing.version,
            "adopted": True,
            "reactivate": True,
        }
    if existing.status != "active":
        raise Conflict(
            f"D2C customer {existing.id} for {customer.external_ref} is {existing.status} "
            f"({existing.deactivation_reason or 'no reason given'}), not by Crosswalk; "
            "reactivate or remove it in D2C, then retry",
            system="d2c",
            status=409,
            code="customer-deactivated",
        )
    return {"customer_id": existing.id, "version": existing.version, "adopted": True}


@bp.activity_trigger(input_name="payload")
def d2c_reactivate_customer(payload: dict) -> dict[str, Any]:
    return reactivate_customer(payload)


def reactivate_customer(payload: dict[str, Any]) -> dict[str, Any]:
    """Bring back an organisation Crosswalk deactivated (reactivating twice is fine)."""
    customer = services().d2c.reactivate_customer(payload["customer_id"], reason=payload["reason"])
    return {"customer_id": customer.id, "version": customer.version, "status": customer.status}


@bp.activity_trigger(input_name="payload")
def d2c_deactivate_customer(payload: dict) -> dict[str, Any]:
    return deactivate_customer(payload)


def deactivate_customer(payload: dict[str, Any]) -> dict[str, Any]:
    """Compensation of the create: the organisation is deactivated (deactivating twice is fine)."""
    try:
        customer = services().d2c.deactivate_customer(
            payload["customer_id"], reason=payload["reason"]
        )
    except NotFound:
        return {"customer_id": payload["customer_id"], "status": "absent"}
    return {"customer_id": customer.id, "status": customer.status}


@bp.activity_trigger(input_name="payload")
def d2c_invite_user(payload: dict) -> dict[str, Any]:
    return invite_or_adopt_user(payload)


def invite_or_adopt_user(payload: dict[str, Any]) -> dict[str, Any]:
    """Invite the primary contact; when the organisation already has a user with that email
    (an adopted or reactivated organisation keeps its users), that user is adopted."""
    d2c = services().d2c
    invite = UserInvite.model_validate(payload["invite"])
    customer_id = payload["customer_id"]
    try:
        user = d2c.invite_user(customer_id, invite, idempotency_key=payload["idempotency_key"])
        return {"user_id": user.id, "status": user.status, "adopted": False}
    except Conflict:
        email = invite.email.lower()
        users = d2c.list_users(customer_id)
        same = [u for u in users if u.email.lower() == email and u.status != "removed"]
        if not same:
            raise  # the email belongs to another organisation's user: a person decides
    return {"user_id": same[0].id, "status": same[0].status, "adopted": True}


@bp.activity_trigger(input_name="payload")
def d2c_remove_user(payload: dict) -> dict[str, Any]:
    return remove_user(payload)


def remove_user(payload: dict[str, Any]) -> dict[str, Any]:
    """Compensation of the invite; removing a removed (or vanished) user is a no-op."""
    try:
        services().d2c.remove_user(payload["customer_id"], payload["user_id"])
    except NotFound:
        return {"user_id": payload["user_id"], "status": "absent"}
    return {"user_id": payload["user_id"], "status": "removed"}


@bp.activity_trigger(input_name="payload")
def d2c_get_customer(payload: dict) -> dict[str, Any]:
    return services().d2c.get_customer(payload["customer_id"]).model_dump(mode="json")


@bp.activity_trigger(input_name="payload")
def d2c_update_customer(payload: dict) -> dict[str, Any]:
    """PATCH with If-Match on the version the change is based on.

    On 412 the customer is read again and returned as `conflict`: the orchestrator decides
    from the fresh values whether (and what) to apply, never this activity.
    """
    d2c = services().d2c
    customer_id = payload["customer_id"]
    try:
        customer = d2c.update_customer(
            customer_id, payload["patch"], etag=f'"{payload["version"]}"'
        )
    except PreconditionFailed:
        fresh = d2c.get_customer(customer_id)
        return {"status": "conflict", "customer": fresh.model_dump(mode="json")}
    return {"status": "updated", "customer": customer.model_dump(mode="json")}
