"""Change events: CloudEvents carrying the CometD form of Account/Contact changes."""

from __future__ import annotations

from typing import Any

from sbkit import Webhook, sf_client, wait_until
from simple_salesforce import Salesforce

import sandbox


def _payloads(hook: Webhook) -> list[dict[str, Any]]:
    return [e["data"]["payload"] for e in hook.received()]


def test_create_update_delete_events(sb: sandbox.Sandbox, webhook: Webhook) -> None:
    sb.set_events_to(salesforce=webhook.url)
    sf = sf_client(sb, "crosswalk")
    aid = sf.Account.create({"Name": "Acme", "BillingCity": "Berlin", "BillingCountry": "Germany"})[
        "id"
    ]
    sf.Account.update(aid, {"Phone": "+49 1", "BillingCity": "Hamburg"})
    cid = sf.Contact.create({"LastName": "Doe", "FirstName": "Jo", "AccountId": aid})["id"]
    sf.Account.delete(aid)  # the contact goes with it
    assert sb.wait_events_drained(10)
    events = webhook.received()
    assert [e["data"]["payload"]["ChangeEventHeader"]["changeType"] for e in events] == [
        "CREATE",
        "UPDATE",
        "CREATE",
        "DELETE",
        "DELETE",
    ]
    create = events[0]
    assert create["specversion"] == "1.0"
    assert create["type"] == "com.salesforce.cdc.AccountChangeEvent"
    assert create["source"] == "/services/data/v59.0/sobjects/Account"
    assert create["subject"] == aid and create["datacontenttype"] == "application/json"
    assert create["time"].endswith("Z")
    data = create["data"]
    assert isinstance(data["schema"], str) and data["event"]["replayId"] >= 1
    payload = data["payload"]
    header = payload["ChangeEventHeader"]
    assert header["entityName"] == "Account" and header["recordIds"] == [aid]
    assert header["changedFields"] == [] and header["sequenceNumber"] == 1
    assert header["changeOrigin"] == "com/salesforce/api/rest/59.0;client=crosswalk"
    assert header["commitUser"] == sb.integration_user_id
    assert isinstance(header["commitTimestamp"], int) and isinstance(header["commitNumber"], int)
    assert payload["Name"] == "Acme"
    assert payload["BillingAddress"] == {"City": "Berlin", "Country": "Germany"}
    assert payload["LastModifiedDate"].endswith(".000Z") or payload["LastModifiedDate"][-1] == "Z"
    for absent in ("SystemModstamp", "IsDeleted", "Id", "Phone", "BillingCity"):
        assert absent not in payload
    update = events[1]["data"]["payload"]
    assert set(update["ChangeEventHeader"]["changedFields"]) == {
        "Phone",
        "BillingAddress.City",
        "LastModifiedDate",
    }
    assert update["Phone"] == "+49 1" and update["BillingAddress"] == {"City": "Hamburg"}
    assert "Name" not in update and "LastModifiedDate" in update
    contact = events[2]
    assert contact["type"] == "com.salesforce.cdc.ContactChangeEvent"
    assert contact["data"]["payload"]["Name"] == {"FirstName": "Jo", "LastName": "Doe"}
    deletes = [e["data"]["payload"] for e in events[3:]]
    assert {p["ChangeEventHeader"]["recordIds"][0] for p in deletes} == {aid, cid}
    assert (
        deletes[0]["ChangeEventHeader"]["transactionKey"]
        == deletes[1]["ChangeEventHeader"]["transactionKey"]
    )
    assert [set(p) for p in deletes] == [{"ChangeEventHeader"}, {"ChangeEventHeader"}]
    replay_ids = [e["data"]["event"]["replayId"] for e in events]
    assert replay_ids == sorted(replay_ids) and len(set(replay_ids)) == 5
    assert len({e["id"] for e in events}) == 5
    req = webhook.requests[0]
    assert req["headers"]["Content-Type"].startswith("application/cloudevents+json")
    assert req["headers"]["aeg-event-type"] == "Notification"
    assert req["query"] == {"functionName": "test"}
    sf.session.close()


def test_person_edits_have_admin_commit_user_and_empty_origin(
    sb: sandbox.Sandbox, webhook: Webhook
) -> None:
    sb.set_events_to(salesforce=webhook.url)
    aid = sb.salesforce_create("Account", {"Name": "Manual"})
    sb.salesforce_edit("Account", aid, {"Credit_Limit__c": 300000})
    sb.salesforce_delete("Account", aid)
    sb.salesforce_undelete("Account", aid)
    assert sb.wait_events_drained(10)
    headers = [p["ChangeEventHeader"] for p in _payloads(webhook)]
    assert [h["changeType"] for h in headers] == ["CREATE", "UPDATE", "DELETE", "UNDELETE"]
    assert {h["changeOrigin"] for h in headers} == {""}
    assert {h["commitUser"] for h in headers} == {sb.admin_user_id}
    assert _payloads(webhook)[1]["Credit_Limit__c"] == 300000.0
    assert _payloads(webhook)[3]["Name"] == "Manual"


def test_no_client_option_and_leads_emit_nothing(sf: Salesforce, sb: sandbox.Sandbox) -> None:
    hook = Webhook().start()
    try:
        sb.set_events_to(salesforce=hook.url)
        plain = sf_client(sb)  # no Sforce-Call-Options
        plain.Account.create({"Name": "NoClient"})
        plain.Lead.create({"LastName": "L", "Company": "C"})
        assert sb.wait_events_drained(10)
        [only] = hook.received()
        origin = only["data"]["payload"]["ChangeEventHeader"]["changeOrigin"]
        assert origin == "com/salesforce/api/rest/59.0"
        plain.session.close()
    finally:
        hook.stop()


