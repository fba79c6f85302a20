"""The people of a unified profile: every Contact of the account and every storefront sign-up
linked to it, with the consent each of them gave, and which system said so when.

Consent follows the ownership rule of every synced field: the owning system's value wins
over the other's, and between two values of the same standing the newer one wins (an older
event arriving late never overwrites a newer answer).
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from crosswalk.ids import D2CCustomerId, D2CUserId, SalesforceContactId, SalesforceLeadId


class SourceSystem(StrEnum):
    SALESFORCE = "salesforce"
    D2C = "d2c"


class LinkState(StrEnum):
    """How far a person is joined up across the two systems."""

    LINKED = "linked"  # a Salesforce record and a D2C user, each knowing the other
    SALESFORCE_ONLY = "salesforce_only"  # a Contact with no storefront user (yet)
    INVITED = "invited"  # a D2C user invited for the Contact, not signed in yet


class Origin(StrEnum):
    SALESFORCE = "salesforce"  # a Contact of the Account
    STOREFRONT = "storefront"  # signed up on the storefront and linked to the Account


class Consent(BaseModel):
    """Marketing consent as one system last stated it."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    marketing: bool
    source: SourceSystem = Field(description="the system the value came from")
    at: AwareDatetime | None = Field(default=None, description="when it was given or withdrawn")


class ProfileContact(BaseModel):
    """One person of an account, as both systems know them."""

    model_config = ConfigDict(extra="ignore")

    sf_contact_id: SalesforceContactId | None = None
    sf_lead_id: SalesforceLeadId | None = None
    d2c_user_id: D2CUserId | None = None
    d2c_customer_id: D2CCustomerId | None = Field(
        default=None, description="a sign-up's own storefront customer (its signup_link key)"
    )
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    phone: str | None = None
    primary: bool = False
    origin: Origin = Origin.SALESFORCE
    link_state: LinkState = LinkState.SALESFORCE_ONLY
    consent: Consent | None = None

    def same_person(self, other: ProfileContact) -> bool:
        """The same record in either system, or (failing ids) the same e-mail address."""
        for field in ("sf_contact_id", "sf_lead_id", "d2c_user_id"):
            mine, theirs = getattr(self, field), getattr(other, field)
            if mine and theirs:
                return bool(mine == theirs)
        return bool(self.email and other.email and _fold(self.email) == _fold(other.email))


def newer_consent(
    current: Consent | None, incoming: Consent | None, owner: SourceSystem | str
) -> Consent | None:
    """The consent that stands: the owner's over the other system's, else the newer one."""
    if incoming is None:
        return current
    if current is None:
        return incoming
    owner = SourceSystem(owner)
    if (incoming.source is owner) != (current.source is owner):
        return incoming if incoming.source is owner else current
    if current.at is None or incoming.at is None:
        return incoming if incoming.at is not None or current.at is None else current
    return incoming if incoming.at >= current.at else current


def merge_person(
    people: list[ProfileContact], incoming: ProfileContact, owner: SourceSystem | str
) -> list[ProfileContact]:
    """`people` with `incoming` added, or merged into the entry for the same person.

    Fields `incoming` knows replace the stored ones; consent follows `newer_consent`.
    """
    merged: list[ProfileContact] = []
    placed = False
    for person in people:
        if placed or not person.same_person(incoming):
            merged.append(person)
            continue
        known = incoming.model_dump(exclude_unset=True, exclude_none=True, exclude={"consent"})
        if incoming.origin is Origin.SALESFORCE and person.origin is Origin.STOREFRONT:
            known.pop("origin", None)  # a sign-up stays a sign-up once Salesforce lists its Contact
        consent = newer_consent(person.consent, incoming.consent, owner)
        merged.append(person.model_copy(update={**known, "consent": consent}))
        placed = True
    if not placed:
        merged.append(incoming)
    return merged


def people_emails(people: list[ProfileContact]) -> set[str]:
    return {folded for p in people if (folded := _fold(p.email))}


def _fold(value: str | None) -> str | None:
    if value is None:
        return None
    return value.strip().lower() or None
