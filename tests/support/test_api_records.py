"""The support API end to end, records: finding one by any of its keys, masking, and the
lists. The real app on devhost + sandbox, called as support staff. One stack
for the module; each test takes its own seeded accounts.
"""

from __future__ import annotations

import pytest

from tests.support.stack import APPROVE, OPERATE, READ, failed_onboarding, synced_account

pytestmark = pytest.mark.slow


# ------------------------------------------------------------------ records


def test_a_record_is_found_by_account_id_d2c_customer_id_and_email(stack):
    account = synced_account(stack)
    by_id = stack.get(f"records/{account['Id']}", APPROVE).json()
    customer_id = by_id["state"]["d2c_customer_id"]
    email = by_id["profile"]["primary_email"]

    by_customer = stack.get(f"records/{customer_id}", APPROVE).json()
    by_email = stack.get(f"records/{email.upper()}", APPROVE).json()

    assert by_id["key"]["kind"] == "salesforce_account_id"
    assert by_customer["accountId"] == by_email["accountId"] == account["Id"]
    assert by_customer["key"]["kind"] == "d2c_customer_id"
    assert by_email["key"]["kind"] == "email"
    assert by_id["state"]["status"] == "synced"
    instance = by_id["instances"][0]
    assert instance["runtimeStatus"] == "Completed" and instance["output"]["outcome"] == "synced"
    # the starter's read was handed to the saga, so the first step is the lake snapshot
    assert by_id["ledger"]["steps_done"][0] == "lake_put_account_snapshot"
    assert "d2c_create_customer" in by_id["ledger"]["steps_done"]
    assert by_id["ledger"]["pending"] == []
    kinds = [(e["source"], e["kind"]) for e in by_id["timeline"]]
    assert ("workflow", "started") in kinds and ("entity", "state") in kinds
    assert ("workflow", "completed") in kinds
    times = [e["at"] for e in by_id["timeline"] if e["at"]]
    assert len(times) >= 8


def test_personal_data_is_masked_unless_the_caller_has_the_pii_role(stack):
    account = synced_account(stack)

    masked = stack.get(f"records/{account['Id']}", READ, OPERATE)
    clear = stack.get(f"records/{account['Id']}", APPROVE).json()

    email = clear["profile"]["primary_email"]
    assert "@" in email and email not in masked.text
    body = masked.json()
    assert body["masked"] is True and clear["masked"] is False
    assert body["profile"]["primary_email"] == email[0] + "***@" + email.split("@")[1]
    contacts = [e for e in body["timeline"] if "Phone" in str(e) or "BillingStreet" in str(e)]
    assert contacts == [] or all("***" in str(e) for e in contacts)
    assert account["Phone"] not in masked.text
    assert account["BillingStreet"] not in masked.text


@pytest.mark.parametrize("key", ["001-not-an-id", "003dL0000004C92QAE", "hello", "cus_!"], ids=str)
def test_a_key_that_is_no_kind_of_key_is_a_400_naming_key(stack, key):
    response = stack.get(f"records/{key}", READ)

    assert response.status == 400
    assert [f["field"] for f in response.json()["error"]["fields"]] == ["key"]


@pytest.mark.parametrize("key", ["001RM000004UF9sYAG", "cus_0000000000000000", "no@body.example"])
def test_a_well_formed_key_nobody_knows_is_a_404(stack, key):
    response = stack.get(f"records/{key}", READ)

    assert response.status == 404
    assert response.json()["error"]["code"] == "not_found"


def test_records_list_failed_shows_the_failure_reason(stack):
    account, instance_id = failed_onboarding(stack)

    body = stack.get("records?state=failed&limit=200", READ).json()

    mine = [r for r in body["items"] if r["accountId"] == account["Id"]]
    assert mine and mine[0]["instanceId"] == instance_id
    assert mine[0]["failureReason"] == "d2c_create_customer:d2c 422"
    assert mine[0]["status"] == "failed"
    older = stack.get("records?state=failed&olderThan=1d", READ).json()
    assert account["Id"] not in {r["accountId"] for r in older["items"]}
    record = stack.get(f"records/{account['Id']}", READ).json()
    assert any(e["kind"] == "step_failed" for e in record["timeline"])


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("", "state"),
        ("state=broken", "state"),
        ("state=failed&limit=0", "limit"),
        ("state=failed&limit=abc", "limit"),
        ("state=stale&olderThan=soon", "olderThan"),
    ],
)
def test_records_list_bad_query_is_a_400_naming_the_field(stack, query, field):
    response = stack.get(f"records?{query}", READ)

    assert response.status == 400
    assert field in [f["field"] for f in response.json()["error"]["fields"]]


def test_records_list_pages_with_a_cursor(stack):
    synced_account(stack)
    first = stack.get("records?state=stale&olderThan=2000-01-01T00:00:00Z&limit=1", READ).json()

    assert first["items"] == []
    assert first["nextCursor"] is None or isinstance(first["nextCursor"], str)
