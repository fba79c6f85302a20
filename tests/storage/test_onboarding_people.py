"""An onboarding's profile write follows the people refresh's rule, in every profile store: a
write whose read of the Account began earlier than the read that wrote the stored people
changes nothing of them (crosswalk/people_refresh.py, crosswalk/whole_profile.py)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from crosswalk.mapping import plan_onboarding
from crosswalk.models import ProfileStatus
from crosswalk.onboarding import onboarded_profile
from crosswalk.people import LinkState, SourceSystem
from crosswalk.people_refresh import refresh_people, write_onboarded
from crosswalk.profiles.base import ProfileStore
from crosswalk.salesforce_records import SalesforceAccount
from crosswalk.services import services
from crosswalk.settings import OnboardingSettings, current_settings

PAYLOAD = Path(__file__).parent.parent / "payloads" / "account_with_contacts.json"
ACCOUNT = "001RM000004UF9sYAG"
GRACE, ADA = "0039000000AbCdEAAV", "0039000000XyZabAAF"  # Ada is the primary Contact
NEW = "0039000000NeWabAAF"  # a Contact added in Salesforce after the onboarding's read
EARLIER = datetime(2024, 5, 2, 8, 0, 5, tzinfo=UTC)
LATER = EARLIER + timedelta(minutes=3)


@pytest.fixture(autouse=True)
def _settings(monkeypatch: pytest.MonkeyPatch, minimal_env: dict[str, str]):
    """The settings the write reads (the consent owner, no erasure key); the store is the
    test's own."""
    for name, value in minimal_env.items():
        monkeypatch.setenv(name, value)
    services.cache_clear()
    current_settings.cache_clear()
    yield
    services.cache_clear()
    current_settings.cache_clear()


def _account(*, without: str | None = None, extra: bool = False) -> SalesforceAccount:
    raw: dict[str, Any] = json.loads(PAYLOAD.read_text())
    records = [c for c in raw["Contacts"]["records"] if c["Id"] != without]
    if extra:
        records.append(
            {
                "Id": NEW,
                "AccountId": ACCOUNT,
                "LastName": "Neu",
                "Email": "neu@acme.example",
                "HasOptedOutOfEmail": False,
            }
        )
    raw["Contacts"] = {"totalSize": len(records), "done": True, "records": records}
    return SalesforceAccount.model_validate(raw)


def _onboarded(account: SalesforceAccount, read_at: datetime):
    plan = plan_onboarding(account, OnboardingSettings())
    return onboarded_profile(
        account,
        plan,
        customer_id="cus_00000001",
        user_id="usr_00000001",
        invited=True,
        at=LATER + timedelta(minutes=1),
        read_at=read_at,
    )


def _failed_record(store: ProfileStore) -> None:
    """An earlier onboarding of the account failed: its failure record is the profile."""
    from crosswalk.models import UnifiedProfile

    store.upsert(
        UnifiedProfile(
            sf_account_id=ACCOUNT,
            name="Acme GmbH",
            status=ProfileStatus.FAILED,
            failure={"kind": "transient", "detail": "D2C was down"},
        )
    )


def _people(store: ProfileStore) -> dict[str, Any]:
    stored = store.get(ACCOUNT)
    assert stored is not None
    return {p.sf_contact_id: p for p in stored.contacts}


def test_an_onboarding_that_read_before_a_contact_change_refresh_keeps_the_refreshed_people(
    store: ProfileStore,
):
    _failed_record(store)
    # a Contact change: Grace deleted, a new Contact added; its refresh read at LATER
    refreshed = refresh_people(_account(without=GRACE, extra=True), read_at=LATER, store=store)
    onboarding = _onboarded(_account(), read_at=EARLIER)  # it read the Account before that

    write_onboarded(store, onboarding, SourceSystem.SALESFORCE)

    stored = store.get(ACCOUNT)
    people = _people(store)
    assert refreshed["refreshed"] is True
    assert set(people) == {ADA, NEW}  # Grace stays gone, the new Contact stays
    assert stored.people_read_at == LATER
    assert stored.status is ProfileStatus.ACTIVE and stored.d2c_customer_id == "cus_00000001"
    assert stored.d2c_primary_user_id == "usr_00000001"
    ada = people[ADA]  # the link the onboarding made is carried onto the refreshed Contact
    assert ada.d2c_user_id == "usr_00000001" and ada.primary and ada.link_state is LinkState.INVITED


def test_an_onboarding_whose_read_is_the_newer_writes_its_people_and_notes_the_read(
    store: ProfileStore,
):
    _failed_record(store)
    refresh_people(_account(without=GRACE, extra=True), read_at=EARLIER, store=store)

    write_onboarded(store, _onboarded(_account(), read_at=LATER), SourceSystem.SALESFORCE)

    stored = store.get(ACCOUNT)
    assert set(_people(store)) == {GRACE, ADA}  # as the onboarding read them
    assert stored.people_read_at == LATER


def test_a_refresh_that_began_before_the_onboardings_read_changes_nothing(store: ProfileStore):
    write_onboarded(store, _onboarded(_account(), read_at=LATER), SourceSystem.SALESFORCE)
    before = store.get(ACCOUNT)

    late = refresh_people(_account(without=GRACE), read_at=EARLIER, store=store)

    after = store.get(ACCOUNT)
    assert late["refreshed"] is False
    assert after.contacts == before.contacts and after.etag == before.etag
    assert after.people_read_at == LATER
