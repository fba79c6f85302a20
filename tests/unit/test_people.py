"""The people of a profile: who is the same person, and which consent stands."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from crosswalk.people import (
    Consent,
    LinkState,
    Origin,
    ProfileContact,
    SourceSystem,
    merge_person,
    newer_consent,
)
from crosswalk.whole_profile import merge_people

T0 = datetime(2026, 1, 1, tzinfo=UTC)
D2C, SF = SourceSystem.D2C, SourceSystem.SALESFORCE


def _consent(marketing: bool, source: SourceSystem, minutes: int) -> Consent:
    return Consent(marketing=marketing, source=source, at=T0 + timedelta(minutes=minutes))


def test_the_owners_value_wins_over_a_newer_value_from_the_other_system() -> None:
    owner_says = _consent(True, D2C, 0)
    other_says = _consent(False, SF, 10)

    assert newer_consent(owner_says, other_says, D2C) == owner_says
    assert newer_consent(other_says, owner_says, D2C) == owner_says


def test_between_two_values_of_the_owner_the_newer_wins_even_when_it_arrives_first() -> None:
    older, newer = _consent(True, D2C, 0), _consent(False, D2C, 5)

    assert newer_consent(older, newer, D2C) == newer
    assert newer_consent(newer, older, D2C) == newer


def test_a_consent_only_update_keeps_what_else_is_known_of_the_person() -> None:
    stored = ProfileContact(
        sf_contact_id="003000000000001",
        d2c_user_id="usr_Abcdefgh01",
        email="jane@acme.example",
        origin=Origin.STOREFRONT,
        link_state=LinkState.LINKED,
        consent=_consent(True, D2C, 0),
    )
    update = ProfileContact.model_validate(
        {"d2c_user_id": "usr_Abcdefgh01", "consent": _consent(False, D2C, 1).model_dump()}
    )

    (merged,) = merge_person([stored], update, D2C)

    assert merged.consent is not None and merged.consent.marketing is False
    assert merged.origin is Origin.STOREFRONT and merged.link_state is LinkState.LINKED
    assert merged.sf_contact_id == stored.sf_contact_id


def test_a_full_account_read_keeps_sign_ups_and_drops_contacts_salesforce_no_lists() -> None:
    signup = ProfileContact(email="new@acme.example", origin=Origin.STOREFRONT)
    gone = ProfileContact(sf_contact_id="003000000000002", email="gone@acme.example")
    kept = ProfileContact(sf_contact_id="003000000000003", email="ana@acme.example")

    people = merge_people([signup, gone, kept], [kept.model_copy(update={"phone": "1"})], D2C)

    assert [p.email for p in people] == ["ana@acme.example", "new@acme.example"]
    assert people[0].phone == "1"


# ---------------------------------------------------------------- a fresh read of the Account


def _account(*contacts: dict, modstamp: int = 0):
    from crosswalk.salesforce_records import SalesforceAccount

    return SalesforceAccount.model_validate(
        {
            "Id": "001000000000001",
            "Name": "Acme GmbH",
            "SystemModstamp": (T0 + timedelta(minutes=modstamp)).isoformat(),
            "Contacts": {"totalSize": len(contacts), "done": True, "records": list(contacts)},
        }
    )


def _profile(*people: ProfileContact, user: str | None = None):
    from crosswalk.models import UnifiedProfile

    return UnifiedProfile(
        sf_account_id="001000000000001", name="Acme", d2c_primary_user_id=user, contacts=people
    )


def test_a_read_takes_each_contacts_new_values_and_its_own_modification_time_for_consent():
    from crosswalk.whole_profile import people_after_read

    stored = ProfileContact(
        sf_contact_id="003000000000001",
        email="ana@acme.example",
        primary=True,
        consent=_consent(True, SF, 0),
    )
    edited = {
        "Id": "003000000000001",
        "LastName": "Berg",
        "Email": "ana.berg@acme.example",
        "MobilePhone": "+49 30 1",
        "HasOptedOutOfEmail": True,
        "LastModifiedDate": (T0 + timedelta(minutes=30)).isoformat(),
    }

    (person,) = people_after_read(_profile(stored), _account(edited, modstamp=5), D2C)

    assert person.email == "ana.berg@acme.example" and person.phone == "+49 30 1"
    assert person.primary is True  # the profile's primary, as long as it is listed
    assert person.consent == _consent(False, SF, 30)


def test_a_contact_gone_from_the_account_leaves_even_when_it_was_a_sign_up():
    from crosswalk.whole_profile import people_after_read

    signup = ProfileContact(
        sf_contact_id="003000000000002",
        d2c_user_id="usr_Abcdefgh02",
        email="sam@acme.example",
        origin=Origin.STOREFRONT,
        link_state=LinkState.LINKED,
    )
    other = ProfileContact(email="new@acme.example", origin=Origin.STOREFRONT)

    people = people_after_read(
        _profile(signup, other), _account(), D2C, gone={"003000000000002AAA"}
    )

    assert [p.email for p in people] == ["new@acme.example"]


def test_the_primary_keeps_the_d2c_user_only_while_it_is_the_same_contact():
    from crosswalk.whole_profile import people_after_read

    was = ProfileContact(
        sf_contact_id="003000000000001",
        d2c_user_id="usr_Primary0001",
        primary=True,
        link_state=LinkState.INVITED,
    )
    first = {"Id": "003000000000001", "LastName": "One", "D2C_User_Id__c": "usr_Primary0001"}
    flagged = {"Id": "003000000000002", "LastName": "Two", "Primary_Contact__c": True}

    same = people_after_read(_profile(was, user="usr_Primary0001"), _account(first), D2C)
    moved = people_after_read(_profile(was, user="usr_Primary0001"), _account(first, flagged), D2C)

    assert same[0].primary and same[0].link_state is LinkState.INVITED
    by_id = {p.sf_contact_id: p for p in moved}
    assert by_id["003000000000002AAA"].primary and by_id["003000000000002AAA"].d2c_user_id is None
    assert by_id["003000000000001AAA"].primary is False
    assert by_id["003000000000001AAA"].link_state is LinkState.LINKED
