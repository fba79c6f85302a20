"""Flow 3 end to end: people who register on the storefront become Contacts of their company's
Salesforce account when the email domain matches a synced account, otherwise Leads."""

from __future__ import annotations

import pytest

from tests.e2e.sync import (
    D2C_EVENTS,
    calls,
    deliver,
    entity,
    instances,
    onboarded,
    settle,
    wire_d2c_events,
)

pytestmark = pytest.mark.slow
UPSERT_CONTACT = "PATCH /services/data/v59.0/sobjects/Contact/D2C_User_Id__c/{value}"


def _stack(stack_factory, **env: str):
    return wire_d2c_events(stack_factory(seed=12, **env))


def _by_user(stack, sobject: str, user_id: str) -> list[dict]:
    return [r for r in stack.sb.salesforce_records(sobject) if r["D2C_User_Id__c"] == user_id]


def _register(stack, email: str, **fields) -> tuple[dict, dict]:
    customer = stack.sb.d2c_register(email=email, last_name="Doe", first_name="Jane", **fields)
    (user,) = stack.sb.d2c_users(customer["id"])
    return customer, user


def test_a_sign_up_from_a_synced_company_domain_becomes_a_contact_of_that_account(stack_factory):
    stack = _stack(stack_factory)
    first, second = onboarded(stack, 2)
    domain = stack.profiles().get(second["Id"]).email_domain

    customer, user = _register(
        stack, f"jane.doe@{domain}", company_name="Second Co", phone="+49 30 1"
    )
    settle(stack)

    (contact,) = _by_user(stack, "Contact", user["id"])
    assert contact["AccountId"] == second["Id"] != first["Id"]
    assert contact["Email"] == f"jane.doe@{domain}" and contact["LastName"] == "Doe"
    assert contact["HasOptedOutOfEmail"] is True
    link = stack.sb.d2c_customer(customer["id"])["salesforce"]
    assert link == {"account_id": second["Id"], "contact_id": contact["Id"], "lead_id": None}
    state = entity(stack, "signup_link", customer["id"])
    assert state["status"] == "linked" and state["sf_id"] == contact["Id"]
    assert any(c["outcome"] == "echo" for c in state["changes"])  # the link write came back


@pytest.mark.parametrize("email", ["jane@gmail.com", "jane@unknown-company.example"])
def test_a_sign_up_that_matches_no_synced_account_becomes_a_lead(stack_factory, email):
    stack = _stack(stack_factory)
    onboarded(stack)

    customer, user = _register(stack, email)
    settle(stack)

    assert _by_user(stack, "Contact", user["id"]) == []
    (lead,) = _by_user(stack, "Lead", user["id"])
    assert lead["D2C_Customer_Id__c"] == customer["id"] and lead["Company"] == "Jane Doe"
    assert lead["LeadSource"] == "D2C Storefront"
    assert stack.sb.d2c_customer(customer["id"])["salesforce"]["lead_id"] == lead["Id"]


def test_a_free_mail_address_never_matches_even_an_account_using_that_domain(stack_factory):
    stack = _stack(stack_factory)
    (account,) = onboarded(stack)
    stack.sb.salesforce_edit("Account", account["Id"], {"Website": "https://www.gmail.com"})
    settle(stack)
    assert stack.profiles().get(account["Id"]).email_domain == "gmail.com"

    _, user = _register(stack, "jane@gmail.com")
    settle(stack)

    assert _by_user(stack, "Contact", user["id"]) == []
    assert len(_by_user(stack, "Lead", user["id"])) == 1


def test_unmatched_sign_ups_are_left_alone_when_the_setting_says_so(stack_factory):
    stack = _stack(stack_factory, SYNC_UNMATCHED_SIGNUPS="ignore")
    before = calls(stack)

    customer, user = _register(stack, "jane@gmail.com")
    settle(stack)

    assert _by_user(stack, "Lead", user["id"]) == []
    assert stack.sb.d2c_customer(customer["id"])["salesforce"]["lead_id"] is None
    assert entity(stack, "signup_link", customer["id"])["status"] == "unmatched"
    assert calls(stack) == before


