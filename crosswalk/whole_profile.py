"""Building the people of a unified profile from what each flow has at hand: the Account read
from Salesforce (onboarding, reconciliation), a storefront sign-up linked as a Contact, a
consent change on either side. Plain functions, so orchestrators may call them too."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from crosswalk.d2c_models import Customer, D2CUser
from crosswalk.models import UnifiedProfile
from crosswalk.people import (
    Consent,
    LinkState,
    Origin,
    ProfileContact,
    SourceSystem,
    merge_person,
)
from crosswalk.salesforce_records import SalesforceAccount, SalesforceContact


def contact_person(
    contact: SalesforceContact,
    *,
    at: datetime | None,
    primary_contact_id: str | None = None,
    primary_user_id: str | None = None,
    invited: bool = False,
) -> ProfileContact:
    """A Contact as a person of the profile; consent from `HasOptedOutOfEmail` as of the
    Contact's own `LastModifiedDate` when the read carried it, else `at`."""
    is_primary = contact.Id == primary_contact_id
    user_id = contact.D2C_User_Id__c or (primary_user_id if is_primary else None)
    if user_id is None:
        state = LinkState.SALESFORCE_ONLY
    else:
        state = LinkState.INVITED if invited and is_primary else LinkState.LINKED
    consent = None
    if contact.HasOptedOutOfEmail is not None:
        consent = Consent(
            marketing=not contact.HasOptedOutOfEmail,
            source=SourceSystem.SALESFORCE,
            at=contact.LastModifiedDate or at,
        )
    return ProfileContact(
        sf_contact_id=contact.Id,
        d2c_user_id=user_id,
        first_name=contact.FirstName,
        last_name=contact.LastName,
        email=contact.Email,
        phone=contact.Phone or contact.MobilePhone,
        primary=is_primary or bool(contact.Primary_Contact__c),
        origin=Origin.SALESFORCE,
        link_state=state,
        consent=consent,
    )


def people_of_account(
    account: SalesforceAccount,
    *,
    primary_contact_id: str | None = None,
    primary_user_id: str | None = None,
    invited: bool = False,
) -> list[ProfileContact]:
    """Every Contact of the Account, as of its `SystemModstamp`."""
    return [
        contact_person(
            contact,
            at=account.SystemModstamp,
            primary_contact_id=primary_contact_id,
            primary_user_id=primary_user_id,
            invited=invited,
        )
        for contact in account.Contacts
    ]


def signup_person(
    user: D2CUser, customer: Customer, *, contact_id: str | None, lead_id: str | None = None
) -> ProfileContact:
    """A storefront sign-up linked to a Contact (or Lead): consent as the storefront has it."""
    return ProfileContact(
        sf_contact_id=contact_id,
        sf_lead_id=lead_id,
        d2c_user_id=user.id,
        d2c_customer_id=customer.id,
        first_name=user.first_name,
        last_name=user.last_name,
        email=user.email,
        phone=user.phone or customer.phone,
        origin=Origin.STOREFRONT,
        link_state=LinkState.LINKED,
        consent=storefront_consent(customer),
    )


def storefront_consent(customer: Customer) -> Consent:
    return Consent(
        marketing=customer.marketing_consent, source=SourceSystem.D2C, at=customer.updated_at
    )


def merge_people(
    stored: list[ProfileContact], incoming: list[ProfileContact], owner: SourceSystem | str
) -> list[ProfileContact]:
    """The people after a full read of the Account: its Contacts as Salesforce lists them
    (merged with what is known of each, consent by `newer_consent`), then every storefront
    sign-up the read did not list (a sign-up is only dropped by erasure)."""
    people: list[ProfileContact] = []
    for person in incoming:
        known = [p for p in stored if p.same_person(person)]
        people.append(merge_person(known[:1], person, owner)[0])
    for person in stored:
        if person.origin is Origin.STOREFRONT and not any(p.same_person(person) for p in people):
            people.append(person)
    return people


def people_after_read(
    profile: UnifiedProfile,
    account: SalesforceAccount,
    owner: SourceSystem | str,
    *,
    gone: Collection[str] = (),
) -> list[ProfileContact]:
    """The profile's people after a fresh read of the Account with its Contacts.

    Each Contact's role, e-mail, phone and D2C user id as Salesforce has them now, merged
    with what the profile knows (consent by the owner rule, then the newer). The primary is
    the Contact flagged `Primary_Contact__c`, else the one the profile had; it keeps the
    account's D2C primary user (and `invited`) only while it is the same Contact. Contacts
    `gone` (deleted, or moved to another Account) leave whatever their origin; other
    storefront sign-ups stay, as `merge_people` keeps them.
    """
    listed = {contact.Id for contact in account.Contacts}
    was = next(
        (p for p in profile.contacts if p.primary and p.sf_contact_id in listed),
        None,
    )
    flagged = next((c.Id for c in account.Contacts if c.Primary_Contact__c), None)
    primary = flagged or (was.sf_contact_id if was else None)
    same = was is not None and was.sf_contact_id == primary
    incoming = [
        contact_person(
            contact,
            at=account.SystemModstamp,
            primary_contact_id=primary,
            primary_user_id=profile.d2c_primary_user_id if same else None,
            invited=same and was is not None and was.link_state is LinkState.INVITED,
        )
        for contact in account.Contacts
    ]
    left = set(gone) - listed
    kept = [p for p in profile.contacts if p.sf_contact_id not in left]
    return [_link_state(p) for p in merge_people(kept, incoming, owner)]


def read_is_older(stored: datetime | None, read_at: datetime | None) -> bool:
    """Did the people stored come from a read that began at or after `read_at`? Then a write
    of the people `read_at`'s read found changes nothing of them. A read of unknown time (an
    input from before reads were timed) counts as older than any timed one."""
    return stored is not None and (read_at is None or stored >= read_at)


def onboarded_people(
    current: UnifiedProfile, onboarded: UnifiedProfile, owner: SourceSystem | str
) -> UnifiedProfile:
    """An onboarding's profile written over the stored one, people by `people_read_at`.

    The onboarding's read is the newer one (or the stored people are of unknown time): its
    Contacts, merged as `merge_people` merges (sign-ups and the owner's newer consent kept).
    A later read (a Contact change's refresh) already wrote the people: they stand, and the
    onboarding adds only the link it made itself, its D2C primary user on the primary
    Contact, to that Contact if the later read still lists it.
    """
    if not read_is_older(current.people_read_at, onboarded.people_read_at):
        people = merge_people(current.contacts, onboarded.contacts, owner)
        return onboarded.model_copy(update={"contacts": people})
    made = next(
        (
            p
            for p in onboarded.contacts
            if p.primary and p.sf_contact_id and p.d2c_user_id == onboarded.d2c_primary_user_id
        ),
        None,
    )
    people = [
        _linked(p, made) if made and p.sf_contact_id == made.sf_contact_id else p
        for p in current.contacts
    ]
    return onboarded.model_copy(
        update={"contacts": people, "people_read_at": current.people_read_at}
    )


def _linked(stored: ProfileContact, made: ProfileContact) -> ProfileContact:
    if stored.d2c_user_id:
        return stored
    link = {"d2c_user_id": made.d2c_user_id, "link_state": made.link_state, "primary": True}
    return stored.model_copy(update=link)


def _link_state(person: ProfileContact) -> ProfileContact:
    """A person the storefront knows (a D2C user id) is not `salesforce_only`."""
    if person.d2c_user_id and person.link_state is LinkState.SALESFORCE_ONLY:
        return person.model_copy(update={"link_state": LinkState.LINKED})
    return person
