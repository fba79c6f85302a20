"""Support's Retry, Cancel and Finish the undo on a record a batched onboarding
(`onboard_batch`, reconciliation's RECONCILE_ONBOARD_IN_BATCHES) holds or held: each acts on
the named account alone, or refuses with a 409 that names the batch and says what to do;
never a 500, never a silent no-op. The batch runs for real (devhost, sandbox), started
through the Durable HTTP API as a reconciliation chunk would start it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from crosswalk.onboard_batch import BatchAccount, BatchInput
from crosswalk.onboarding import onboarding_instance_id
from tests.support.stack import DURABLE, OPERATE, READ, SupportStack

POLICY = {
    "approval": {},
    "onboarding": {},
    "retry": {"first_interval_seconds": 1.0, "max_attempts": 2},
}


def _with_contacts(stack: SupportStack, account: dict[str, Any]) -> dict[str, Any]:
    """The Account with its Contacts, as a reconciliation page reads it."""
    contacts = [
        c for c in stack.sb.salesforce_records("Contact") if c.get("AccountId") == account["Id"]
    ]
    return {**account, "Contacts": {"totalSize": len(contacts), "done": True, "records": contacts}}


def _batch(stack: SupportStack, name: str, size: int = 2) -> tuple[str, list[dict[str, Any]]]:
    accounts = [next(stack.plain) for _ in range(size)]
    body = BatchInput(
        accounts=[
            BatchAccount(
                account_id=a["Id"], modstamp=a["SystemModstamp"], account=_with_contacts(stack, a)
            )
            for a in accounts
        ],
        policy=POLICY,
    ).model_dump(mode="json")
    instance_id = f"onboard-batch-support-{name}-p1-x0"
    started = stack.host.post(f"{DURABLE}/orchestrators/onboard_batch/{instance_id}", json=body)
    assert started.status == 202, started.text
    return instance_id, accounts


def _outcomes(stack: SupportStack, instance_id: str) -> dict[str, str]:
    status = stack.finished(instance_id)
    return {a: r["outcome"] for a, r in status["output"]["accounts"].items()}


def _error(response) -> tuple[int, str, str]:
    error = response.json()["error"]
    return response.status, error["code"], error["message"]


def test_a_running_batch_is_shown_on_its_records_and_never_cancelled_or_retried_for_one(stack):
    stack.sb.faults("d2c", path=r"/v1/customers$", method="POST", latency=3.0, fail_next=2)
    batch_id, accounts = _batch(stack, "running")
    account = accounts[0]["Id"]
    stack.eventually(batch_id, lambda s: (stack.entity(account) or {}).get("current_instance_id"))

    record = stack.get(f"records/{account}", READ).json()
    named = {"reason": "x", "accountId": account}
    cancel = stack.post(f"instances/{batch_id}/cancel", named, OPERATE)
    retry = stack.post(f"instances/{batch_id}/retry", named, OPERATE)
    unnamed = stack.post(f"instances/{batch_id}/retry", {"reason": "x"}, OPERATE)
    outcomes = _outcomes(stack, batch_id)

    (shown,) = record["instances"]
    assert (shown["name"], shown["instanceId"], shown["accountId"]) == (
        "onboard_batch",
        batch_id,
        account,
    )
    status, code, message = _error(cancel)
    assert (status, code) == (409, "held_by_batch") and batch_id in message
    assert "ends on its own" in message
    assert _error(retry)[:2] == (409, "held_by_batch")
    assert unnamed.status == 400
    assert [f["field"] for f in unnamed.json()["error"]["fields"]] == ["accountId"]
    assert set(outcomes.values()) == {"synced"}
    after = stack.post(f"instances/{batch_id}/cancel", named, OPERATE)
    again = stack.post(f"instances/{batch_id}/retry", named, OPERATE)
    assert _error(after)[:2] == (409, "not_running")
    assert _error(again)[:2] == (409, "already_synced")
    audit = stack.get(f"audit?target={account}", READ).json()["items"]  # on the record's page
    assert [(e["action"], e["outcome"]) for e in audit] == [
        ("retry", "refused: already_synced"),
        ("cancel", "refused: not_running"),
        ("retry", "refused: held_by_batch"),
        ("cancel", "refused: held_by_batch"),
    ]


def test_retry_of_an_account_a_batch_undid_restarts_it_alone_and_it_syncs(stack):
    stack.sb.faults("d2c", path=r"/v1/customers$", method="POST", status=422, fail_next=1)
    batch_id, accounts = _batch(stack, "undone")
    outcomes = _outcomes(stack, batch_id)
    (failed,) = [a for a, outcome in outcomes.items() if outcome != "synced"]
    stamp = datetime.fromisoformat(next(a for a in accounts if a["Id"] == failed)["SystemModstamp"])

    other = stack.post(
        f"instances/{batch_id}/retry",
        {"reason": "x", "accountId": "001000000000001AAA"},
        OPERATE,
    )
    response = stack.post(
        f"instances/{batch_id}/retry", {"reason": "D2C fixed", "accountId": failed}, OPERATE
    )
    body = response.json()
    status = stack.finished(body["instanceId"])

    assert outcomes[failed] == "failed" and stack.entity(failed)["status"] == "synced"
    assert _error(other)[:2] == (409, "not_in_batch")
    assert response.status == 202, response.text
    assert body["mode"] == "restart" and body["retryOf"] == batch_id
    assert body["instanceId"] == onboarding_instance_id(failed, stamp) + "-r1"
    assert status["output"]["outcome"] == "synced", status
    names = {i["name"] for i in stack.get(f"records/{failed}", READ).json()["instances"]}
    assert names == {"onboard_batch", "account_onboarding"}


def test_finishing_an_undo_a_batch_left_half_done_deactivates_the_organisation(stack):
    stack.sb.faults("d2c", path=r"/users$", method="POST", status=422, fail_next=1)
    stack.sb.faults("d2c", path=r"/deactivate$", method="POST", status=503, fail_next=2)
    batch_id, _ = _batch(stack, "half-undone")
    outcomes = _outcomes(stack, batch_id)
    (stuck,) = [a for a, outcome in outcomes.items() if outcome != "synced"]

    unnamed = stack.post(f"instances/{batch_id}/undo", {"reason": "x"}, OPERATE)
    response = stack.post(
        f"instances/{batch_id}/undo", {"reason": "D2C is back", "accountId": stuck}, OPERATE
    )
    body = response.json()
    undo = stack.finished(body["undoInstanceId"])

    assert outcomes[stuck] == "needs_attention"
    assert unnamed.status == 400
    assert response.status == 202, response.text
    assert body["compensations"] == ["d2c_deactivate_customer"]
    assert undo["output"]["outcome"] == "compensated" and undo["output"]["entity_updated"]
    customers = [c for c in stack.sb.d2c_customers() if c["external_ref"] == stuck]
    assert [c["status"] for c in customers] == ["deactivated"]
    assert stack.entity(stuck)["status"] == "compensated"
    again = stack.post(
        f"instances/{batch_id}/undo", {"reason": "again", "accountId": stuck}, OPERATE
    )
    assert _error(again)[:2] == (409, "record_moved_on")
    record = stack.get(f"records/{stuck}", READ).json()
    assert {i["name"] for i in record["instances"]} == {"onboard_batch", "support_cancel"}


def test_a_bulk_retry_restarts_each_account_a_batch_failed(stack):
    stack.sb.faults("d2c", path=r"/v1/customers$", method="POST", status=400, fail_next=2)
    batch_id, accounts = _batch(stack, "bulk")
    assert set(_outcomes(stack, batch_id).values()) == {"failed"}
    body = {"failureReason": "d2c_create_customer:d2c 400", "reason": "D2C outage over"}

    dry = stack.post("retries", body, OPERATE).json()
    real = stack.post("retries", {**body, "dryRun": False}, OPERATE).json()
    finished = [stack.finished(r["instanceId"]) for r in real["started"]]

    assert dry["count"] == 2 and {i["instanceId"] for i in dry["items"]} == {batch_id}
    assert real["refused"] == [] and {r["retryOf"] for r in real["started"]} == {batch_id}
    assert [s["output"]["outcome"] for s in finished] == ["synced", "synced"]
    assert {stack.entity(a["Id"])["status"] for a in accounts} == {"synced"}
