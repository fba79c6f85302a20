"""/composite, /composite/batch and sObject Collections, with and without allOrNone."""

from __future__ import annotations

from typing import Any

import pytest
from sbkit import Webhook
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest

import sandbox


def _accounts(sb: sandbox.Sandbox) -> list[str]:
    return [r["Name"] for r in sb.salesforce_records("Account")]


def test_collection_create_without_all_or_none(sf: Salesforce, sb: sandbox.Sandbox) -> None:
    body = {
        "allOrNone": False,
        "records": [
            {"attributes": {"type": "Account"}, "Name": "One"},
            {"attributes": {"type": "Account"}, "Phone": "no name"},
            {"attributes": {"type": "Contact"}, "LastName": "Mixed types"},
        ],
    }
    res = sf.restful("composite/sobjects", method="POST", json=body)
    assert res[0]["success"] is True and res[0]["id"].startswith("001")
    assert res[1] == {
        "success": False,
        "errors": [
            {
                "statusCode": "REQUIRED_FIELD_MISSING",
                "message": "Required fields are missing: [Name]",
                "fields": ["Name"],
            }
        ],
    }
    assert res[2]["success"] is True and res[2]["id"].startswith("003")
    assert _accounts(sb) == ["One"]


def test_collection_create_all_or_none_rolls_back(
    sf: Salesforce, sb: sandbox.Sandbox, webhook: Webhook
) -> None:
    sb.set_events_to(salesforce=webhook.url)
    body = {
        "allOrNone": True,
        "records": [
            {"attributes": {"type": "Account"}, "Name": "Kept?"},
            {"attributes": {"type": "Account"}, "Name": "x" * 256},
        ],
    }
    res = sf.restful("composite/sobjects", method="POST", json=body)
    assert res[0]["success"] is False
    assert res[0]["errors"][0]["statusCode"] == "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    assert res[1]["errors"][0]["statusCode"] == "STRING_TOO_LONG"
    assert _accounts(sb) == []
    sb.salesforce_create("Account", {"Name": "marker"})
    assert sb.wait_events_drained(10)
    assert [e["data"]["payload"]["Name"] for e in webhook.received()] == ["marker"]


def test_collection_update_upsert_delete_retrieve(sf: Salesforce, sb: sandbox.Sandbox) -> None:
    a = sf.Account.create({"Name": "A"})["id"]
    b = sf.Account.create({"Name": "B"})["id"]
    upd = sf.restful(
        "composite/sobjects",
        method="PATCH",
        json={
            "allOrNone": False,
            "records": [
                {"attributes": {"type": "Account"}, "id": a, "Phone": "1"},
                {"attributes": {"type": "Account"}, "Phone": "2"},
            ],
        },
    )
    assert upd[0] == {"id": a, "success": True, "errors": []}
    assert upd[1]["errors"][0]["statusCode"] == "MISSING_ARGUMENT"
    ups = sf.restful(
        "composite/sobjects/Account/D2C_Customer_Id__c",
        method="PATCH",
        json={
            "allOrNone": True,
            "records": [
                {"attributes": {"type": "Account"}, "D2C_Customer_Id__c": "cus_1", "Name": "New"},
                {"attributes": {"type": "Account"}, "D2C_Customer_Id__c": "cus_1", "Name": "Again"},
            ],
        },
    )
    assert [r["created"] for r in ups] == [True, False]
    got = sf.restful(
        f"composite/sobjects/Account?ids={a},001dL0000009999AAA&fields=Name,Phone", method="GET"
    )
    assert got[0]["Name"] == "A" and got[0]["Phone"] == "1" and got[1] is None
    deleted = sf.restful(
        "composite/sobjects", method="DELETE", params={"ids": f"{a},{a},bad", "allOrNone": "false"}
    )
    assert deleted[0] == {"id": a, "success": True, "errors": []}
    assert deleted[1]["errors"][0]["statusCode"] == "ENTITY_IS_DELETED"
    assert deleted[2]["errors"][0]["statusCode"] == "MALFORMED_ID"
    assert sorted(_accounts(sb)) == ["Again", "B"]
    assert b


def test_collection_limits_and_shape_errors(sf: Salesforce) -> None:
    records = [{"attributes": {"type": "Account"}, "Name": f"n{i}"} for i in range(201)]
    with pytest.raises(SalesforceMalformedRequest):
        sf.restful("composite/sobjects", method="POST", json={"records": records})
    untyped = sf.restful("composite/sobjects", method="POST", json={"records": [{"Name": "x"}]})
    assert untyped[0]["errors"][0]["statusCode"] == "INVALID_TYPE"
    ok = sf.restful("composite/sobjects", method="POST", json={"records": records[:200]})
    assert all(r["success"] for r in ok) and len(ok) == 200


