"""Smaller Salesforce resources: updated/deleted windows, child relationship, revoke,
trailing slashes, lookups, undelete conflicts, 15-character Ids."""

from __future__ import annotations

import datetime

import pytest
from sbkit import oauth_token, sf_session
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceExpiredSession, SalesforceMalformedRequest

import sandbox


def test_updated_and_deleted_windows(sf: Salesforce) -> None:
    start = datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=1)
    a = sf.Account.create({"Name": "A"})["id"]
    b = sf.Account.create({"Name": "B"})["id"]
    sf.Account.delete(b)
    end = datetime.datetime.now(datetime.UTC) + datetime.timedelta(minutes=1)
    assert sf.Account.updated(start, end)["ids"] == [a]
    deleted = sf.Account.deleted(start, end)["deletedRecords"]
    assert [d["id"] for d in deleted] == [b]


def test_child_relationship_and_15_char_ids(sf: Salesforce) -> None:
    aid = sf.Account.create({"Name": "Parent"})["id"]
    sf.Contact.create({"LastName": "Kid", "AccountId": aid[:15]})
    kids = sf.restful(f"sobjects/Account/{aid}/Contacts")
    assert kids["totalSize"] == 1 and kids["records"][0]["AccountId"] == aid
    assert sf.Account.get(aid[:15])["Id"] == aid


def test_revoke_and_trailing_slashes(sb: sandbox.Sandbox) -> None:
    with sf_session(sb) as s:
        token = oauth_token(sb, s)
        sf = Salesforce(instance_url=sb.salesforce_url, session_id=token, session=s)
        assert sf.restful("sobjects/Account/describe/")["name"] == "Account"
        assert s.post(f"{sb.salesforce_url}/services/oauth2/revoke", data={"token": token}).ok
        with pytest.raises(SalesforceExpiredSession):
            sf.query("SELECT Id FROM Account")


def test_undelete_conflict_and_reparenting(sb: sandbox.Sandbox, sf: Salesforce) -> None:
    a = sf.Account.create({"Name": "A", "D2C_Customer_Id__c": "cus_x"})["id"]
    sf.Account.delete(a)
    sf.Account.create({"Name": "B", "D2C_Customer_Id__c": "cus_x"})  # value is free again
    with pytest.raises(sandbox.SalesforceError) as exc:
        sb.salesforce_undelete("Account", a)
    assert exc.value.code == "DUPLICATE_VALUE"
    assert sb.salesforce_record("Account", a)["IsDeleted"] is True
    one = sf.Account.create({"Name": "One"})["id"]
    two = sf.Account.create({"Name": "Two"})["id"]
    cid = sf.Contact.create({"LastName": "Mover", "AccountId": one})["id"]
    sf.Contact.update(cid, {"AccountId": two})
    res = sf.query(
        "SELECT Name, (SELECT Id FROM Contacts) FROM Account WHERE Name IN ('One','Two')"
    )
    by_name = {r["Name"]: r["Contacts"] for r in res["records"]}
    assert by_name["One"] is None and by_name["Two"]["records"][0]["Id"] == cid
    with pytest.raises(SalesforceMalformedRequest) as bad:
        sf.Contact.update(cid, {"AccountId": cid})  # a Contact Id where an Account Id belongs
    assert bad.value.content[0]["errorCode"] == "FIELD_INTEGRITY_EXCEPTION"


def test_account_delete_undelete_restores_its_contacts(sb: sandbox.Sandbox) -> None:
    aid = sb.salesforce_create("Account", {"Name": "Family"})
    cid = sb.salesforce_create("Contact", {"LastName": "Member", "AccountId": aid})
    sb.salesforce_delete("Account", aid)
    assert sb.salesforce_records("Contact") == []
    sb.salesforce_undelete("Account", aid)
    assert [c["Id"] for c in sb.salesforce_records("Contact")] == [cid]


def test_control_helpers_validate_like_the_api(sb: sandbox.Sandbox) -> None:
    with pytest.raises(sandbox.SalesforceError) as exc:
        sb.salesforce_create("Account", {"Name": "x", "Unknown__c": 1})
    assert exc.value.code == "INVALID_FIELD" and exc.value.status == 400
    customer = sb.d2c_register(email="z@zed.example", last_name="Zed")
    with pytest.raises(sandbox.D2CProblem) as problem:
        sb.d2c_edit(customer["id"], {"kind": "business"})
    assert problem.value.status == 400
    assert sb.d2c_edit(customer["id"], {"phone": "+1"})["version"] == 2


def test_converting_a_lead_makes_a_contact_and_leaves_the_lead_as_read_only_history(
    sb: sandbox.Sandbox, sf: Salesforce
) -> None:
    lead = sf.Lead.create(
        {"FirstName": "Jane", "LastName": "Doe", "Company": "Fair", "Email": "jane@fair.example"}
    )["id"]
    assert sf.Lead.get(lead)["IsConverted"] is False

    made = sb.salesforce_convert_lead(lead)

    (row,) = sf.query(
        "SELECT Id, Status, ConvertedContactId, ConvertedAccount.Name FROM Lead"
        " WHERE IsConverted = true"
    )["records"]
    assert row["Id"] == lead and row["Status"] == "Closed - Converted"
    assert row["ConvertedContactId"] == made["contactId"]
    assert row["ConvertedAccount"]["Name"] == "Fair"
    contact = sf.Contact.get(made["contactId"])
    assert contact["AccountId"] == made["accountId"] and contact["Email"] == "jane@fair.example"
    with pytest.raises(SalesforceMalformedRequest) as refused:
        sf.Lead.update(lead, {"Phone": "+1 555"})
    assert refused.value.content[0]["errorCode"] == "CANNOT_UPDATE_CONVERTED_LEAD"


def test_a_lead_can_be_converted_into_an_existing_account(
    sb: sandbox.Sandbox, sf: Salesforce
) -> None:
    account = sf.Account.create({"Name": "Existing"})["id"]
    lead = sf.Lead.create({"LastName": "Doe", "Company": "Fair"})["id"]

    made = sb.salesforce_convert_lead(lead, account_id=account)

    assert made["accountId"] == account
    assert sf.Contact.get(made["contactId"])["AccountId"] == account
    assert sf.query("SELECT Id FROM Account WHERE Name = 'Fair'")["totalSize"] == 0
