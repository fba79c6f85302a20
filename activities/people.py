"""Activities that keep a profile's people as Salesforce lists them: they read the Account
with its Contacts and write the profile in one go (crosswalk/people_refresh.py), so the
Contacts' personal data never passes through an orchestration's history."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from activities import bp
from crosswalk.people_refresh import refresh_people
from crosswalk.profiles.base import LookupKind
from crosswalk.services import services


@bp.activity_trigger(input_name="payload")
def profile_accounts_of_contacts(payload: dict) -> dict[str, Any]:
    """The accounts with a profile that a Contact change concerns: the profiles that list
    one of `contact_ids` (a lookup entry each) and `account_id` (the Account the event
    named, for a Contact that is new there). Reads only the profile store."""
    store = services().profiles
    accounts = {
        profile.sf_account_id
        for contact in payload["contact_ids"]
        for profile in store.find(LookupKind.SF_CONTACT, contact)
    }
    named = store.get(payload["account_id"]) if payload.get("account_id") else None
    if named is not None:
        accounts.add(named.sf_account_id)
    return {"account_ids": sorted(accounts)}


@bp.activity_trigger(input_name="payload")
def profile_refresh_people(payload: dict) -> dict[str, Any]:
    """Read the Account with its Contacts (one Salesforce call, more past 200 Contacts) and
    write its people into the profile; `gone` names Contacts that left it (deleted, moved)."""
    read_at = datetime.now(UTC)
    account = services().salesforce.get_account_with_contacts(payload["account_id"])
    if account is None:
        reason = "the Account is not in Salesforce (deleted): its update marks the profile"
        return {"sf_account_id": payload["account_id"], "refreshed": False, "reason": reason}
    return refresh_people(account, read_at=read_at, gone=payload.get("gone", []))
