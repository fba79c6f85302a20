"""Flow 1 under failure: compensation in reverse order, transient faults retried, no duplicates."""

from __future__ import annotations

from typing import Any

import pytest

from scripts.localstack import WebhookSink, onboardable_accounts

pytestmark = pytest.mark.slow
DURABLE = "/runtime/webhooks/durabletask"


def _plain_accounts(stack) -> list[dict[str, Any]]:
    found = onboardable_accounts(stack.sb, needs_approval=False)
    assert found
    return found


def _customers_of(stack, account_id: str) -> list[dict[str, Any]]:
    return [c for c in stack.sb.d2c_customers() if c["external_ref"] == account_id]


def _contacts_of(stack, account_id: str) -> list[dict[str, Any]]:
    return [c for c in stack.sb.salesforce_records("Contact") if c["AccountId"] == account_id]


def _entity(stack, account_id: str) -> dict[str, Any]:
    return stack.host.get(f"{DURABLE}/entities/record_sync/{account_id}").json()


def _run(stack, account_id: str) -> dict[str, Any]:
    instance_id = stack.onboard(account_id)["id"]
    status = stack.host.wait_for(instance_id, timeout=60)
    assert status["runtimeStatus"] == "Completed", status
    return status


def test_permanent_invite_failure_undoes_the_organisation_and_leaves_salesforce_untouched(
    stack_factory,
):
    stack = stack_factory(seed=12)
    account = _plain_accounts(stack)[0]
    stack.sb.faults("d2c", path=r"/users$", method="POST", status=422)

    status = _run(stack, account["Id"])

    output = status["output"]
    assert output["outcome"] == "compensated", output
    assert output["error"]["step"] == "d2c_invite_user"
    assert output["error"]["kind"] == "permanent" and output["error"]["status"] == 422
    assert output["ledger"]["compensated"] == [{"step": "d2c_deactivate_customer"}]
    customers = _customers_of(stack, account["Id"])
    assert [c["status"] for c in customers] == ["deactivated"]
    profile = stack.profiles().get(account["Id"])
    assert profile is None or profile.status == "failed"
    assert profile is not None and profile.failure["step"] == "d2c_invite_user"
    after = stack.sb.salesforce_record("Account", account["Id"])
    assert after["D2C_Customer_Id__c"] is None
    assert after["SystemModstamp"] == account["SystemModstamp"]
    entity = _entity(stack, account["Id"])
    assert entity["status"] == "compensated"
    assert entity["last_error"]["step"] == "d2c_invite_user"
    assert status["customStatus"]["stage"] == "compensated"


def test_retrying_a_compensated_onboarding_brings_back_its_own_organisation(stack_factory):
    stack = stack_factory(seed=12)
    account = _plain_accounts(stack)[0]
    stack.sb.faults("d2c", path=r"/users$", method="POST", status=422, fail_next=1)
    assert _run(stack, account["Id"])["output"]["outcome"] == "compensated"
    (undone,) = _customers_of(stack, account["Id"])
    assert undone["deactivation_reason"].startswith("crosswalk: onboarding ")
    stack.sb.salesforce_edit("Account", account["Id"], {"Phone": "+49 30 2"})  # a new attempt

    output = _run(stack, account["Id"])["output"]

    assert output["outcome"] == "synced", output
    assert output["adopted_existing_customer"] and output["reactivated_customer"]
    (customer,) = _customers_of(stack, account["Id"])
    assert customer["id"] == undone["id"] == output["d2c_customer_id"]
    assert customer["status"] == "active" and customer["deactivation_reason"] is None
    assert _entity(stack, account["Id"])["status"] == "synced"


def test_a_reactivation_that_fails_is_undone_like_any_other_step(stack_factory):
    stack = stack_factory(seed=12)
    account = _plain_accounts(stack)[0]
    stack.sb.faults("d2c", path=r"/users$", method="POST", status=422, fail_next=1)
    _run(stack, account["Id"])
    stack.sb.faults("d2c", path=r"/reactivate$", method="POST", status=400)
    stack.sb.salesforce_edit("Account", account["Id"], {"Phone": "+49 30 4"})

    output = _run(stack, account["Id"])["output"]

    assert output["outcome"] == "compensated", output
    assert output["error"]["step"] == "d2c_reactivate_customer"
    assert output["ledger"]["compensated"] == [{"step": "d2c_deactivate_customer"}]
    assert [c["status"] for c in _customers_of(stack, account["Id"])] == ["deactivated"]


def test_an_organisation_someone_else_deactivated_is_not_revived(stack_factory):
    stack = stack_factory(seed=12)
    account = _plain_accounts(stack)[0]
    made = stack.sb.d2c_create_customer(
        {"kind": "business", "name": account["Name"], "external_ref": account["Id"]}
    )
    stack.sb.d2c_deactivate(made["id"], reason="fraud review")  # D2C staff, by hand

    output = _run(stack, account["Id"])["output"]

    assert output["outcome"] == "failed", output
    assert output["error"]["code"] == "customer-deactivated"
    assert [c["status"] for c in _customers_of(stack, account["Id"])] == ["deactivated"]