def test_events_before_a_target_are_dropped_then_delivered(
    sb: sandbox.Sandbox, webhook: Webhook
) -> None:
    sb.salesforce_create("Account", {"Name": "Early"})
    assert sb.stats()["events"]["salesforce"]["dropped_no_target"] == 1
    sb.set_events_to(salesforce=webhook.url)
    sb.salesforce_create("Account", {"Name": "Late"})
    assert sb.wait_events_drained(10)
    assert [p["Name"] for p in _payloads(webhook)] == ["Late"]


def test_retry_until_the_webhook_accepts(sb: sandbox.Sandbox, webhook: Webhook) -> None:
    webhook.fail_next = 3
    sb.set_events_to(salesforce=webhook.url)
    sb.salesforce_create("Account", {"Name": "A"})
    sb.salesforce_create("Account", {"Name": "B"})
    assert sb.wait_events_drained(20)
    assert [p["Name"] for p in _payloads(webhook)] == ["A", "B"]  # order kept across retries
    counters = sb.stats()["events"]["salesforce"]
    assert counters["failed_attempts"] == 3 and counters["delivered"] == 2


def test_unreachable_webhook_keeps_events_pending(sb: sandbox.Sandbox, webhook: Webhook) -> None:
    webhook.stop()
    sb.set_events_to(salesforce=webhook.url)
    sb.salesforce_create("Account", {"Name": "Waiting"})
    assert not sb.wait_events_drained(0.3)
    assert sb.events_pending("salesforce") == 1
    wait_until(lambda: sb.stats()["events"]["salesforce"]["failed_attempts"] >= 1)


def test_duplicate_and_reorder_options(
    sb: sandbox.Sandbox, webhook: Webhook, sf: Salesforce
) -> None:
    sb.set_events_to(salesforce=webhook.url)
    sb.set_event_delivery(duplicate=1.0)
    sb.salesforce_create("Account", {"Name": "Twice"})
    assert sb.wait_events_drained(10)
    assert [p["Name"] for p in _payloads(webhook)] == ["Twice", "Twice"]
    sb.set_event_delivery(duplicate=0.0, reorder=True)
    records = [{"attributes": {"type": "Account"}, "Name": n} for n in ("First", "Second")]
    sf.restful("composite/sobjects", method="POST", json={"records": records})  # one commit
    assert sb.wait_events_drained(10)
    assert [p["Name"] for p in _payloads(webhook)][2:] == ["Second", "First"]


def test_run_kwargs_configure_targets_and_delivery(webhook: Webhook) -> None:
    with sandbox.run(salesforce_events_to=webhook.url, duplicate_events=1.0) as sb:
        sb.salesforce_create("Contact", {"LastName": "Kw"})
        assert sb.wait_events_drained(10)
        assert len(webhook.received()) == 2
        assert sb.events_delivered("salesforce")[0]["type"].endswith("ContactChangeEvent")


def test_bad_request_answers_are_not_retried(sb: sandbox.Sandbox, webhook: Webhook) -> None:
    webhook.fail_next, webhook.fail_status = 1, 400
    sb.set_events_to(salesforce=webhook.url)
    sb.salesforce_create("Account", {"Name": "Rejected"})
    sb.salesforce_create("Account", {"Name": "Accepted"})
    assert sb.wait_events_drained(10)
    assert [p["Name"] for p in _payloads(webhook)] == ["Accepted"]
    assert sb.stats()["events"]["salesforce"]["rejected"] == 1


def test_a_change_outside_transactions_sends_a_gap_event_without_values(
    sb: sandbox.Sandbox, webhook: Webhook
) -> None:
    aid = sb.salesforce_create("Account", {"Name": "Acme"})
    sb.set_events_to(salesforce=webhook.url)

    sb.salesforce_edit_outside_transactions("Account", aid, {"Name": "Acme Cleaned"})

    assert sb.wait_events_drained(10)
    (payload,) = _payloads(webhook)
    header = payload.pop("ChangeEventHeader")
    assert header["changeType"] == "GAP_UPDATE" and header["recordIds"] == [aid]
    assert header["changedFields"] == [] and payload == {}
    assert sb.salesforce_record("Account", aid)["Name"] == "Acme Cleaned"


def test_changes_beyond_the_overflow_threshold_send_one_overflow_event(
    sb: sandbox.Sandbox, webhook: Webhook
) -> None:
    ids = [sb.salesforce_create("Account", {"Name": f"A{n}"}) for n in range(5)]
    sb.set_events_to(salesforce=webhook.url)

    sb.salesforce_bulk_edit("Account", ids, {"Industry": "Energy"}, overflow_after=3)

    assert sb.wait_events_drained(10)
    headers = [p["ChangeEventHeader"] for p in _payloads(webhook)]
    assert [h["changeType"] for h in headers] == ["UPDATE"] * 3 + ["GAP_OVERFLOW"]
    assert [h["recordIds"] for h in headers] == [[i] for i in ids[:3]] + [[]]
    assert headers[-1]["entityName"] == "Account"
    assert {h["transactionKey"] for h in headers} == {headers[0]["transactionKey"]}
    assert all(sb.salesforce_record("Account", i)["Industry"] == "Energy" for i in ids)