def test_duplicate_registration_events_make_one_contact(stack_factory):
    stack = _stack(stack_factory)
    (account,) = onboarded(stack)
    domain = stack.profiles().get(account["Id"]).email_domain
    stack.sb.set_event_delivery(duplicate=1.0)

    customer, user = _register(stack, f"jane@{domain}", company_name="Dup Co")
    settle(stack)

    assert len(_by_user(stack, "Contact", user["id"])) == 1
    delivered = [
        e
        for e in stack.sb.events_delivered("d2c")
        if e["type"] == "customer.registered" and e["data"]["customer"]["id"] == customer["id"]
    ]
    assert len(delivered) == 2
    upserts = stack.sb.stats()["salesforce"]["calls"][UPSERT_CONTACT]
    assert upserts == 1
    (run,) = instances(stack, f"signup-{customer['id']}-registered")
    assert run["output"]["outcome"] == "linked"


def test_a_repeated_registration_event_from_another_delivery_is_a_duplicate(stack_factory):
    stack = _stack(stack_factory)
    customer, user = _register(stack, "jane@gmail.com")
    settle(stack)
    (event,) = [e for e in stack.sb.events_delivered("d2c") if e["type"] == "customer.registered"]

    replayed = {**event, "id": "replayed-by-hand"}
    deliver(stack, replayed, D2C_EVENTS)
    settle(stack)

    assert len(_by_user(stack, "Lead", user["id"])) == 1


@pytest.mark.parametrize(
    ("field", "value"),
    [("marketing_consent", "yes"), ("marketing_consent", 1), ("version", "2")],
)
def test_a_d2c_event_with_a_value_of_the_wrong_json_type_is_dead_lettered(
    stack_factory, field, value
):
    stack = _stack(stack_factory)
    customer, _ = _register(stack, "jane@gmail.com")
    settle(stack)
    (event,) = [e for e in stack.sb.events_delivered("d2c") if e["type"] == "customer.registered"]
    event = {**event, "id": f"wrong-type-{field}", "type": "customer.updated"}
    event["data"] = {
        **event["data"],
        "customer": {**event["data"]["customer"], field: value},
        "changed_fields": ["marketing_consent"],
        "origin": "storefront",
    }
    before = [i["instanceId"] for i in instances(stack, "signup-")]

    deliver(stack, event, D2C_EVENTS)  # accepted (202): a bad event is not Event Grid's to retry
    settle(stack)

    assert [i["instanceId"] for i in instances(stack, "signup-")] == before
    letters = list((stack.data / "lake" / "deadletter" / "d2c").rglob(f"{event['id']}.json"))
    assert len(letters) == 1


def test_a_storefront_edit_of_a_linked_sign_up_updates_its_contact(stack_factory):
    stack = _stack(stack_factory)
    (account,) = onboarded(stack)
    domain = stack.profiles().get(account["Id"]).email_domain
    customer, user = _register(stack, f"jane@{domain}", company_name="Edit Co")
    settle(stack)
    before = calls(stack)

    stack.sb.d2c_edit(customer["id"], {"phone": "+49 89 777", "marketing_consent": True})
    settle(stack)

    (contact,) = _by_user(stack, "Contact", user["id"])
    assert contact["Phone"] == "+49 89 777" and contact["HasOptedOutOfEmail"] is False
    spent = calls(stack)
    assert spent["salesforce"] - before["salesforce"] == 1 and spent["d2c"] == before["d2c"]


