"""The whole unified profile end to end: every Contact of an onboarded account and every
storefront sign-up linked to it, each with their consent, in the profile store, the profile
API's view, the curated tables and the support API the console draws."""

from __future__ import annotations

import pytest

from crosswalk.lake.curated import ProfileTable
from crosswalk.profile_api.view import profile_view
from crosswalk.settings import LakeKind, LakeSettings
from tests.e2e.sync import onboarded, plain_accounts, settle, wire_d2c_events
from tests.support.stack import easy_auth_principal

pytestmark = pytest.mark.slow


def _account_with_three_contacts(stack) -> dict:
    account = plain_accounts(stack)[0]
    contacts = [
        r for r in stack.sb.salesforce_records("Contact") if r["AccountId"] == account["Id"]
    ]
    for n in range(len(contacts), 3):
        stack.sb.salesforce_create(
            "Contact",
            {
                "AccountId": account["Id"],
                "LastName": f"Extra {n}",
                "FirstName": "Sam",
                "Email": f"sam{n}@extra-{n}.example",
                "Phone": f"+49 30 55{n}",
                "HasOptedOutOfEmail": n % 2 == 0,
            },
        )
    return account


def test_an_account_with_three_contacts_and_a_sign_up_shows_four_people_with_consent(
    stack_factory,
):
    stack = wire_d2c_events(stack_factory(seed=12))
    account = _account_with_three_contacts(stack)
    (synced,) = onboarded(stack, 1)
    assert synced["Id"] == account["Id"]
    domain = stack.profiles().get(account["Id"]).email_domain
    customer = stack.sb.d2c_register(
        email=f"jane.doe@{domain}", last_name="Doe", first_name="Jane", marketing_consent=True
    )
    (user,) = stack.sb.d2c_users(customer["id"])
    settle(stack)

    profile = stack.profiles().get(account["Id"])
    people = profile.contacts
    assert len(people) == 4
    assert sum(p.primary for p in people) == 1
    sales = [p for p in people if p.origin == "salesforce"]
    assert len(sales) == 3 and all(p.sf_contact_id and p.consent for p in sales)
    assert all(p.consent.source == "salesforce" for p in sales)
    (signup,) = [p for p in people if p.origin == "storefront"]
    assert signup.d2c_user_id == user["id"] and signup.email == f"jane.doe@{domain}"
    assert signup.link_state == "linked" and signup.sf_contact_id is not None
    assert signup.consent.marketing is True and signup.consent.source == "d2c"

    view = profile_view(profile).model_dump(mode="json")
    assert len(view["people"]) == 4
    assert stack.profiles().find_by_email(f"JANE.DOE@{domain}")[0].sf_account_id == account["Id"]

    settings = LakeSettings.model_validate({"kind": LakeKind.FOLDER, "folder": stack.data / "lake"})
    table = ProfileTable.from_settings(settings)
    table.refresh(stack.profiles())
    rows = table.people.rows()
    assert len(rows) == 4
    assert {r["consent_source"] for r in rows} == {"salesforce", "d2c"}

    record = stack.host.get(
        f"/api/support/records/{account['Id']}",
        headers=easy_auth_principal("kim@support", "Support.Read"),
    ).json()
    assert len(record["profile"]["contacts"]) == 4
    assert all("***" in p["email"] for p in record["profile"]["contacts"])  # masked for Read


def test_a_consent_withdrawn_on_the_storefront_reaches_salesforce_and_the_profile(stack_factory):
    stack = wire_d2c_events(stack_factory(seed=12))
    (account,) = onboarded(stack, 1)
    domain = stack.profiles().get(account["Id"]).email_domain
    customer = stack.sb.d2c_register(
        email=f"jane.doe@{domain}", last_name="Doe", first_name="Jane", marketing_consent=True
    )
    settle(stack)

    stack.sb.d2c_edit(customer["id"], {"marketing_consent": False})
    settle(stack)

    (contact,) = [
        r for r in stack.sb.salesforce_records("Contact") if r["Email"] == f"jane.doe@{domain}"
    ]
    assert contact["HasOptedOutOfEmail"] is True
    (signup,) = [
        p for p in stack.profiles().get(account["Id"]).contacts if p.origin == "storefront"
    ]
    assert signup.consent.marketing is False and signup.consent.source == "d2c"


def test_the_curated_tables_appear_and_follow_edits_without_anyone_running_a_command(
    stack_factory,
):
    stack = wire_d2c_events(
        stack_factory(seed=12, time_skipping=False, CURATED_REFRESH_SCHEDULE="*/1 * * * * *")
    )
    (account,) = onboarded(stack, 1)
    settings = LakeSettings.model_validate({"kind": LakeKind.FOLDER, "folder": stack.data / "lake"})
    table = ProfileTable.from_settings(settings)

    first = _eventually(lambda: table.read().get(account["Id"]))
    stack.sb.salesforce_edit("Account", account["Id"], {"Name": "Renamed By Sales GmbH"})
    renamed = _eventually(
        lambda: (row := table.read().get(account["Id"])) and row.name == "Renamed By Sales GmbH"
    )

    assert first.contacts and renamed


def _eventually(probe, timeout: float = 30):
    import time

    deadline = time.monotonic() + timeout
    while True:
        try:
            found = probe()
        except Exception:  # a refresh committing while we read: read again
            found = None
        if found:
            return found
        assert time.monotonic() < deadline, "the curated table never caught up"
        time.sleep(0.2)