def _composite(sf: Salesforce, all_or_none: bool, last_body: dict[str, Any]) -> dict[str, Any]:
    return sf.restful(
        "composite",
        method="POST",
        json={
            "allOrNone": all_or_none,
            "compositeRequest": [
                {
                    "method": "POST",
                    "url": "/services/data/v59.0/sobjects/Account",
                    "referenceId": "refAccount",
                    "body": {"Name": "Parent"},
                },
                {
                    "method": "POST",
                    "url": "/services/data/v59.0/sobjects/Contact",
                    "referenceId": "refContact",
                    "body": {"LastName": "Doe", "AccountId": "@{refAccount.id}"},
                },
                {
                    "method": "GET",
                    "url": "/services/data/v59.0/sobjects/Contact/@{refContact.id}"
                    "?fields=AccountId",
                    "referenceId": "refRead",
                },
                {
                    "method": "PATCH",
                    "url": "/services/data/v59.0/sobjects/Account/@{refAccount.id}",
                    "referenceId": "refLast",
                    "body": last_body,
                },
            ],
        },
    )


def test_composite_references(sf: Salesforce, sb: sandbox.Sandbox) -> None:
    out = _composite(sf, True, {"Phone": "1"})["compositeResponse"]
    assert [r["httpStatusCode"] for r in out] == [201, 201, 200, 204]
    account_id = out[0]["body"]["id"]
    assert out[2]["body"]["AccountId"] == account_id
    assert out[0]["httpHeaders"]["Location"].endswith(account_id)
    assert sb.salesforce_records("Contact")[0]["AccountId"] == account_id


def test_composite_all_or_none(sf: Salesforce, sb: sandbox.Sandbox) -> None:
    out = _composite(sf, True, {"Bogus__c": 1})["compositeResponse"]
    assert [r["httpStatusCode"] for r in out] == [400, 400, 400, 400]
    assert out[0]["body"][0]["errorCode"] == "PROCESSING_HALTED"
    assert out[3]["body"][0]["errorCode"] == "INVALID_FIELD"
    assert sb.salesforce_records("Account") == [] and sb.salesforce_records("Contact") == []
    partial = _composite(sf, False, {"Bogus__c": 1})["compositeResponse"]
    assert [r["httpStatusCode"] for r in partial] == [201, 201, 200, 400]
    assert len(sb.salesforce_records("Account")) == 1


def test_composite_unresolved_reference_and_query(sf: Salesforce) -> None:
    out = sf.restful(
        "composite",
        method="POST",
        json={
            "compositeRequest": [
                {
                    "method": "POST",
                    "url": "/services/data/v59.0/sobjects/Account",
                    "referenceId": "bad",
                    "body": {"Nope": 1},
                },
                {
                    "method": "GET",
                    "url": "/services/data/v59.0/sobjects/Account/@{bad.id}",
                    "referenceId": "dependent",
                },
                {
                    "method": "GET",
                    "url": "/services/data/v59.0/query?q=SELECT+COUNT()+FROM+Account",
                    "referenceId": "count",
                },
            ]
        },
    )["compositeResponse"]
    assert out[1]["httpStatusCode"] == 400
    assert out[1]["body"][0]["errorCode"] == "PROCESSING_HALTED"
    assert out[2]["body"]["totalSize"] == 0


def test_composite_batch(sf: Salesforce) -> None:
    aid = sf.Account.create({"Name": "Batch"})["id"]
    res = sf.restful(
        "composite/batch",
        method="POST",
        json={
            "haltOnError": True,
            "batchRequests": [
                {
                    "method": "PATCH",
                    "url": f"v59.0/sobjects/Account/{aid}",
                    "richInput": {"Phone": "9"},
                },
                {"method": "GET", "url": f"v59.0/sobjects/Account/{aid}?fields=Phone"},
                {"method": "PATCH", "url": f"v59.0/sobjects/Account/{aid}", "richInput": {"X": 1}},
                {"method": "GET", "url": f"v59.0/sobjects/Account/{aid}"},
            ],
        },
    )
    assert res["hasErrors"] is True
    assert [r["statusCode"] for r in res["results"]] == [204, 200, 400, 412]
    assert res["results"][1]["result"]["Phone"] == "9"


def test_collection_events_share_a_transaction(
    sf: Salesforce, sb: sandbox.Sandbox, webhook: Webhook
) -> None:
    sb.set_events_to(salesforce=webhook.url)
    sf.restful(
        "composite/sobjects",
        method="POST",
        json={"records": [{"attributes": {"type": "Account"}, "Name": n} for n in ("P", "Q")]},
    )
    assert sb.wait_events_drained(10)
    headers = [e["data"]["payload"]["ChangeEventHeader"] for e in webhook.received()]
    assert headers[0]["transactionKey"] == headers[1]["transactionKey"]
    assert [h["sequenceNumber"] for h in headers] == [1, 2]
