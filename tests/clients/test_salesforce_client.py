"""The Salesforce client against the sandbox over real HTTPS: auth modes, refresh, errors."""

from __future__ import annotations

from pathlib import Path

import pytest

import sandbox
from crosswalk.allowance import AllowanceGovernor
from crosswalk.clients.salesforce import SalesforceClient
from crosswalk.errors import (
    ALLOWANCE,
    ActivityFailure,
    AllowanceExhausted,
    AuthenticationFailed,
    InvalidData,
    RateLimited,
    TransientError,
)
from crosswalk.settings import SalesforceSettings


@pytest.fixture(scope="module")
def sb():
    with sandbox.run(seed=5) as running:
        yield running


def _client(sb, **overrides) -> SalesforceClient:
    values = {
        "login_url": sb.salesforce_url,
        "client_id": sb.salesforce_client_id,
        "client_secret": sb.salesforce_client_secret,
        "ca_bundle": sb.ca_bundle,
        **overrides,
    }
    return SalesforceClient(SalesforceSettings.model_validate(values))


def _any_account_id(sb) -> str:
    return sb.salesforce_records("Account")[0]["Id"]


def test_client_credentials_read_an_account_with_its_contacts_in_one_call(sb):
    client = _client(sb)
    account_id = _any_account_id(sb)
    before = sb.stats()["salesforce"]["total"]

    account = client.get_account_with_contacts(account_id)

    assert account is not None and account.Id == account_id
    assert account.Contacts, "seeded accounts have contacts"
    assert sb.stats()["salesforce"]["total"] - before == 2  # the token, then one query


def test_jwt_bearer_flow_signs_with_the_configured_key(sb):
    client = _client(
        sb,
        auth_mode="jwt",
        client_secret=None,
        username=sb.jwt_username,
        private_key_path=Path(sb.jwt_private_key_path),
    )

    assert client.get_account_with_contacts(_any_account_id(sb)) is not None


def test_an_expired_session_is_refreshed_once_and_the_call_succeeds(sb):
    client = _client(sb)
    account_id = _any_account_id(sb)
    client.get_account_with_contacts(account_id)

    sb.salesforce_expire_tokens()

    assert client.get_account_with_contacts(account_id) is not None


def test_wrong_secret_is_a_permanent_authentication_failure_without_the_secret(sb):
    client = _client(sb, client_secret="not-the-secret")

    with pytest.raises(AuthenticationFailed) as caught:
        client.get_account_with_contacts(_any_account_id(sb))

    assert "not-the-secret" not in str(caught.value)


def test_an_unknown_account_is_none_not_an_error(sb):
    assert _client(sb).get_account_with_contacts("001RM000004UF9sYAG") is None


def test_quotes_in_values_are_escaped_before_they_reach_soql(sb):
    client = _client(sb)

    assert client.find_id("Account", "Name", "x' OR Name != 'y") is None


def test_a_spent_daily_allowance_becomes_a_wait_for_it_not_a_failure(sb):
    client = _client(sb, allowance_wait_seconds=600)
    client.get_account_with_contacts(_any_account_id(sb))
    sb.faults("salesforce", path=r"/query", limit_exceeded=True, fail_next=1)

    with pytest.raises(AllowanceExhausted) as caught:
        client.get_account_with_contacts(_any_account_id(sb))

    assert caught.value.retryable and caught.value.code == ALLOWANCE
    assert caught.value.retry_after == 600
    assert ActivityFailure.parse(str(caught.value)).waits_for_allowance


def test_the_concurrent_request_cap_stays_a_short_retry(sb):
    client = _client(sb)
    sb.faults("salesforce", path=r"/query", status=429, fail_next=1)

    with pytest.raises(RateLimited) as caught:
        client.get_account_with_contacts(_any_account_id(sb))

    assert caught.value.code == "REQUEST_LIMIT_EXCEEDED"
    assert not ActivityFailure.parse(str(caught.value)).waits_for_allowance


def test_every_answer_feeds_the_allowance_view_bulk_jobs_included(sb):
    client = _client(sb)
    sb.salesforce_set_api_usage(1_000)

    client.call(lambda sf: sf.bulk2.Account._client.create_job("query", "SELECT Id FROM Account"))

    reading = client.governor.reading()
    assert reading is not None and (reading.used, reading.max) == (1_001, 100_000)
    assert client.allowance() == reading  # known without another call


def test_below_the_reserve_calls_wait_without_reaching_salesforce_until_the_reading_ages(sb):
    now = [1_000_000.0]
    client = _client(sb)
    client.governor = AllowanceGovernor(reserve_percent=20, wait_seconds=900, clock=lambda: now[0])
    sb.salesforce_set_api_usage(85_000)
    client.get_account_with_contacts(_any_account_id(sb))  # the answer: 85,001 of 100,000 used
    before = sb.stats()["salesforce"]["total"]

    with pytest.raises(AllowanceExhausted) as held:
        client.get_account_with_contacts(_any_account_id(sb))
    now[0] += 900  # the reading is as old as the wait: the next call probes first
    with pytest.raises(AllowanceExhausted):
        client.get_account_with_contacts(_any_account_id(sb))  # the probe: still low
    now[0] += 900
    sb.salesforce_set_api_usage(0)  # meanwhile the rolling window gave calls back
    account = client.get_account_with_contacts(_any_account_id(sb))

    assert held.value.retry_after == 900
    assert "14999 of 100000" in held.value.detail
    assert account is not None
    calls = sb.stats()["salesforce"]["calls"]
    assert sb.stats()["salesforce"]["total"] - before == 3  # two probes, one query
    assert calls[f"GET /services/data/v{sb.api_version}/limits"] >= 2
    assert client.governor.reading().used == 2


def test_server_unavailable_is_transient(sb):
    client = _client(sb)
    sb.faults("salesforce", path=r"/query", status=503, fail_next=1)

    with pytest.raises(TransientError):
        client.get_account_with_contacts(_any_account_id(sb))


def test_a_refused_collection_record_names_its_field(sb):
    client = _client(sb)
    record = {"attributes": {"type": "Account"}, "Id": _any_account_id(sb), "No_Such__c": 1}

    with pytest.raises(InvalidData) as caught:
        client.update_records([record], all_or_none=True)

    assert caught.value.field == "No_Such__c"