def test_an_undo_leaves_an_organisation_and_user_it_adopted_as_it_found_them(stack_factory):
    stack = stack_factory(seed=12)
    account = _plain_accounts(stack)[0]
    contact = next(c for c in _contacts_of(stack, account["Id"]) if c["Primary_Contact__c"])
    there = stack.sb.d2c_create_customer(  # made by hand in D2C before Crosswalk came
        {"kind": "business", "name": account["Name"], "external_ref": account["Id"]}
    )
    stack.sb.d2c_add_user(there["id"], {"email": contact["Email"], "last_name": "Known"})
    stack.sb.faults("salesforce", path=r"/composite/sobjects$", method="PATCH", status=400)

    output = _run(stack, account["Id"])["output"]

    assert output["outcome"] == "compensated", output
    assert [c["step"] for c in output["ledger"]["compensated"]] == ["profile_remove"]
    (customer,) = _customers_of(stack, account["Id"])
    assert customer["status"] == "active"
    assert [u["status"] for u in stack.sb.d2c_users(there["id"])] == ["invited"]


def test_salesforce_write_back_failure_undoes_d2c_and_the_profile(stack_factory):
    stack = stack_factory(seed=12)
    account = _plain_accounts(stack)[0]
    stack.sb.faults("salesforce", path=r"/composite/sobjects$", method="PATCH", status=400)

    output = _run(stack, account["Id"])["output"]

    assert output["outcome"] == "compensated", output
    assert output["error"]["step"] == "sf_write_back_d2c_ids"
    assert [c["step"] for c in output["ledger"]["compensated"]] == [
        "profile_remove",
        "d2c_remove_user",
        "d2c_deactivate_customer",
    ]
    customer = _customers_of(stack, account["Id"])[0]
    assert customer["status"] == "deactivated"
    assert [u["status"] for u in stack.sb.d2c_users(customer["id"])] == ["removed"]
    assert stack.profiles().get(account["Id"]).status == "failed"


def test_a_compensation_that_keeps_failing_ends_in_needs_attention_and_says_so(stack_factory):
    with WebhookSink() as chat:
        stack = stack_factory(seed=12, NOTIFY_WEBHOOK_URL=chat.url)
        account = _plain_accounts(stack)[0]
        stack.sb.faults("d2c", path=r"/users$", method="POST", status=422)
        stack.sb.faults("d2c", path=r"/deactivate$", method="POST", status=503)

        output = _run(stack, account["Id"])["output"]

    assert output["outcome"] == "needs_attention", output
    assert output["ledger"]["compensation_failed"][0]["step"] == "d2c_deactivate_customer"
    assert output["ledger"]["compensation_failed"][0]["attempts"] == 4
    assert _entity(stack, account["Id"])["status"] == "needs_attention"
    (message,) = [m for m in chat.received if m["crosswalk"]["kind"] != "support_digest"]
    assert message["crosswalk"]["kind"] == "needs_attention"
    assert message["crosswalk"]["accountId"] == account["Id"]


@pytest.mark.parametrize(
    ("service", "fault"),
    [
        ("d2c", {"path": r"/v1/customers$", "method": "POST", "status": 503, "fail_next": 2}),
        ("d2c", {"path": r"/users$", "method": "POST", "drop": True, "fail_next": 2}),
        ("salesforce", {"path": r"/composite/sobjects$", "limit_exceeded": True, "fail_next": 2}),
    ],
    ids=["d2c-503", "d2c-dropped-connection", "salesforce-request-limit"],
)
def test_transient_faults_are_retried_to_success_without_duplicates(stack_factory, service, fault):
    stack = stack_factory(seed=12)
    account = _plain_accounts(stack)[0]
    stack.sb.faults(service, **fault)

    output = _run(stack, account["Id"])["output"]

    assert output["outcome"] == "synced", output
    customers = _customers_of(stack, account["Id"])
    assert len(customers) == 1 and customers[0]["status"] == "active"
    assert len(stack.sb.d2c_users(customers[0]["id"])) == 1


def test_a_starter_that_meets_a_salesforce_outage_answers_503_and_starts_nothing(stack_factory):
    stack = stack_factory(seed=12)
    account = _plain_accounts(stack)[0]
    stack.sb.faults("salesforce", path=r"/query", status=503)

    response = stack.host.post(f"/api/accounts/{account['Id']}/onboard")

    assert response.status == 503
    assert response.json()["error"]["code"] == "salesforce_transient"
    assert stack.host.get(f"{DURABLE}/instances").json() == []
