"""Salesforce's org settings and login rules the stand-in enforces (docs/sandbox.md,
"Salesforce's rules, one by one"): restricted picklists, State and Country/Territory Picklists,
duplicate rules, email addresses, where tokens are issued and for which audience; each through
simple-salesforce unmodified where the app calls it so."""

from __future__ import annotations

import time

import jwt
import pytest
import requests
from sbkit import sf_session
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest

import sandbox


def test_a_jwt_whose_audience_is_the_my_domain_is_refused(sb: sandbox.Sandbox) -> None:
    with open(sb.jwt_private_key_path, "rb") as fh:
        key = fh.read()
    grant = "urn:ietf:params:oauth:grant-type:jwt-bearer"

    def token(audience: str) -> requests.Response:
        claims = {
            "iss": sb.salesforce_client_id,
            "sub": sb.jwt_username,
            "aud": audience,
            "exp": int(time.time()) + 180,
        }
        assertion = jwt.encode(claims, key, algorithm="RS256")
        with sf_session(sb) as session:
            return session.post(
                f"{sb.salesforce_url}/services/oauth2/token",
                data={"grant_type": grant, "assertion": assertion},
            )

    my_domain = token(sb.salesforce_url)
    login = token("https://login.salesforce.com")

    assert my_domain.status_code == 400
    assert my_domain.json() == {
        "error": "invalid_grant",
        "error_description": "audience is invalid",
    }
    assert login.status_code == 200


def test_a_jwt_whose_exp_has_passed_is_an_expired_authorization_code(
    sb: sandbox.Sandbox,
) -> None:
    with open(sb.jwt_private_key_path, "rb") as fh:
        key = fh.read()
    claims = {
        "iss": sb.salesforce_client_id,
        "sub": sb.jwt_username,
        "aud": "https://login.salesforce.com",
        "exp": int(time.time()) + 180,
    }
    assertion = jwt.encode(claims, key, algorithm="RS256")
    sb.advance_clock(181)  # the assertion was signed 181 s ago

    with sf_session(sb) as session:
        late = session.post(
            f"{sb.salesforce_url}/services/oauth2/token",
            data={
                "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
                "assertion": assertion,
            },
        )

    assert late.status_code == 400
    assert late.json() == {
        "error": "invalid_grant",
        "error_description": "expired authorization code",
    }


def test_a_restricted_picklist_refuses_a_value_it_does_not_list(
    sf: Salesforce, sb: sandbox.Sandbox
) -> None:
    account_id = sb.salesforce_create("Account", {"Name": "Picky", "Industry": "Shipbuilding"})
    sb.salesforce_org_rules(restricted_picklists=["Account.Industry"])

    with pytest.raises(SalesforceMalformedRequest) as refused:
        sf.Account.update(account_id, {"Industry": "Shipbuilding Deluxe"})
    sf.Account.update(account_id, {"Industry": "Shipping"})

    assert refused.value.content[0]["errorCode"] == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    assert refused.value.content[0]["fields"] == ["Industry"]
    assert sb.salesforce_record("Account", account_id)["Industry"] == "Shipping"


def test_country_picklists_take_integration_values_or_iso_codes_and_keep_both_in_step(
    sf: Salesforce, sb: sandbox.Sandbox
) -> None:
    account_id = sb.salesforce_create("Account", {"Name": "Abroad"})
    sb.salesforce_org_rules(state_country_picklists=True)

    with pytest.raises(SalesforceMalformedRequest) as by_text_code:
        sf.Account.update(account_id, {"BillingCountry": "DE"})
    sf.Account.update(account_id, {"BillingCountryCode": "US", "BillingStateCode": "TX"})
    coded = sb.salesforce_record("Account", account_id)
    sf.Account.update(account_id, {"BillingCountry": "Canada", "BillingState": "Ontario"})
    named = sb.salesforce_record("Account", account_id)

    assert by_text_code.value.content[0]["errorCode"] == "FIELD_INTEGRITY_EXCEPTION"
    assert by_text_code.value.content[0]["fields"] == ["BillingCountry"]
    assert (coded["BillingCountry"], coded["BillingState"]) == ("United States", "Texas")
    assert (named["BillingCountryCode"], named["BillingStateCode"]) == ("CA", "ON")


