"""D2C stand-in: create/get with idempotency and ETag (the contract tests go further)."""

from __future__ import annotations

import requests

import sandbox


def test_create_and_get_customer(sb: sandbox.Sandbox) -> None:
    h = {"Authorization": f"Bearer {sb.d2c_token}", "Idempotency-Key": "k1"}
    body = {"kind": "business", "name": "Acme GmbH", "external_ref": "001dL0000004C92QAE"}
    with requests.Session() as s:
        r = s.post(f"{sb.d2c_url}/v1/customers", json=body, headers=h)
        assert r.status_code == 201, r.text
        customer = r.json()
        assert customer["id"].startswith("cus_") and customer["version"] == 1
        assert r.headers["ETag"] == '"1"'
        again = s.post(f"{sb.d2c_url}/v1/customers", json=body, headers=h)
        assert again.status_code == 201 and again.json() == customer
        assert again.headers["Idempotent-Replayed"] == "true"
        got = s.get(f"{sb.d2c_url}/v1/customers/{customer['id']}", headers=h)
        assert got.json() == customer