def test_a_sign_up_adopts_the_contact_salesforce_already_had_for_that_email(stack_factory):
    stack = _stack(stack_factory)
    (account,) = onboarded(stack)
    domain = stack.profiles().get(account["Id"]).email_domain
    email = f"jane.o'doe@{domain}"
    existing = stack.sb.salesforce_create(
        "Contact",
        {"AccountId": account["Id"], "LastName": "O'Doe", "Email": email.upper(), "Title": "CFO"},
    )

    customer, user = _register(stack, email, company_name="Adopt Co", phone="+49 30 9")
    settle(stack)

    contacts = [
        c for c in stack.sb.salesforce_records("Contact") if (c["Email"] or "").lower() == email
    ]
    assert [c["Id"] for c in contacts] == [existing]
    (contact,) = contacts
    assert contact["D2C_User_Id__c"] == user["id"]
    assert contact["LastName"] == "O'Doe" and contact["Title"] == "CFO"  # Salesforce's stay
    assert contact["FirstName"] == "Jane" and contact["Phone"] == "+49 30 9"  # gaps filled
    assert stack.sb.d2c_customer(customer["id"])["salesforce"]["contact_id"] == existing
    (run,) = instances(stack, f"signup-{customer['id']}-registered")
    assert "existed before the sign-up" in run["output"]["note"]


def test_a_contact_already_linked_to_another_d2c_user_is_not_taken_over(stack_factory):
    stack = _stack(stack_factory)
    (account,) = onboarded(stack)
    domain = stack.profiles().get(account["Id"]).email_domain
    taken = stack.sb.salesforce_create(
        "Contact",
        {
            "AccountId": account["Id"],
            "LastName": "Doe",
            "Email": f"jane@{domain}",
            "D2C_User_Id__c": "usr_someone_else",
        },
    )

    _, user = _register(stack, f"jane@{domain}", company_name="Twin Co")
    settle(stack)

    (contact,) = _by_user(stack, "Contact", user["id"])
    assert contact["Id"] != taken
    assert stack.sb.salesforce_record("Contact", taken)["D2C_User_Id__c"] == "usr_someone_else"


def test_a_sign_up_adopts_an_open_lead_with_its_email_but_never_a_converted_one(stack_factory):
    stack = _stack(stack_factory)
    onboarded(stack)
    fair = {"LastName": "Doe", "Company": "Trade Fair", "Email": "jane@gmail.com"}
    converted = stack.sb.salesforce_create("Lead", {**fair, "Company": "Old Deal"})
    stack.sb.salesforce_convert_lead(converted)
    open_lead = stack.sb.salesforce_create("Lead", fair)

    customer, user = _register(stack, "jane@gmail.com")
    settle(stack)

    (lead,) = _by_user(stack, "Lead", user["id"])
    assert lead["Id"] == open_lead and lead["Company"] == "Trade Fair"
    assert lead["D2C_Customer_Id__c"] == customer["id"]
    assert stack.sb.salesforce_record("Lead", converted)["D2C_User_Id__c"] is None


def test_a_storefront_edit_follows_a_lead_that_sales_converted_to_its_contact(stack_factory):
    stack = _stack(stack_factory)
    onboarded(stack)
    customer, user = _register(stack, "jane@gmail.com")
    settle(stack)
    (lead,) = _by_user(stack, "Lead", user["id"])
    made = stack.sb.salesforce_convert_lead(lead["Id"])
    settle(stack)

    stack.sb.d2c_edit(customer["id"], {"phone": "+49 89 1"})
    settle(stack)

    contact = stack.sb.salesforce_record("Contact", made["contactId"])
    assert contact["D2C_User_Id__c"] == user["id"] and contact["Phone"] == "+49 89 1"
    link = stack.sb.d2c_customer(customer["id"])["salesforce"]
    assert link == {"account_id": made["accountId"], "contact_id": contact["Id"], "lead_id": None}
    state = entity(stack, "signup_link", customer["id"])
    assert state["sobject"] == "Contact" and state["sf_id"] == contact["Id"]
    assert state["status"] == "linked" and state["account_id"] == made["accountId"]

    before = calls(stack)
    stack.sb.d2c_edit(customer["id"], {"phone": "+49 89 2"})
    settle(stack)

    assert stack.sb.salesforce_record("Contact", contact["Id"])["Phone"] == "+49 89 2"
    assert calls(stack)["salesforce"] - before["salesforce"] == 1
