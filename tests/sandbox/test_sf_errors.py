"""Errors as Salesforce sends them, each mapped to simple-salesforce's own exception type;
OAuth (client credentials, JWT bearer), API usage limits, describe and versions."""

from __future__ import annotations

import time
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sbkit import sf_client, sf_session
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import (
    SalesforceGeneralError,
    SalesforceMalformedRequest,
    SalesforceMoreThanOneRecord,
    SalesforceRefusedRequest,
    SalesforceResourceNotFound,
)

import sandbox


@pytest.mark.parametrize(
    ("sobject", "body", "code", "fields"),
    [
        ("Account", {"Nope__c": 1}, "INVALID_FIELD", ["Nope__c"]),
        ("Account", {"Phone": "1"}, "REQUIRED_FIELD_MISSING", ["Name"]),
        ("Account", {"Name": "x" * 256}, "STRING_TOO_LONG", ["Name"]),
        ("Account", {"Name": "A", "Tax_Id__c": "t" * 33}, "STRING_TOO_LONG", ["Tax_Id__c"]),
        ("Account", {"Name": "A", "NumberOfEmployees": "many"}, "JSON_PARSER_ERROR", None),
        ("Account", {"Name": "A", "Credit_Limit__c": 1e15}, "NUMBER_OUTSIDE_VALID_RANGE", None),
        (
            "Account",
            {"Name": "A", "CreatedDate": "2024-01-01"},
            "INVALID_FIELD_FOR_INSERT_UPDATE",
            None,
        ),
        ("Account", {"Name": "A", "OwnerId": "bad"}, "MALFORMED_ID", ["OwnerId"]),
        ("Contact", {"LastName": "L", "Email": "not-an-email"}, "INVALID_EMAIL_ADDRESS", ["Email"]),
        (
            "Contact",
            {"LastName": "L", "AccountId": "001dL0000009999AAA"},
            "INVALID_CROSS_REFERENCE_KEY",
            None,
        ),
        ("Lead", {"LastName": "L"}, "REQUIRED_FIELD_MISSING", ["Company"]),
    ],
)
def test_validation_errors_are_malformed_request(
    sf: Salesforce,
    sb: sandbox.Sandbox,
    sobject: str,
    body: dict[str, Any],
    code: str,
    fields: list[str] | None,
) -> None:
    with pytest.raises(SalesforceMalformedRequest) as exc:
        getattr(sf, sobject).create(body)
    assert exc.value.status == 400
    [err] = exc.value.content
    assert err["errorCode"] == code
    if fields is not None:
        assert err["fields"] == fields
    if code == "INVALID_FIELD":
        assert "Nope__c" in err["message"]
    assert sb.salesforce_records(sobject) == []  # nothing half-written


def test_duplicate_external_id(sf: Salesforce) -> None:
    sf.Account.create({"Name": "A", "D2C_Customer_Id__c": "cus_1"})
    b = sf.Account.create({"Name": "B"})["id"]
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.Account.update(b, {"D2C_Customer_Id__c": "CUS_1"})  # unique is case-insensitive
    assert exc.value.content[0]["errorCode"] == "DUPLICATE_VALUE"


def test_more_than_one_record_is_300(sf: Salesforce) -> None:
    for name in ("A", "B"):
        sf.Lead.create({"LastName": name, "Company": "C", "D2C_Customer_Id__c": "cus_shared"})
    with pytest.raises(SalesforceMoreThanOneRecord) as exc:
        sf.Lead.get_by_custom_id("D2C_Customer_Id__c", "cus_shared")
    assert exc.value.status == 300 and len(exc.value.content) == 2
    assert exc.value.content[0].startswith("/services/data/v59.0/sobjects/Lead/00Q")
    with pytest.raises(SalesforceMoreThanOneRecord):
        sf.Lead.upsert("D2C_Customer_Id__c/cus_shared", {"LastName": "Z"})


def test_not_found_and_general_errors(sf: Salesforce) -> None:
    with pytest.raises(SalesforceResourceNotFound) as exc:
        sf.Account.get("001dL0000009999AAA")
    assert exc.value.content[0]["errorCode"] == "NOT_FOUND"
    with pytest.raises(SalesforceResourceNotFound):
        sf.restful("sobjects/Widget__c/describe")
    with pytest.raises(SalesforceGeneralError) as general:
        sf.restful("sobjects/Account", method="PUT", json={})
    assert general.value.status == 405
    with pytest.raises(SalesforceMalformedRequest) as bad_json:
        sf.restful("sobjects/Account", method="POST", data="{not json")
    assert bad_json.value.content[0]["errorCode"] == "JSON_PARSER_ERROR"


