"""Salesforce Contact changes reach the unified profile's people (devhost + sandbox): a
Contact added, edited and deleted in Salesforce; a Contact changed while its events were lost,
picked up by the next account update; a Contact of an account Crosswalk does not sync costing
no call; an erased person never brought back by a later edit of their anonymised Contact."""

from __future__ import annotations

import json

import pytest

from crosswalk.profiles.base import LookupKind
from tests.e2e.sync import SF_EVENTS, calls, instances, onboarded, plain_accounts, settle

pytestmark = pytest.mark.slow


def _person(stack, account_id: str, contact_id: str):
    found = [p for p in stack.profiles().get(account_id).contacts if p.sf_contact_id == contact_id]
    return found[0] if found else None


def test_a_contact_added_edited_and_deleted_in_salesforce_follows_into_the_profile(
    stack_factory,
):
    stack = stack_factory(seed=12)
    (account,) = onboarded(stack, 1)
    domain = stack.profiles().get(account["Id"]).email_domain
    before = len(stack.profiles().get(account["Id"]).contacts)

    contact_id = stack.sb.salesforce_create(
        "Contact",
        {"AccountId": account["Id"], "LastName": "Neu", "Email": f"neu@{domain}"},
    )
    settle(stack)
    added = _person(stack, account["Id"], contact_id)

    stack.sb.salesforce_edit(
        "Contact",
        contact_id,
        {"Email": f"neu.berg@{domain}", "Phone": "+49 30 999", "HasOptedOutOfEmail": True},
    )
    settle(stack)
    edited = _person(stack, account["Id"], contact_id)
    modified = stack.sb.salesforce_record("Contact", contact_id)["LastModifiedDate"]

    stack.sb.salesforce_delete("Contact", contact_id)
    settle(stack)
    after = stack.profiles().get(account["Id"])

    assert added is not None and added.email == f"neu@{domain}" and added.origin == "salesforce"
    assert added.consent.marketing is True and added.consent.source == "salesforce"
    assert edited.email == f"neu.berg@{domain}" and edited.phone == "+49 30 999"
    assert edited.consent.marketing is False and edited.consent.source == "salesforce"
    assert edited.consent.at.isoformat()[:19] == modified[:19]  # the Contact's own time
    assert len(after.contacts) == before
    assert stack.profiles().find(LookupKind.SF_CONTACT, contact_id) == []
    assert stack.profiles().find_by_email(f"neu.berg@{domain}") == []
    outcomes = [i["output"]["outcome"] for i in instances(stack, f"contact-{contact_id}")]
    assert outcomes.count("refreshed") == 3, outcomes


def test_a_contact_of_an_account_crosswalk_does_not_sync_costs_no_call(stack_factory):
    stack = stack_factory(seed=12)
    onboarded(stack, 1)
    other = plain_accounts(stack)[0]  # qualifies, but nobody onboarded it
    spent = calls(stack)

    contact_id = stack.sb.salesforce_create(
        "Contact", {"AccountId": other["Id"], "LastName": "Fremd", "Email": "f@fremd.example"}
    )
    settle(stack)

    (change,) = instances(stack, f"contact-{contact_id}")
    assert change["output"]["outcome"] == "not_synced"
    assert calls(stack)["salesforce"] == spent["salesforce"]  # the create is not an API call


def test_a_contact_change_whose_event_was_lost_is_picked_up_by_the_next_account_update(
    stack_factory,
):
    stack = stack_factory(seed=12)
    (account,) = onboarded(stack, 1)
    (first, *_) = [
        p for p in stack.profiles().get(account["Id"]).contacts if p.origin == "salesforce"
    ]
    stack.sb.set_events_to(salesforce="")  # Contact events lost (e.g. CDC not selected)
    stack.sb.salesforce_edit("Contact", first.sf_contact_id, {"Phone": "+49 40 123"})
    stack.sb.set_events_to(salesforce=f"{stack.host.url}{SF_EVENTS}")
    assert _person(stack, account["Id"], first.sf_contact_id).phone != "+49 40 123"

    stack.sb.salesforce_edit("Account", account["Id"], {"Name": "Umbenannt GmbH"})
    settle(stack)

    profile = stack.profiles().get(account["Id"])
    assert profile.name == "Umbenannt GmbH"
    assert _person(stack, account["Id"], first.sf_contact_id).phone == "+49 40 123"


def test_an_erased_contact_is_not_brought_back_by_later_edits_of_its_anonymised_record(
    stack_factory,
):
    from tests.support.stack import easy_auth_principal

    stack = stack_factory(seed=12)
    (account,) = onboarded(stack, 1)
    person = next(p for p in stack.profiles().get(account["Id"]).contacts if p.email)
    response = stack.host.post(
        "/api/support/erasures",
        json={"email": person.email, "reason": "ticket 4712"},
        headers=easy_auth_principal("lee@support", "Support.Approve"),
    )
    assert response.status == 202, response.text
    erased = stack.host.wait_for(response.json()["instanceId"], timeout=60)
    assert erased["output"]["outcome"] == "erased", erased
    settle(stack)
    # the onboarding read them with the Account: its history is purged, named in the receipt
    task_hub = erased["output"]["receipt"]["steps"]["task_hub"]
    assert any(i.startswith(f"onboard-{account['Id']}-") for i in task_hub["purged"])
    assert instances(stack, f"onboard-{account['Id']}-") == []
    assert person.email not in json.dumps(erased["output"]).lower()

    # sales edits the anonymised Contact, then the Account: both refresh the people
    stack.sb.salesforce_edit("Contact", person.sf_contact_id, {"Phone": "+49 89 1"})
    stack.sb.salesforce_edit("Account", account["Id"], {"Name": "Danach GmbH"})
    settle(stack)

    profile = stack.profiles().get(account["Id"])
    assert profile.name == "Danach GmbH"
    assert _person(stack, account["Id"], person.sf_contact_id) is None
    assert stack.sb.salesforce_record("Contact", person.sf_contact_id)["LastName"] == "Erased"
    changes = instances(stack, f"contact-{person.sf_contact_id}")
    assert changes and all(c["output"]["outcome"] != "failed" for c in changes)


def test_a_reconciliation_repair_of_the_profile_keeps_todays_people_and_no_erased_one(
    stack_factory,
):
    from datetime import UTC, datetime

    from crosswalk.erasure.keys import Person, tombstones
    from tests.e2e.drift import run_reconciliation

    stack = stack_factory(seed=12)
    (account,) = onboarded(stack, 1)
    store = stack.profiles()
    profile = store.get(account["Id"])
    erased = next(p for p in profile.contacts if p.email)
    key = stack.env["ERASURE_KEY"].encode()
    store.put_tombstones(tombstones(key, Person(email=erased.email)), datetime.now(UTC))
    store.upsert(profile.model_copy(update={"name": "Drifted Name"}), if_match=profile.etag)

    run_reconciliation(stack.host)

    repaired = stack.profiles().get(account["Id"])
    assert repaired.name == account["Name"]  # the repair wrote the profile
    assert erased.sf_contact_id not in {p.sf_contact_id for p in repaired.contacts}
    assert len(repaired.contacts) == len(profile.contacts) - 1
