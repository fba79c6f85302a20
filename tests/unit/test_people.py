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
