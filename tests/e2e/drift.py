"""Building an "already in sync" org quickly, then drifting it on purpose, for reconciliation tests.

The baseline is what a finished onboarding leaves behind, written through the real APIs
instead of thousands of sagas: the D2C customer (D2C API), the Salesforce D2C ids (sObject
Collections, 200 a call) and the unified profile (the profile store).
"""

from __future__ import annotations

import json
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import requests

from crosswalk.clients.salesforce_limits import QUERY_BATCH, query_pages
from crosswalk.mapping import plan_onboarding
from crosswalk.models import ProfileStatus, UnifiedProfile
from crosswalk.rules import approval_reasons, qualifies_for_onboarding
from crosswalk.salesforce_records import SalesforceAccount
from crosswalk.settings import ApprovalSettings, OnboardingSettings

ONBOARDING = OnboardingSettings.model_validate({})
APPROVAL = ApprovalSettings.model_validate({})
DURABLE = "/runtime/webhooks/durabletask"


@dataclass
class Org:
    """The seeded accounts, sorted by what a run should make of them."""

    accounts: dict[str, SalesforceAccount]
    plain: list[str] = field(default_factory=list)  # qualify, map, no approval needed
    other_qualifying: list[str] = field(default_factory=list)  # qualify, map, need approval
    not_qualifying: list[str] = field(default_factory=list)
    unmappable: list[str] = field(default_factory=list)  # qualify, but the data cannot map


def read_org(sb: Any) -> Org:
    contacts: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for contact in sb.salesforce_records("Contact"):
        contacts[contact["AccountId"]].append(contact)
    accounts = {}
    org = Org(accounts=accounts)
    for record in sb.salesforce_records("Account"):
        account = SalesforceAccount.model_validate(
            {**record, "Contacts": contacts.get(record["Id"], [])}
        )
        accounts[account.Id] = account
        if not qualifies_for_onboarding(account, ONBOARDING):
            org.not_qualifying.append(account.Id)
        elif plan_onboarding(account, ONBOARDING).ok:
            if approval_reasons(account, APPROVAL):
                org.other_qualifying.append(account.Id)
            else:
                org.plain.append(account.Id)
        else:
            org.unmappable.append(account.Id)
    return org


class Apis:
    """Plain HTTP clients for the sandbox, as any integration would talk to it."""

    def __init__(self, sb: Any) -> None:
        self.sb = sb
        self.d2c = requests.Session()
        self.d2c.headers["Authorization"] = f"Bearer {sb.d2c_token}"
        self.sf = requests.Session()
        self.sf.verify = sb.ca_bundle
        self.sf.trust_env = False
        self.sf.headers["Authorization"] = f"Bearer {sb.salesforce_token()}"
        self.sf_base = f"{sb.salesforce_url}/services/data/v{sb.api_version}"

    def create_customer(self, account: SalesforceAccount) -> dict[str, Any]:
        plan = plan_onboarding(account, ONBOARDING)
        assert plan.customer is not None
        response = self.d2c.post(
            f"{self.sb.d2c_url}/v1/customers",
            json=plan.customer.model_dump(mode="json", exclude_none=True),
            headers={"Idempotency-Key": f"baseline-{account.Id}"},
        )
        assert response.status_code == 201, response.text
        return response.json()

    def update_accounts(self, records: list[dict[str, Any]]) -> None:
        for start in range(0, len(records), 200):
            chunk = [{"attributes": {"type": "Account"}, **r} for r in records[start : start + 200]]
            response = self.sf.patch(
                f"{self.sf_base}/composite/sobjects", json={"allOrNone": True, "records": chunk}
            )
            assert response.status_code == 200, response.text
            assert all(r["success"] for r in response.json()), response.text


def seed_customer(sb: Any, account: SalesforceAccount) -> dict[str, Any]:
    """Create the D2C customer inside the sandbox (1 ms per HTTP call adds up over thousands)."""
    plan = plan_onboarding(account, ONBOARDING)
    assert plan.customer is not None
    with sb.d2c.lock:
        return dict(
            sb.d2c.create_customer(
                plan.customer.model_dump(mode="json", exclude_none=True), "crosswalk"
            )
        )


