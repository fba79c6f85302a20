"""Activities against the unified profile store (Cosmos DB in Azure, SQLite locally)."""

from __future__ import annotations

from typing import Any

from activities import bp
from crosswalk.erasure.gate import without_erased
from crosswalk.errors import PreconditionFailed, TransientError
from crosswalk.models import ProfileStatus, UnifiedProfile
from crosswalk.people import ProfileContact, merge_person
from crosswalk.people_refresh import write_onboarded
from crosswalk.profiles.base import SYSTEM, LookupKind
from crosswalk.services import services


@bp.activity_trigger(input_name="payload")
def profile_upsert(payload: dict) -> dict[str, Any]:
    return upsert_profile(payload)


def upsert_profile(payload: dict[str, Any]) -> dict[str, Any]:
    """Write an onboarding's profile: its people only if no later read wrote them
    (crosswalk/people_refresh.py), the sign-ups and the owner's newer consent kept."""
    svc = services()
    profile = UnifiedProfile.model_validate(payload["profile"])
    stored = write_onboarded(svc.profiles, profile, svc.settings.ownership.marketing_consent)
    return {"sf_account_id": stored.sf_account_id, "etag": stored.etag}


@bp.activity_trigger(input_name="payload")
def profile_remove(payload: dict) -> dict[str, Any]:
    return remove_profile(payload)


def remove_profile(payload: dict[str, Any]) -> dict[str, Any]:
    """Compensation of the upsert: the profile this run wrote is removed."""
    removed = services().profiles.delete(payload["sf_account_id"])
    return {"sf_account_id": payload["sf_account_id"], "removed": removed}


@bp.activity_trigger(input_name="payload")
def profile_record_failure(payload: dict) -> dict[str, Any]:
    return record_failure(payload)


def record_failure(payload: dict[str, Any]) -> dict[str, Any]:
    """Support staff find failed onboardings in the profile store too, with the reason.

    An existing active profile (from an earlier successful onboarding) is never downgraded.
    """
    store = services().profiles
    current = store.get(payload["sf_account_id"])
    if current is not None and current.status is ProfileStatus.ACTIVE:
        return {"sf_account_id": payload["sf_account_id"], "recorded": False}
    failed = UnifiedProfile(
        sf_account_id=payload["sf_account_id"],
        name=payload.get("name") or payload["sf_account_id"],
        status=ProfileStatus.FAILED,
        failure=payload["failure"],
        updated_at=payload["at"],
    )
    store.upsert(failed, if_match=current.etag if current else None)
    return {"sf_account_id": payload["sf_account_id"], "recorded": True}


@bp.activity_trigger(input_name="payload")
def profile_apply_update(payload: dict) -> dict[str, Any]:
    """Carry an applied update into the profile; a concurrent writer makes it re-read.

    `changes` holds profile fields (`name`, `email_domain`, `country`, `last_modstamp`,
    `status`); a missing profile is reported, not invented.
    """
    store = services().profiles
    account_id = payload["sf_account_id"]
    for _ in range(5):
        current = store.get(account_id)
        if current is None:
            return {"sf_account_id": account_id, "updated": False, "reason": "no profile"}
        wanted = UnifiedProfile.model_validate(
            {**current.model_dump(mode="json"), **payload["changes"], "updated_at": payload["at"]}
        )
        try:
            store.upsert(wanted, if_match=current.etag)
        except PreconditionFailed:
            continue
        return {"sf_account_id": account_id, "updated": True}
    raise TransientError(
        f"profile {account_id} kept changing under the update", system=SYSTEM, code="busy"
    )


@bp.activity_trigger(input_name="payload")
def profile_match_domain(payload: dict) -> dict[str, Any]:
    """Synced (active, linked to D2C) accounts whose company email domain is `domain`."""
    profiles = services().profiles.find_by_email_domain(payload["domain"])
    matches = [
        p.sf_account_id
        for p in profiles
        if p.status is ProfileStatus.ACTIVE and p.d2c_customer_id is not None
    ]
    return {"account_ids": sorted(matches)}


@bp.activity_trigger(input_name="payload")
def profile_put_person(payload: dict) -> dict[str, Any]:
    """Add or update one person of a profile (a linked sign-up, a consent change).

    The profile is the one of `sf_account_id`, or, without it, every profile that knows the
    person's D2C user id (a lookup entry, so a point read). Consent follows the owner rule.
    """
    store = services().profiles
    owner = services().settings.ownership.marketing_consent
    person = ProfileContact.model_validate(payload["person"])
    if payload.get("sf_account_id"):
        accounts = [payload["sf_account_id"]]
    elif person.d2c_user_id:
        accounts = [p.sf_account_id for p in store.find(LookupKind.D2C_USER, person.d2c_user_id)]
    else:
        accounts = []
    updated = []
    for account_id in accounts:
        for _ in range(5):
            current = store.get(account_id)
            if current is None:
                break
            people = merge_person(current.contacts, person, owner)
            wanted = without_erased(current.model_copy(update={"contacts": people}))
            try:
                store.upsert(wanted, if_match=current.etag)
            except PreconditionFailed:
                continue
            updated.append(account_id)
            break
        else:
            raise TransientError(
                f"profile {account_id} kept changing under the update", system=SYSTEM, code="busy"
            )
    return {"updated": updated}