def test_without_country_picklists_the_code_fields_do_not_exist(
    sf: Salesforce, sb: sandbox.Sandbox
) -> None:
    account_id = sb.salesforce_create("Account", {"Name": "Plain Text"})

    with pytest.raises(SalesforceMalformedRequest) as refused:
        sf.Account.update(account_id, {"BillingCountryCode": "DE"})
    sf.Account.update(account_id, {"BillingCountry": "DE"})

    assert refused.value.content[0]["errorCode"] == "INVALID_FIELD"


def test_a_duplicate_contact_is_refused_unless_the_header_allows_saving_it(
    sf: Salesforce, sb: sandbox.Sandbox
) -> None:
    account_id = sb.salesforce_create("Account", {"Name": "Twice"})
    person = {"AccountId": account_id, "FirstName": "Ada", "LastName": "Byron"}
    first = sb.salesforce_create("Contact", {**person, "Email": "ada@twice.example"})
    sb.salesforce_org_rules(duplicate_rules=True)

    with pytest.raises(SalesforceMalformedRequest) as refused:
        sf.Contact.create({**person, "Email": "ADA@twice.example"})
    allowed = sf.Contact.create(
        {**person, "Email": "ada@twice.example"},
        headers={"Sforce-Duplicate-Rule-Header": "allowSave=true"},
    )

    error = refused.value.content[0]
    assert error["errorCode"] == "DUPLICATES_DETECTED"
    matched = error["duplicateResult"]["matchResults"][0]["matchRecords"][0]["record"]["Id"]
    assert matched == first
    assert allowed["success"] is True


@pytest.mark.parametrize(
    "email",
    [".lead@acme.example", "ümlaut@acme.example", "a@acme_corp.example", "two@@acme.example"],
)
def test_an_email_salesforce_does_not_accept_is_refused(
    sf: Salesforce, sb: sandbox.Sandbox, email: str
) -> None:
    account_id = sb.salesforce_create("Account", {"Name": "Mail"})

    with pytest.raises(SalesforceMalformedRequest) as refused:
        sf.Contact.create({"AccountId": account_id, "LastName": "X", "Email": email})

    assert refused.value.content[0]["errorCode"] == "INVALID_EMAIL_ADDRESS"
    assert refused.value.content[0]["fields"] == ["Email"]


def test_emails_with_inner_double_dots_and_rfc_specials_are_accepted(
    sf: Salesforce, sb: sandbox.Sandbox
) -> None:
    account_id = sb.salesforce_create("Account", {"Name": "Mail"})

    for email in ["a..b@test.jp", "a..@test.jp", "o'neil+news@acme-corp.example"]:
        sf.Contact.create({"AccountId": account_id, "LastName": "X", "Email": email})


def test_an_email_is_stored_lower_cased_whatever_case_it_was_written_in(
    sf: Salesforce, sb: sandbox.Sandbox
) -> None:
    account_id = sb.salesforce_create("Account", {"Name": "Mail"})

    contact = sf.Contact.create(
        {"AccountId": account_id, "LastName": "X", "Email": "Ada@Firm.EXAMPLE"}
    )
    lead = sf.Lead.create({"LastName": "Y", "Company": "Firm", "Email": "Bo.Y@Firm.example"})
    sf.Contact.update(contact["id"], {"Email": "Ada.Lovelace@FIRM.example"})

    assert sf.Contact.get(contact["id"])["Email"] == "ada.lovelace@firm.example"
    assert sf.Lead.get(lead["id"])["Email"] == "bo.y@firm.example"


def test_client_credentials_are_refused_on_login_salesforce_com(sb: sandbox.Sandbox) -> None:
    form = {"grant_type": "client_credentials"}
    auth = (sb.salesforce_client_id, sb.salesforce_client_secret)
    url = f"{sb.salesforce_url}/services/oauth2/token"

    with sf_session(sb) as session:
        login = session.post(url, data=form, auth=auth, headers={"Host": "login.salesforce.com"})
        my_domain = session.post(url, data=form, auth=auth)

    assert login.status_code == 400
    assert login.json()["error_description"] == "request not supported on this domain"
    assert my_domain.status_code == 200
