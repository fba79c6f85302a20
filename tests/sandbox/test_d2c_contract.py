"""D2C stand-in against docs/d2c-api.yaml: every path, every documented error."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
import yaml
from sbkit import Webhook

import sandbox
from sandbox.d2c import contract


class D2C:
    """A thin client: base URL + token, JSON in and out."""

    def __init__(self, sb: sandbox.Sandbox, token: str) -> None:
        self.base = sb.d2c_url
        self.s = requests.Session()
        self.s.headers["Authorization"] = f"Bearer {token}"

    def __call__(self, method: str, path: str, **kw: Any) -> requests.Response:
        return self.s.request(method, self.base + path, **kw)

    def create(self, key: str = "k", **fields: Any) -> requests.Response:
        body = {"kind": "business", "name": "Acme GmbH", **fields}
        return self("POST", "/v1/customers", json=body, headers={"Idempotency-Key": key})


@pytest.fixture
def api(sb: sandbox.Sandbox) -> Iterator[D2C]:
    client = D2C(sb, sb.d2c_token)
    yield client
    client.s.close()


def _problem(r: requests.Response, status: int) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["Content-Type"].startswith("application/problem+json")
    body = r.json()
    assert body["status"] == status and body["type"].startswith("https://") and body["title"]
    return body


def test_every_contract_operation_is_served(sb: sandbox.Sandbox) -> None:
    doc = yaml.safe_load(contract.CONTRACT.read_text())
    ops = contract.operations()
    assert len(ops) == sum(
        1 for item in doc["paths"].values() for m in item if m in {"get", "post", "patch", "delete"}
    )
    with requests.Session() as s:
        s.headers["Authorization"] = f"Bearer {sb.d2c_token}"
        for method, path in ops:
            url = sb.d2c_url + path.replace("{customerId}", "cus_00000000").replace(
                "{userId}", "usr_00000000"
            )
            r = s.request(method, url, json={})
            assert r.status_code not in (405, 501), (method, path, r.status_code)
            assert r.status_code != 404 or "{customerId}" in path, (method, path)
    assert sb.stats()["d2c"]["total"] == len(ops)


def test_auth_required_everywhere(sb: sandbox.Sandbox) -> None:
    with requests.Session() as s:
        for method, path in contract.operations():
            url = sb.d2c_url + path.replace("{customerId}", "cus_x").replace("{userId}", "usr_x")
            r = s.request(method, url, headers={"Authorization": "Bearer wrong"})
            _problem(r, 401)
        _problem(s.get(sb.d2c_url + "/v1/customers"), 401)


def test_create_validation_and_conflicts(api: D2C) -> None:
    r = api.create(
        "k1",
        external_ref="001dL0000004C92QAE",
        billing_address={"line1": "1 Main St", "city": "Berlin", "country": "DE"},
        credit_terms={"limit": 50000, "currency": "EUR", "payment_terms_days": 45},
        salesforce={"account_id": "001dL0000004C92QAE"},
    )
    assert r.status_code == 201
    c = r.json()
    assert r.headers["Location"] == f"/v1/customers/{c['id']}"
    assert c["billing_address"] == {
        "line1": "1 Main St",
        "line2": None,
        "city": "Berlin",
        "region": None,
        "postal_code": None,
        "country": "DE",
    }
    assert c["salesforce"] == {
        "account_id": "001dL0000004C92QAE",
        "contact_id": None,
        "lead_id": None,
    }
    assert c["status"] == "active" and c["marketing_consent"] is False
    assert c["created_at"].endswith("Z") and len(c["created_at"]) == 24
    conflict = _problem(api.create("k2", external_ref="001dL0000004C92QAE"), 409)
    assert conflict["existing_id"] == c["id"]
    bad = _problem(api.create("k3", color="red", billing_address={"line1": "x", "city": "y"}), 400)
    fields = {e["field"] for e in bad["errors"]}
    assert {"color", "billing_address.country"} <= fields
    _problem(api("POST", "/v1/customers", data="{nope", headers={"Idempotency-Key": "k4"}), 400)
    bad_kind = _problem(api.create("k5", kind="alien"), 400)
    assert bad_kind["errors"][0]["field"] == "kind"
    long_name = _problem(api.create("k6", name="x" * 256), 400)
    assert long_name["errors"][0]["field"] == "name"


def test_idempotency_keys(api: D2C) -> None:
    first = api.create("same")
    replay = api.create("same")
    assert replay.status_code == 201 and replay.json() == first.json()
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    _problem(api.create("same", name="Other"), 422)
    missing = api("POST", "/v1/customers", json={"kind": "consumer", "name": "x"})
    _problem(missing, 428)
    _problem(api.create("x" * 256), 400)
    assert len(api("GET", "/v1/customers").json()["data"]) == 1


def test_etag_if_match_and_merge_patch(api: D2C) -> None:
    c = api.create(
        billing_address={"line1": "1 Main", "line2": "Floor 2", "city": "Berlin", "country": "DE"}
    ).json()
    path = f"/v1/customers/{c['id']}"
    _problem(api("PATCH", path, json={"name": "N"}), 428)
    stale = _problem(api("PATCH", path, json={"name": "N"}, headers={"If-Match": '"9"'}), 412)
    assert stale["status"] == 412
    r = api(
        "PATCH",
        path,
        json={
            "name": "New",
            "billing_address": {"line1": "2 Side", "city": "Bonn", "country": "DE"},
        },
        headers={"If-Match": '"1"', "Content-Type": "application/merge-patch+json"},
    )
    assert r.status_code == 200 and r.headers["ETag"] == '"2"'
    assert r.json()["version"] == 2 and r.json()["billing_address"]["line2"] == "Floor 2"
    assert r.json()["updated_at"] >= c["updated_at"]
    same = api("PATCH", path, json={"name": "New"}, headers={"If-Match": '"2"'})
    assert same.json()["version"] == 2  # nothing changed: no new version
    cleared = api("PATCH", path, json={"phone": None, "tax_id": "DE1"}, headers={"If-Match": "*"})
    assert cleared.json()["version"] == 3
    for bad in ({}, {"kind": "consumer"}, {"external_ref": "x"}, {"name": ""}):
        _problem(api("PATCH", path, json=bad, headers={"If-Match": '"3"'}), 400)
    _problem(api("PATCH", "/v1/customers/cus_missing00", json={"name": "x"}), 404)
    assert api("GET", path).headers["ETag"] == '"3"'


def test_deactivate_is_idempotent_and_blocks_changes(api: D2C) -> None:
    c = api.create().json()
    path = f"/v1/customers/{c['id']}"
    r1 = api("POST", path + "/deactivate", json={"reason": "churned"})
    r2 = api("POST", path + "/deactivate")
    assert r1.status_code == r2.status_code == 200
    assert r1.json()["status"] == "deactivated" and r1.json()["deactivation_reason"] == "churned"
    assert r2.json()["version"] == r1.json()["version"] == 2
    _problem(api("POST", path + "/deactivate", json={"why": "x"}), 400)
    _problem(api("PATCH", path, json={"name": "x"}, headers={"If-Match": '"2"'}), 409)
    _problem(
        api(
            "POST", path + "/users", json={"email": "a@b.example"}, headers={"Idempotency-Key": "u"}
        ),
        409,
    )
    _problem(api("POST", "/v1/customers/cus_missing00/deactivate"), 404)


def test_cursor_paging_updated_since_and_filters(api: D2C, sb: sandbox.Sandbox) -> None:
    ids = [api.create(f"k{i}", external_ref=f"ref-{i}").json()["id"] for i in range(7)]
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 3}
        if cursor:
            params["cursor"] = cursor
        page = api("GET", "/v1/customers", params=params).json()
        seen += [c["id"] for c in page["data"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(ids) and len(seen) == 7
    customers = {c["id"]: c for c in sb.d2c_customers()}
    keys = [(customers[i]["updated_at"], i) for i in seen]
    assert keys == sorted(keys)
    one = api("GET", "/v1/customers", params={"external_ref": "ref-3"}).json()
    assert [c["id"] for c in one["data"]] == [ids[3]] and one["next_cursor"] is None
    # a change moves the customer to the end of the (updated_at, id) order
    moved = api("PATCH", f"/v1/customers/{ids[0]}", json={"name": "Z"}, headers={"If-Match": '"1"'})
    since = moved.json()["updated_at"]
    later = api("GET", "/v1/customers", params={"updated_since": since}).json()["data"]
    assert ids[0] in [c["id"] for c in later]
    api("POST", f"/v1/customers/{ids[1]}/deactivate")
    inactive = api("GET", "/v1/customers", params={"status": "deactivated"}).json()["data"]
    assert [c["id"] for c in inactive] == [ids[1]]
    for bad in (
        {"limit": 0},
        {"limit": 1001},
        {"limit": "x"},
        {"updated_since": "yesterday"},
        {"status": "gone"},
        {"cursor": "!!"},
        {"external_ref": "r" * 65},
    ):
        _problem(api("GET", "/v1/customers", params=bad), 400)


def test_lookup_by_external_refs(api: D2C) -> None:
    a = api.create("a", external_ref="A").json()
    b = api.create("b", external_ref="B").json()
    r = api("POST", "/v1/customers/lookup", json={"external_refs": ["B", "nope", "A", "B"]})
    assert [c["id"] for c in r.json()["data"]] == [b["id"], a["id"]]
    big = api(
        "POST", "/v1/customers/lookup", json={"external_refs": [f"r{i}" for i in range(2000)]}
    )
    assert big.status_code == 200 and big.json() == {"data": []}
    _problem(api("POST", "/v1/customers/lookup", json={"external_refs": ["x"] * 2001}), 400)
    _problem(api("POST", "/v1/customers/lookup", json={"external_refs": []}), 400)
    _problem(api("POST", "/v1/customers/lookup", json={"external_refs": ["a"], "x": 1}), 400)


def test_users_invite_list_remove(api: D2C) -> None:
    c = api.create().json()
    users = f"/v1/customers/{c['id']}/users"
    invite = {
        "email": "ada@acme.example",
        "first_name": "Ada",
        "external_ref": "003dL0000004C92QAE",
    }
    r = api("POST", users, json=invite, headers={"Idempotency-Key": "inv"})
    assert r.status_code == 201
    user = r.json()
    assert user["status"] == "invited" and user["role"] == "buyer" and user["id"].startswith("usr_")
    replay = api("POST", users, json=invite, headers={"Idempotency-Key": "inv"})
    assert replay.json() == user and replay.headers["Idempotent-Replayed"] == "true"
    _problem(
        api("POST", users, json={"email": "x@y.example"}, headers={"Idempotency-Key": "inv"}), 422
    )
    _problem(api("POST", users, json=invite), 428)
    dup = {"email": "ADA@acme.example"}
    _problem(api("POST", users, json=dup, headers={"Idempotency-Key": "dup"}), 409)
    _problem(api("POST", users, json={"email": "nope"}, headers={"Idempotency-Key": "bad"}), 400)
    _problem(
        api(
            "POST",
            users,
            json={"email": "a@b.example", "role": "boss"},
            headers={"Idempotency-Key": "role"},
        ),
        400,
    )
    listed = api("GET", users).json()["data"]
    assert [u["id"] for u in listed] == [user["id"]]
    assert api("DELETE", f"{users}/{user['id']}").status_code == 204
    assert api("DELETE", f"{users}/{user['id']}").status_code == 204
    assert api("GET", users).json()["data"][0]["status"] == "removed"
    again = api("POST", users, json=dup, headers={"Idempotency-Key": "again"})
    assert again.status_code == 201  # the email is free once removed
    _problem(api("DELETE", f"{users}/usr_missing000"), 404)
    _problem(api("GET", "/v1/customers/cus_missing00/users"), 404)
    _problem(
        api(
            "POST",
            "/v1/customers/cus_missing00/users",
            json=invite,
            headers={"Idempotency-Key": "z"},
        ),
        404,
    )


def test_registrations(sb: sandbox.Sandbox) -> None:
    store = D2C(sb, sb.d2c_storefront_token)
    body = {
        "email": "bob@bobs.example",
        "last_name": "Builder",
        "first_name": "Bob",
        "company_name": "Bob's Bricks",
    }
    r = store("POST", "/v1/registrations", json=body, headers={"Idempotency-Key": "r1"})
    assert r.status_code == 201 and r.headers["ETag"] == '"1"'
    c = r.json()
    assert c["kind"] == "business" and c["name"] == "Bob's Bricks"
    assert c["email_domain"] == "bobs.example"
    [user] = sb.d2c_users(c["id"])
    assert user["status"] == "active" and user["email"] == "bob@bobs.example"
    consumer = store(
        "POST",
        "/v1/registrations",
        json={"email": "cat@mail.example", "last_name": "Stevens"},
        headers={"Idempotency-Key": "r2"},
    ).json()
    assert consumer["kind"] == "consumer" and consumer["name"] == "Stevens"
    _problem(store("POST", "/v1/registrations", json=body, headers={"Idempotency-Key": "r3"}), 409)
    _problem(
        store("POST", "/v1/registrations", json=body | {"x": 1}, headers={"Idempotency-Key": "r4"}),
        400,
    )
    _problem(
        store(
            "POST",
            "/v1/registrations",
            json={"email": "a@b.example"},
            headers={"Idempotency-Key": "r5"},
        ),
        400,
    )
    _problem(
        store(
            "POST",
            "/v1/registrations",
            json=body | {"last_name": "Other"},
            headers={"Idempotency-Key": "r1"},
        ),
        422,
    )
    _problem(store("POST", "/v1/registrations", json=body), 428)
    store.s.close()


def test_unknown_routes_and_methods(api: D2C) -> None:
    _problem(api("GET", "/v2/customers"), 404)
    _problem(api("PUT", "/v1/customers"), 405)
    _problem(api("GET", "/v1/customers/not-an-id"), 404)


def test_d2c_events(sb: sandbox.Sandbox, webhook: Webhook, api: D2C) -> None:
    sb.set_events_to(d2c=webhook.url)
    registered = sb.d2c_register(
        email="eve@evecorp.example", last_name="Eve", company_name="Eve Corp"
    )
    c = api.create(external_ref="001dL0000004C92QAE").json()
    api("PATCH", f"/v1/customers/{c['id']}", json={"phone": "+1"}, headers={"If-Match": '"1"'})
    sb.d2c_edit(registered["id"], {"marketing_consent": True})
    assert sb.wait_events_drained(10)
    events = webhook.received()
    assert [e["type"] for e in events] == [
        "customer.registered",
        "customer.updated",
        "customer.updated",
    ]
    reg = events[0]
    assert reg["specversion"] == "1.0" and reg["source"] == "/d2c/customers"
    assert reg["subject"] == f"customers/{registered['id']}"
    assert reg["datacontenttype"] == "application/json" and reg["time"].endswith("Z")
    assert reg["data"]["origin"] == "storefront"
    assert reg["data"]["user"]["email"] == "eve@evecorp.example"
    assert "changed_fields" not in reg["data"]
    upd = events[1]["data"]
    assert upd["origin"] == "crosswalk" and upd["changed_fields"] == ["phone"]
    assert upd["customer"]["version"] == 2 and upd["user"] is None
    assert events[2]["data"]["origin"] == "storefront"
    assert events[2]["data"]["changed_fields"] == ["marketing_consent"]
    # creating through the API is not a registration: no event for it
    assert len({e["id"] for e in events}) == 3


def test_reactivate_brings_a_customer_back_and_is_idempotent(api: D2C) -> None:
    c = api.create().json()
    path = f"/v1/customers/{c['id']}"
    api("POST", path + "/deactivate", json={"reason": "crosswalk: compensated"})

    back = api("POST", path + "/reactivate", json={"reason": "retried"})
    again = api("POST", path + "/reactivate")

    assert back.status_code == again.status_code == 200
    assert back.json()["status"] == "active" and back.json()["deactivation_reason"] is None
    assert back.json()["version"] == again.json()["version"] == 3
    assert back.headers["ETag"] == '"3"'
    _problem(api("POST", path + "/reactivate", json={"why": "x"}), 400)
    _problem(api("POST", "/v1/customers/cus_missing00/reactivate"), 404)
    changed = api("PATCH", path, json={"name": "Back"}, headers={"If-Match": '"3"'})
    assert changed.status_code == 200
