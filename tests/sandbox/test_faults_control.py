"""Fault injection (each kind) and the /__sandbox control path."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import requests
from sbkit import sf_client, sf_session
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import (
    SalesforceGeneralError,
    SalesforceMalformedRequest,
    SalesforceRefusedRequest,
)

import sandbox

D2C_CREATE = {"kind": "consumer", "name": "N"}


@pytest.fixture
def d2c(sb: sandbox.Sandbox) -> Iterator[requests.Session]:
    s = requests.Session()
    s.headers["Authorization"] = f"Bearer {sb.d2c_token}"
    yield s
    s.close()


def test_latency_on_a_path_pattern(sb: sandbox.Sandbox, d2c: requests.Session) -> None:
    sb.faults("d2c", latency=0.3, path=r"^/v1/customers/lookup")
    start = time.monotonic()
    assert d2c.get(f"{sb.d2c_url}/v1/customers").status_code == 200
    fast = time.monotonic() - start
    start = time.monotonic()
    r = d2c.post(f"{sb.d2c_url}/v1/customers/lookup", json={"external_refs": ["x"]})
    assert r.status_code == 200 and time.monotonic() - start >= 0.3 > fast


def test_fail_next_n_calls_then_recover(sf: Salesforce, sb: sandbox.Sandbox) -> None:
    sb.faults("salesforce", fail_next=2, status=503, path="/query")
    for _ in range(2):
        with pytest.raises(SalesforceGeneralError) as exc:
            sf.query("SELECT Id FROM Account")
        assert exc.value.status == 503
        assert exc.value.content[0]["errorCode"] == "SERVER_UNAVAILABLE"
    assert sf.query("SELECT Id FROM Account")["done"] is True
    assert sb.list_faults() == []
    assert sb.stats()["salesforce"]["faults_injected"] == {"503": 2}


def test_error_rates_are_deterministic(sb: sandbox.Sandbox, d2c: requests.Session) -> None:
    def run() -> list[int]:
        sb.faults("d2c", errors={503: 0.3, 500: 0.2}, method="GET")
        out = [d2c.get(f"{sb.d2c_url}/v1/customers").status_code for _ in range(40)]
        sb.clear_faults()
        return out

    first = run()
    assert set(first) == {200, 500, 503}
    sb.reset()
    assert run() == first  # same seed, same failures
    failed = d2c.get(f"{sb.d2c_url}/v1/customers")
    assert failed.status_code == 200


def test_d2c_fault_bodies_are_problems(sb: sandbox.Sandbox, d2c: requests.Session) -> None:
    sb.faults("d2c", status=429, fail_next=1)
    r = d2c.post(f"{sb.d2c_url}/v1/customers", json=D2C_CREATE, headers={"Idempotency-Key": "k"})
    assert r.status_code == 429 and r.headers["Retry-After"] == "1"
    assert r.headers["Content-Type"].startswith("application/problem+json")
    assert sb.d2c_customers() == []  # a faulted call changes nothing
    ok = d2c.post(f"{sb.d2c_url}/v1/customers", json=D2C_CREATE, headers={"Idempotency-Key": "k"})
    assert ok.status_code == 201 and "Idempotent-Replayed" not in ok.headers


def test_dropped_connections(sb: sandbox.Sandbox, d2c: requests.Session) -> None:
    sb.faults("both", drop=True, fail_next=1)
    with pytest.raises(requests.ConnectionError):
        d2c.get(f"{sb.d2c_url}/v1/customers")
    with pytest.raises(requests.ConnectionError):
        sf_client(sb)  # the token call is dropped
    sf = sf_client(sb)
    assert sf.query("SELECT COUNT() FROM Account")["totalSize"] == 0
    sb.faults("salesforce", drop=True, path="/sobjects/")
    with pytest.raises(requests.ConnectionError):
        sf.Account.create({"Name": "never"})
    sb.clear_faults("salesforce")
    assert sb.salesforce_records("Account") == []
    assert sb.stats()["salesforce"]["faults_injected"]["drop"] == 2
    sf.session.close()


def test_request_limit_exceeded_fault(sf: Salesforce, sb: sandbox.Sandbox) -> None:
    sb.faults("salesforce", limit_exceeded=True, fail_next=1)
    with pytest.raises(SalesforceRefusedRequest) as exc:
        sf.Account.create({"Name": "x"})
    assert exc.value.content[0]["errorCode"] == "REQUEST_LIMIT_EXCEEDED"
    assert sf.Account.create({"Name": "y"})["success"]


def test_bad_fault_specs_are_rejected(sb: sandbox.Sandbox) -> None:
    for bad in ({}, {"status": 200}, {"errors": {"503": 0.8, "500": 0.5}}, {"colour": 1}):
        with pytest.raises(ValueError):
            sb.add_fault("d2c", bad)


def test_control_path_over_http(sb: sandbox.Sandbox, d2c: requests.Session) -> None:
    base = sb.d2c_url + "/__sandbox"
    r = requests.post(f"{base}/faults", json={"status": 503, "fail_next": 1})
    assert r.status_code == 201 and r.json()["ids"][0].startswith("d2c-fault-")
    assert requests.get(f"{base}/faults").json()["faults"][0]["errors"] == {"503": 1.0}
    assert d2c.get(f"{sb.d2c_url}/v1/customers").status_code == 503
    assert requests.post(f"{base}/faults", json={"nope": 1}).status_code == 400
    reg = requests.post(
        f"{base}/d2c/registrations", json={"email": "a@b.example", "last_name": "B"}
    )
    assert reg.status_code == 201
    stats = requests.get(f"{base}/stats").json()
    assert stats["d2c"]["total"] == 1  # control calls are not counted
    assert stats["d2c"]["calls"] == {"GET /v1/customers": 1}
    with sf_session(sb) as s:
        sf_base = sb.salesforce_url + "/__sandbox"
        created = s.post(f"{sf_base}/salesforce/records/Account", json={"Name": "Ctl"})
        assert created.status_code == 201
        aid = created.json()["id"]
        assert s.patch(f"{sf_base}/salesforce/records/Account/{aid}", json={"Phone": "1"}).ok
        assert s.get(f"{sf_base}/salesforce/records/Account/{aid}").json()["Phone"] == "1"
        bad = s.patch(f"{sf_base}/salesforce/records/Account/{aid}", json={"Nope": 1})
        assert bad.status_code == 400 and bad.json()[0]["errorCode"] == "INVALID_FIELD"
        assert (
            s.post(f"{sf_base}/faults", json={"latency": 0.01})
            .json()["ids"][0]
            .startswith("salesforce-")
        )
        assert s.delete(f"{sf_base}/faults").status_code == 204
        assert s.post(f"{sf_base}/reset", json={"seed": 3}).json() == {"reset": True, "seed": 3}
        assert len(s.get(f"{sf_base}/salesforce/records/Account").json()["records"]) == 3
        info = s.get(f"{sf_base}/info").json()
        assert info["salesforce_url"] == sb.salesforce_url
        events = s.post(f"{sf_base}/events", json={"salesforce": "", "duplicate": 0.0}).json()
        assert events["salesforce"]["target"] is None
        assert s.get(f"{sf_base}/nope").status_code == 404
    assert sb.d2c_customers() == []  # reset cleared D2C too


def test_d2c_inspection_answers_the_shapes_docs_sandbox_md_gives(sb: sandbox.Sandbox) -> None:
    base = sb.d2c_url + "/__sandbox/d2c"
    reg = requests.post(
        f"{base}/registrations", json={"email": "ann@shape.example", "last_name": "Ann"}
    )
    customer_id = reg.json()["id"]

    listed = requests.get(f"{base}/customers").json()
    one = requests.get(f"{base}/customers/{customer_id}").json()
    users = requests.get(f"{base}/customers/{customer_id}/users").json()

    assert list(listed) == ["data"] and customer_id in [c["id"] for c in listed["data"]]
    assert one["id"] == customer_id and "data" not in one
    assert list(users) == ["data"] and users["data"][0]["email"] == "ann@shape.example"


def test_org_rules_are_switched_over_the_control_path_and_a_wrong_value_is_a_400_naming_it(
    sf: Salesforce, sb: sandbox.Sandbox
) -> None:
    url = f"{sb.salesforce_url}/__sandbox/salesforce/org-rules"
    with sf_session(sb) as s:
        on = s.post(url, json={"restricted_picklists": ["Account.Industry"]})
        not_a_boolean = s.post(url, json={"duplicate_rules": "true"})
        unknown = s.post(url, json={"restricted_picklist": []})

    assert on.status_code == 204
    with pytest.raises(SalesforceMalformedRequest) as refused:
        sf.Account.create({"Name": "Picky", "Industry": "Underwater Basket Weaving"})
    assert refused.value.content[0]["errorCode"] == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    assert not_a_boolean.status_code == 400
    assert "duplicate_rules" in not_a_boolean.json()["error"]
    assert unknown.status_code == 400 and "restricted_picklist" in unknown.json()["error"]
    assert sb.org.dml.rules.duplicate_rules is False  # nothing switched by a refused body
