"""The storefront's view of a unified profile: the company, both systems' ids, every person
with their consent, and the sync state; nothing Salesforce-internal beyond the ids (no
approval notes, no failure details: those are for support staff)."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from crosswalk.models import ProfileStatus, UnifiedProfile, utc_iso
from crosswalk.people import LinkState, Origin, ProfileContact, SourceSystem


class PrimaryContact(BaseModel):
    email: str | None = None
    d2c_user_id: str | None = None


class ConsentView(BaseModel):
    marketing: bool = Field(description="true: may be sent marketing; false: withdrawn")
    source: SourceSystem = Field(description="the system the value came from")
    at: str | None = Field(description="when it was given or withdrawn (RFC 3339)")


class PersonView(BaseModel):
    """One person of the customer: a Contact of the Account or a linked storefront sign-up."""

    salesforce_contact_id: str | None
    salesforce_lead_id: str | None
    d2c_user_id: str | None
    first_name: str | None
    last_name: str | None
    email: str | None
    phone: str | None
    primary: bool = Field(description="the customer's primary contact")
    origin: Origin = Field(description="salesforce: a Contact; storefront: signed up and linked")
    link_state: LinkState
    consent: ConsentView | None = Field(description="marketing consent, when either system has it")


class ProfileView(BaseModel):
    """One customer as the D2C side sees it (snake_case, as the D2C API writes)."""

    salesforce_account_id: str = Field(description="18-character Salesforce Account Id")
    d2c_customer_id: str | None = Field(description="the D2C customer (organisation), if any")
    company_name: str
    country: str | None = Field(description="ISO 3166-1 alpha-2")
    email_domain: str | None
    primary_contact: PrimaryContact
    people: list[PersonView] = Field(description="every person of the customer")
    sync_status: ProfileStatus = Field(description="where the record stands in Crosswalk")
    last_synced_at: str | None = Field(description="when Crosswalk last synced it (RFC 3339)")
    updated_at: str | None = Field(description="when this profile last changed (RFC 3339)")


def profile_view(profile: UnifiedProfile) -> ProfileView:
    return ProfileView(
        salesforce_account_id=profile.sf_account_id,
        d2c_customer_id=profile.d2c_customer_id,
        company_name=profile.name,
        country=profile.country,
        email_domain=profile.email_domain,
        primary_contact=PrimaryContact(
            email=profile.primary_email, d2c_user_id=profile.d2c_primary_user_id
        ),
        people=[_person(p) for p in profile.contacts],
        sync_status=ProfileStatus(profile.status),
        last_synced_at=_iso(profile.updated_at),
        updated_at=_iso(profile.changed_at),
    )


def _person(person: ProfileContact) -> PersonView:
    consent = person.consent
    return PersonView(
        salesforce_contact_id=person.sf_contact_id,
        salesforce_lead_id=person.sf_lead_id,
        d2c_user_id=person.d2c_user_id,
        first_name=person.first_name,
        last_name=person.last_name,
        email=person.email,
        phone=person.phone,
        primary=person.primary,
        origin=person.origin,
        link_state=person.link_state,
        consent=None
        if consent is None
        else ConsentView(marketing=consent.marketing, source=consent.source, at=_iso(consent.at)),
    )


def view_text(view: dict[str, Any]) -> tuple[bytes, str]:
    """The view as canonical JSON (sorted keys, no spaces) and a strong ETag of those bytes:
    it changes exactly when what the caller sees does, and one serialisation serves both."""
    canonical = json.dumps(view, sort_keys=True, separators=(",", ":")).encode()
    return canonical, '"' + hashlib.sha256(canonical).hexdigest()[:32] + '"'


def matches_if_none_match(header: str | None, etag: str) -> bool:
    """RFC 9110 weak comparison: `*`, or any listed tag equal to `etag` ignoring `W/`."""
    if not header:
        return False
    if header.strip() == "*":
        return True
    bare = etag.removeprefix("W/")
    return any(tag.strip().removeprefix("W/") == bare for tag in header.split(","))


def _iso(moment: datetime | None) -> str | None:
    return utc_iso(moment) if moment is not None else None
