"""Erasing a person end to end (devhost + sandbox): support asks, the saga removes them from
D2C, Salesforce, the profile store and its lookups, the raw zone, the curated tables and their
older versions, dead letters and reports; each store is read back; a receipt stays, without
personal data; a replay, a reconciliation and a new sign-up afterwards bring nothing back."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import pytest

from crosswalk.erasure.keys import Person, tombstones
from crosswalk.lake.curated import ProfileTable
from crosswalk.lake.folder import FolderLake
from crosswalk.lake.raw import RawZone, decode_lines
from crosswalk.replay import AppClient, replay
from crosswalk.settings import LakeKind, LakeSettings
from tests.e2e.sync import (
    D2C_EVENTS,
    deliver,
    entity,
    instances,
    list_instances,
    onboarded,
    settle,
    waiting_for_approval,
    wire_d2c_events,
)
from tests.support.stack import easy_auth_principal

pytestmark = pytest.mark.slow
APPROVER = easy_auth_principal("lee@support", "Support.Approve")


def _raw_text(lake: FolderLake) -> str:
    return "\n".join(
        json.dumps(line)
        for path in lake.list("raw/")
        if path.endswith(".jsonl")
        for line in decode_lines(lake.get_bytes(path), path)
    ).lower()


def _wait_raw(lake: FolderLake, needle: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while needle not in _raw_text(lake):
        assert time.monotonic() < deadline, f"{needle} never landed"
        time.sleep(0.05)


def _dead_lettered(*emails: str) -> bytes:
    """A blob as Event Grid dead-letters D2C sign-ups (docs/sandbox.md): an array of events."""
    return json.dumps(
        [
            {
                "specversion": "1.0",
                "id": f"evt-{n}",
                "source": "/d2c/customers",
                "type": "customer.registered",
                "data": {"email": address},
                "deadletterreason": "MaxDeliveryAttemptsExceeded",
            }
            for n, address in enumerate(emails)
        ]
    ).encode()


def _erase(stack, **body) -> dict:
    response = stack.host.post(
        "/api/support/erasures", json={**body, "reason": "ticket 4711"}, headers=APPROVER
    )
    assert response.status == 202, response.text
    started = response.json()
    status = stack.host.wait_for(started["instanceId"], timeout=60)
    assert status["runtimeStatus"] == "Completed", status
    return {**started, "output": status["output"]}


def test_an_erasure_removes_the_person_from_every_store_and_nothing_brings_them_back(
    stack_factory,
):
    stack = wire_d2c_events(stack_factory(seed=12, LAKE_RAW_FLUSH_SECONDS="0.05"))
    (account,) = onboarded(stack, 1)
    domain = stack.profiles().get(account["Id"]).email_domain
    email = f"jane.doe@{domain}"
    customer = stack.sb.d2c_register(
        email=email, last_name="Doe", first_name="Jane", marketing_consent=True
    )
    (user,) = stack.sb.d2c_users(customer["id"])
    settle(stack)
    lake = FolderLake(stack.data / "lake")
    _wait_raw(lake, email)
    lake.put_json("deadletter/d2c/2026/01/01/evt-x.json", {"event": {"user": {"email": email}}})
    letters = FolderLake(stack.data / "eventgrid-deadletter")  # Event Grid's container
    theirs, mixed = "CROSSWALK-D2C/2026/3/4/9/a.json", "CROSSWALK-D2C/2026/3/4/10/b.json"
    letters.put_bytes(theirs, _dead_lettered(email), content_type="application/json")
    letters.put_bytes(
        mixed, _dead_lettered("sam@other.example", email), content_type="application/json"
    )
    table = ProfileTable.from_settings(
        LakeSettings.model_validate({"kind": LakeKind.FOLDER, "folder": stack.data / "lake"})
    )
    table.refresh(stack.profiles())
    assert any(r["email"] == email for r in table.people.rows())
    old_versions = table.people.version()

    done = _erase(stack, email=email.upper())

    receipt = done["output"]["receipt"]
    assert done["output"]["outcome"] == "erased" and receipt["accounts"] == [account["Id"]]
    assert email not in json.dumps(receipt).lower() and "jane" not in json.dumps(receipt).lower()
    # D2C: the user's data is gone
    erased_user = next(u for u in stack.sb.d2c_users(customer["id"]) if u["id"] == user["id"])
    assert erased_user["email"].endswith("@erased.invalid") and erased_user["last_name"] is None
    # Salesforce: the Contact kept for the books, anonymised (the default)
    contacts = [
        c for c in stack.sb.salesforce_records("Contact") if c["AccountId"] == account["Id"]
    ]
    assert all(c["Email"] != email for c in contacts)
    assert any(c["LastName"] == "Erased" and c["Email"] is None for c in contacts)
    # profile store and lookups
    profile = stack.profiles().get(account["Id"])
    assert all(p.email != email and p.d2c_user_id != user["id"] for p in profile.contacts)
    assert stack.profiles().find_by_email(email) == []
    link = entity(stack, "signup_link", customer["id"])
    assert link["email"] is None and link["changes"] == [] and link["status"] == "linked"
    # the task hub: their sign-up's instances (whose input carried them) purged, the
    # account's onboarding (from before they signed up) kept; the receipt names ids only
    purged = receipt["steps"]["task_hub"]["purged"]
    assert purged and all(i.startswith(f"signup-{customer['id']}-") for i in purged)
    assert receipt["purge"] == [] and receipt["steps"]["task_hub"]["instances_purged"] >= 1
    assert not list_instances(stack.host, f"instanceIdPrefix=signup-{customer['id']}-")
    assert list_instances(stack.host, f"instanceIdPrefix=onboard-{account['Id']}-")
    # raw zone and dead letters
    assert email not in _raw_text(lake) and user["id"].lower() not in _raw_text(lake)
    assert lake.list("deadletter/d2c/2026/01/01/") == []
    assert not letters.exists(theirs)  # Event Grid's: a blob of theirs only goes whole
    kept = json.loads(letters.get_bytes(mixed))
    assert [e["data"]["email"] for e in kept] == ["sam@other.example"]
    assert receipt["steps"]["lake"]["eventgrid_events_removed"] == 2
    # curated tables, every version still readable
    assert not any(r["email"] == email for r in table.people.rows())
    readable = []
    for version in range(table.people.version() + 1):
        try:
            rows = table.people.rows(version=version)
        except Exception as exc:  # vacuumed: the files only that version needed are gone
            assert "not found" in str(exc).lower() or "no such file" in str(exc).lower(), exc
            continue
        readable.append(version)
        assert not any(r["email"] == email for r in rows), version
    assert readable and max(readable) > old_versions  # the newest is read, older ones vacuumed
    assert old_versions not in readable
    # the audit log names the request, never the person
    audit = stack.host.get("/api/support/audit?limit=50", headers=APPROVER).json()
    assert "erase" in json.dumps(audit) and email not in json.dumps(audit).lower()
    # the receipt is served to support staff
    served = stack.host.get(f"/api/support/erasures/{done['requestId']}", headers=APPROVER)
    assert served.json()["receipt"]["outcome"] == "erased"
    record = stack.host.get(f"/api/support/records/{account['Id']}", headers=APPROVER).json()
    assert any(e["source"] == "erasure" for e in record["timeline"])

    # a replay of the raw window, a reconciliation and a new sign-up bring nothing back
    zone, app = RawZone(lake), AppClient(stack.host.url, None)
    now = datetime.now(UTC)
    replay(zone, app, now - timedelta(days=1), now + timedelta(hours=1), dry_run=False)
    app.close()
    assert stack.host.post("/api/reconciliations").status in (200, 202)
    again = stack.sb.d2c_register(email=email, last_name="Doe", first_name="Jane")
    settle(stack)
    (signup,) = [i for i in instances(stack, f"signup-{again['id']}")]
    assert signup["output"]["outcome"] == "erased"
    after = stack.profiles().get(account["Id"])
    assert all(p.email != email for p in after.contacts)
    assert stack.profiles().find_by_email(email) == []
    assert [c for c in stack.sb.salesforce_records("Contact") if c["Email"] == email] == []
    key = stack.env["ERASURE_KEY"].encode()
    assert stack.profiles().tombstoned(tombstones(key, Person(email=email)))


def test_a_d2c_erasure_event_by_user_id_deletes_the_salesforce_record_and_is_never_landed(
    stack_factory,
):
    stack = wire_d2c_events(
        stack_factory(seed=12, LAKE_RAW_FLUSH_SECONDS="0.05", ERASURE_SALESFORCE="delete")
    )
    (account,) = onboarded(stack, 1)
    domain = stack.profiles().get(account["Id"]).email_domain
    email = f"sam.lee@{domain}"
    customer = stack.sb.d2c_register(email=email, last_name="Lee", first_name="Sam")
    (user,) = stack.sb.d2c_users(customer["id"])
    settle(stack)
    (contact,) = [c for c in stack.sb.salesforce_records("Contact") if c["Email"] == email]

    event = {
        "specversion": "1.0",
        "id": "evt-erasure-1",
        "source": "/d2c/privacy",
        "type": "person.erasure_requested",
        "time": datetime.now(UTC).isoformat(),
        "data": {"request_id": "req-d2c-000001", "user_id": user["id"], "email": email},
    }
    deliver(stack, event, D2C_EVENTS)
    status = stack.host.wait_for("erase-req-d2c-000001", timeout=60)

    assert status["output"]["outcome"] == "erased"
    assert status["output"]["receipt"]["steps"]["salesforce"]["mode"] == "delete"
    assert all(c["Id"] != contact["Id"] for c in stack.sb.salesforce_records("Contact"))
    assert stack.profiles().find_by_email(email) == []
    time.sleep(0.3)  # two landing periods: the erasure event itself is never written
    assert "req-d2c-000001" not in _raw_text(FolderLake(stack.data / "lake"))


def test_a_malformed_erasure_event_starts_nothing_and_keeps_nothing(stack_factory):
    stack = stack_factory(seed=12, LAKE_RAW_FLUSH_SECONDS="0.05")
    event = {
        "specversion": "1.0",
        "id": "evt-erasure-bad",
        "source": "/d2c/privacy",
        "type": "person.erasure_requested",
        "data": {"request_id": "req-bad-000001", "email": "not-an-email"},
    }

    deliver(stack, event, D2C_EVENTS)

    assert instances(stack, "erase-") == []
    lake = FolderLake(stack.data / "lake")
    time.sleep(0.3)
    assert lake.list("deadletter/") == [] and "not-an-email" not in _raw_text(lake)


def test_a_step_that_keeps_failing_ends_needs_attention_and_a_new_request_finishes(
    stack_factory,
):
    stack = wire_d2c_events(stack_factory(seed=12, LAKE_RAW_FLUSH_SECONDS="0.05"))
    (account,) = onboarded(stack, 1)
    domain = stack.profiles().get(account["Id"]).email_domain
    email = f"kim.park@{domain}"
    customer = stack.sb.d2c_register(email=email, last_name="Park", first_name="Kim")
    settle(stack)
    stack.sb.faults("d2c", path=r"/erase$", method="POST", status=503)

    failed = _erase(stack, email=email)

    receipt = failed["output"]["receipt"]
    assert failed["output"]["outcome"] == "needs_attention"
    assert receipt["failed_step"] == "erasure_d2c" and "d2c" not in receipt["steps"]
    assert stack.profiles().find_by_email(email)  # the later steps have not run
    record = stack.host.get(f"/api/support/records/{account['Id']}", headers=APPROVER).json()
    (event,) = [e for e in record["timeline"] if e["source"] == "erasure"]
    assert "needs_attention" in event["summary"] and "erasure_d2c" in event["summary"]

    stack.sb.clear_faults("d2c")
    done = _erase(stack, email=email)

    assert done["output"]["outcome"] == "erased"
    assert stack.profiles().find_by_email(email) == []
    user = stack.sb.d2c_users(customer["id"])[0]
    assert user["email"].endswith("@erased.invalid")


def test_an_unmatched_sign_up_erased_by_email_leaves_its_lead_anonymised(stack_factory):
    stack = wire_d2c_events(stack_factory(seed=12, LAKE_RAW_FLUSH_SECONDS="0.05"))
    onboarded(stack, 1)
    email = "lee.solo@gmail.com"
    customer = stack.sb.d2c_register(email=email, last_name="Solo", first_name="Lee")
    settle(stack)
    (lead,) = [r for r in stack.sb.salesforce_records("Lead") if r["Email"] == email]

    done = _erase(stack, email=email)

    assert done["output"]["outcome"] == "erased", json.dumps(done["output"]["error"])
    assert done["output"]["receipt"]["accounts"] == []  # a Lead belongs to no account
    after = stack.sb.salesforce_record("Lead", lead["Id"])
    assert after["Email"] is None and after["LastName"] == "Erased"
    assert after["FirstName"] is None and after["Company"] == "Erased"
    (user,) = stack.sb.d2c_users(customer["id"])
    assert user["email"].endswith("@erased.invalid")
    assert stack.sb.d2c_customer(customer["id"])["name"] == "Erased customer"


def test_an_instance_still_running_when_they_are_erased_is_purged_once_it_ends(stack_factory):
    from scripts.localstack import onboardable_accounts

    stack = stack_factory(seed=40, time_skipping=False, LAKE_RAW_FLUSH_SECONDS="0.05")
    account = onboardable_accounts(stack.sb, needs_approval=True)[0]
    contact = next(
        c
        for c in stack.sb.salesforce_records("Contact")
        if c["AccountId"] == account["Id"] and c["Email"]
    )
    onboarding = stack.onboard(account["Id"])["id"]
    waiting_for_approval(stack, onboarding)  # the Contacts are in its history then

    done = _erase(stack, email=contact["Email"])

    assert done["output"]["receipt"]["purge"] == [onboarding]
    # an event Event Grid was still retrying lands in its dead-letter container afterwards
    letters = FolderLake(stack.data / "eventgrid-deadletter")
    late = "CROSSWALK-D2C/2026/3/5/9/late.json"
    letters.put_bytes(late, _dead_lettered(contact["Email"]), content_type="application/json")
    assert stack.decide(onboarding, "reject", "not a customer after all").status == 202
    stack.host.wait_for(onboarding, timeout=60)
    stack.host.advance(timedelta(hours=1))  # the purge timer's minute comes round
    deadline = time.monotonic() + 30
    while list_instances(stack.host, f"instanceIdPrefix={onboarding}"):
        assert time.monotonic() < deadline, "the finished onboarding was never purged"
        time.sleep(0.1)
    served = stack.host.get(f"/api/support/erasures/{done['requestId']}", headers=APPROVER)
    receipt = served.json()["receipt"]
    assert receipt["purge"] == [] and receipt["steps"]["task_hub"]["instances_purged"] >= 1
    while letters.exists(late):  # the same timer swept it: the tombstone named them
        assert time.monotonic() < deadline, "the late dead letter was never erased"
        time.sleep(0.1)