def in_sync(sb: Any, store: Any, org: Org, account_ids: list[str]) -> dict[str, dict[str, Any]]:
    """Make the given accounts look onboarded; returns their D2C customers by account id."""
    apis = Apis(sb)
    if len(account_ids) > 200:  # the sandbox's own D2C store: the code its API runs, minus HTTP
        created = [seed_customer(sb, org.accounts[a]) for a in account_ids]
    else:
        with ThreadPoolExecutor(max_workers=8) as pool:
            created = list(pool.map(lambda a: apis.create_customer(org.accounts[a]), account_ids))
    customers = {c["external_ref"]: c for c in created}
    apis.update_accounts([{"Id": a, "D2C_Customer_Id__c": customers[a]["id"]} for a in account_ids])
    for account_id in account_ids:
        account, customer = org.accounts[account_id], customers[account_id]
        plan = plan_onboarding(account, ONBOARDING)
        store.upsert(
            UnifiedProfile(
                sf_account_id=account_id,
                name=customer["name"],
                status=ProfileStatus.ACTIVE,
                d2c_customer_id=customer["id"],
                primary_email=plan.primary_user.email if plan.primary_user else None,
                email_domain=customer["email_domain"],
                country=(customer["billing_address"] or {}).get("country"),
            )
        )
    return customers


def hold_claim(host: Any, account_id: str, at: str, instance_id: str | None = None) -> None:
    """An onboarding that claimed the record at `at` and never came back (crashed, stuck)."""
    body = {
        "instance_id": instance_id or f"onboard-{account_id}-lost",
        "modstamp": "2024-01-01T00:00:00+00:00",
        "at": at,
    }
    # the SDK reads an operation's input as JSON text, so the body is a JSON string of JSON
    path = f"{DURABLE}/entities/record_sync/{account_id}?op=claim"
    response = host.post(path, json=json.dumps(body))
    assert response.status in (200, 202), response.text


def run_reconciliation(host: Any, timeout: float = 60, **body: Any) -> dict[str, Any]:
    started = host.post("/api/reconciliations", json=body)
    assert started.status == 202, started.text
    status = host.wait_for(started.json()["runId"], timeout=timeout)
    assert status["runtimeStatus"] == "Completed", status
    return report(host, started.json()["runId"])


def report(host: Any, run_id: str) -> dict[str, Any]:
    response = host.get(f"/api/reconciliations/{run_id}")
    assert response.status == 200, response.text
    return response.json()


def by_class(report_body: dict[str, Any]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = defaultdict(set)
    for finding in report_body["findings"]:
        out[finding["drift"]].add(finding["sf_account_id"])
    return dict(out)


def scan_floor(sb: Any, since: str = "", batch: int = QUERY_BATCH) -> int:
    """The query calls a reconciliation scan needs at least: the Accounts it reads (queryAll,
    so deleted ones too) in `SystemModstamp, Id` order, each with its Contacts as the query
    returns them (deleted ones too: ALL ROWS), packed into pages where child rows count
    (`query_pages`)."""
    contacts: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for contact in sb.salesforce_records("Contact", include_deleted=True):
        contacts[contact["AccountId"]].append(contact)
    accounts = sorted(
        (a for a in sb.salesforce_records("Account", include_deleted=True)),
        key=lambda a: (a["SystemModstamp"], a["Id"]),
    )
    rows = [len(contacts[a["Id"]]) for a in accounts if a["SystemModstamp"] > since]
    return query_pages(rows, batch)


def never_synced(sb: Any, accounts: int, contacts_each: int) -> list[str]:
    """An org that has never met Crosswalk: `accounts` qualifying Accounts (no approval
    needed), each with `contacts_each` Contacts, the first its primary; returns their Ids."""
    ids = []
    for n in range(accounts):
        domain = f"firm{n:05d}.example"
        account_id = sb.salesforce_create(
            "Account",
            {
                "Name": f"Firm {n:05d} GmbH",
                "Type": "Customer - Direct",
                "Industry": "Manufacturing",
                "Website": f"https://www.{domain}",
                "BillingStreet": f"Hauptstrasse {n % 200 + 1}",
                "BillingCity": "Berlin",
                "BillingPostalCode": "10115",
                "BillingCountry": "Germany",
                "Tax_Id__c": f"DE{n:09d}",
                "Credit_Limit__c": 10_000,
                "Payment_Terms_Days__c": 30,
            },
        )
        for c in range(contacts_each):
            sb.salesforce_create(
                "Contact",
                {
                    "AccountId": account_id,
                    "FirstName": "Ada",
                    "LastName": f"Buyer {c}",
                    "Email": f"buyer{c}@{domain}",
                    "Primary_Contact__c": c == 0,
                },
            )
        ids.append(account_id)
    return ids