def test_limit_header_and_403_when_spent() -> None:
    with sandbox.run(daily_api_limit=5) as sb:
        sf = sf_client(sb)
        sf.query("SELECT Id FROM Account")
        assert sf.api_usage["api-usage"].used == 1 and sf.api_usage["api-usage"].total == 5
        limits = sf.limits()
        assert limits["DailyApiRequests"] == {"Max": 5, "Remaining": 3}
        for _ in range(3):
            sf.query("SELECT Id FROM Account")
        with pytest.raises(SalesforceRefusedRequest) as exc:
            sf.query("SELECT Id FROM Account")
        assert exc.value.status == 403
        assert exc.value.content == [
            {"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}
        ]
        sb.salesforce_set_api_usage(0)
        assert sf.query("SELECT COUNT() FROM Account")["totalSize"] == 0
        assert sb.stats()["salesforce"]["api_usage"] == {"used": 1, "max": 5}
        sf.session.close()


def test_versions_resources_and_describe(sf: Salesforce, sb: sandbox.Sandbox) -> None:
    with sf_session(sb) as s:
        versions = s.get(f"{sb.salesforce_url}/services/data/").json()
    assert {"label": "v59.0", "url": "/services/data/v59.0", "version": "59.0"} in versions
    glob = sf.describe()
    assert {o["name"] for o in glob["sobjects"]} >= {"Account", "Contact", "Lead"}
    desc = sf.Account.describe()
    assert desc["keyPrefix"] == "001"
    fields = {f["name"]: f for f in desc["fields"]}
    ext = fields["D2C_Customer_Id__c"]
    assert ext["externalId"] and ext["unique"] and ext["length"] == 64 and ext["custom"]
    assert "Prospect" in [p["value"] for p in fields["Type"]["picklistValues"]]
    assert fields["Marketing_Consent__c"]["type"] == "boolean"
    assert fields["BillingAddress"]["type"] == "address"
    assert not fields["Name"]["nillable"]
    assert sf.Contact.describe()["fields"]
    assert sf.Account.metadata()["objectDescribe"]["name"] == "Account"
    future = Salesforce(
        instance_url=sb.salesforce_url, session_id=sf.session_id, session=sf.session, version="99.0"
    )
    with pytest.raises(SalesforceResourceNotFound):
        future.query("SELECT Id FROM Account")


def test_client_credentials_errors(sb: sandbox.Sandbox) -> None:
    with sf_session(sb) as s:
        url = f"{sb.salesforce_url}/services/oauth2/token"
        r = s.post(url, data={"grant_type": "client_credentials"}, auth=("x", "y"))
        assert r.status_code == 400 and r.json()["error"] == "invalid_client"
        r = s.post(url, data={"grant_type": "password"})
        assert r.json()["error"] == "unsupported_grant_type"
        body = {
            "grant_type": "client_credentials",
            "client_id": sb.salesforce_client_id,
            "client_secret": sb.salesforce_client_secret,
        }
        ok = s.post(url, data=body)
        assert ok.status_code == 200 and ok.json()["instance_url"] == sb.salesforce_url


def _assertion(sb: sandbox.Sandbox, key: Any, **claims: Any) -> str:
    # exactly what simple-salesforce's JWT login sends (exp as a string)
    payload = {
        "iss": sb.salesforce_client_id,
        "sub": sb.jwt_username,
        "aud": "https://login.salesforce.com",
        "exp": str(int(time.time()) + 180),
        **claims,
    }
    return jwt.encode(payload, key, algorithm="RS256", headers={"alg": "RS256", "typ": "JWT"})


def test_jwt_bearer(sb: sandbox.Sandbox) -> None:
    with open(sb.jwt_private_key_path, "rb") as fh:
        key = fh.read()
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    grant = "urn:ietf:params:oauth:grant-type:jwt-bearer"
    with sf_session(sb) as s:
        url = f"{sb.salesforce_url}/services/oauth2/token"
        r = s.post(url, data={"grant_type": grant, "assertion": _assertion(sb, key)})
        assert r.status_code == 200, r.text
        token = r.json()
        assert token["id"].endswith(sb.integration_user_id) and token["token_type"] == "Bearer"
        sf = Salesforce(
            instance_url=token["instance_url"], session_id=token["access_token"], session=s
        )
        assert sf.query("SELECT Id FROM User")["totalSize"] == 2
        bad: list[str] = [
            _assertion(sb, other),
            _assertion(sb, key, sub="nobody@example.com"),
            _assertion(sb, key, exp=str(int(time.time()) - 10)),
            _assertion(sb, key, aud="https://evil.example"),
            _assertion(sb, key, iss="someone-else"),
            "not.a.jwt",
        ]
        for assertion in bad:
            r = s.post(url, data={"grant_type": grant, "assertion": assertion})
            assert r.status_code == 400 and "error" in r.json(), assertion
