"""The support API on a devhost that answers as Azure may, not as is most convenient.

* Terminates land 40 s (virtual clock) after they are accepted, as on Azure Storage when an
  idle app polls its control queue every 30 s or has scaled to zero.
* Instance and entity queries start with an empty page that carries a token and then give
  short pages, as Azure Table storage may; tokens are opaque.
* Signals from clients reach entities out of order (Azure orders only what one orchestration
  sends).
* The storage provider has no rewind (a preview feature; 500 from the HTTP API).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from crosswalk.onboarding import onboarding_instance_id
from tests.support.stack import APPROVE, OPERATE, READ, SupportStack, support_stack

pytestmark = pytest.mark.slow
DEACTIVATE = "POST /v1/customers/{customerId}/deactivate"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SupportStack]:
    overrides = {
        "DEVHOST_TERMINATE_DELAY_SECONDS": "40",
        "DEVHOST_SHORT_PAGES": "true",
        "DEVHOST_REORDER_CLIENT_SIGNALS": "true",
        "DEVHOST_REWIND_SUPPORTED": "false",
        # a failed invite waits 100 s before its retry: the onboarding is still mid-saga
        # when the late termination lands
        "RETRY_FIRST_INTERVAL_SECONDS": "100",
        "RETRY_MAX_ATTEMPTS": "3",
    }
    with support_stack(tmp_path_factory.mktemp("azure"), seed=113, **overrides) as running:
        yield running


def _audit(stack: SupportStack, **query: str) -> list[dict]:
    qs = "&".join(f"{k}={v}" for k, v in query.items())
    return stack.get(f"audit?{qs}", READ).json()["items"]


def _failed(stack: SupportStack) -> tuple[dict, str]:
    """An onboarding that failed for good before anything was created (D2C refused it once)."""
    account = next(stack.plain)
    stack.sb.faults("d2c", path=r"/v1/customers$", method="POST", status=422, fail_next=1)
    instance_id = stack.onboard(account["Id"])
    assert stack.finished(instance_id)["output"]["outcome"] == "failed"
    return account, instance_id


def test_a_cancel_whose_termination_lands_40_s_late_still_undoes_exactly_once(stack):
    account = next(stack.plain)
    stack.sb.faults("d2c", path=r"/users$", method="POST", status=503, fail_next=1)
    instance_id = stack.onboard(account["Id"])
    stack.eventually(
        instance_id,
        lambda s: (
            (s.get("customStatus") or {}).get("step") == "d2c_invite_user"
            and s.get("runtimeStatus") == "Running"
        ),
    )

    first = stack.post(f"instances/{instance_id}/cancel", {"reason": "wrong account"}, OPERATE)
    still_running = stack.host.status(instance_id)["runtimeStatus"]
    second = stack.post(f"instances/{instance_id}/cancel", {"reason": "again"}, OPERATE)
    stack.host.advance(40)  # the termination lands now
    assert stack.finished(instance_id)["runtimeStatus"] == "Terminated"
    stack.host.advance(60)  # the cancel's next look at the instance is due
    cancel_id = first.json()["cancelInstanceId"]
    undo = stack.finished(cancel_id)

    assert first.status == 202 and second.status == 202, (first.text, second.text)
    assert still_running == "Running"
    assert first.json()["alreadyRequested"] is False
    assert second.json()["alreadyRequested"] is True
    assert second.json()["cancelInstanceId"] == cancel_id
    assert undo["output"]["outcome"] == "cancelled", undo
    assert undo["output"]["ledger"]["compensated"] == [{"step": "d2c_deactivate_customer"}]
    customers = [c for c in stack.sb.d2c_customers() if c["external_ref"] == account["Id"]]
    assert [c["status"] for c in customers] == ["deactivated"]
    assert stack.sb.stats()["d2c"]["calls"].get(DEACTIVATE) == 1
    assert stack.entity(account["Id"])["status"] == "cancelled"


def test_approvals_list_every_waiting_onboarding_across_short_pages(stack):
    waiting = [stack.onboard(next(stack.needing_approval)["Id"]) for _ in range(2)]
    for instance_id in waiting:
        stack.waiting_for_approval(instance_id)

    listed = {a["instanceId"] for a in stack.get("approvals", READ).json()["items"]}

    assert set(waiting) <= listed
    for instance_id in waiting:
        decided = stack.post(
            f"approvals/{instance_id}", {"decision": "reject", "reason": "test"}, APPROVE
        )
        assert decided.status == 202, decided.text


def test_a_second_retry_takes_the_next_id_however_the_listing_is_paged(stack):
    account, instance_id = _failed(stack)
    stack.sb.faults("d2c", path=r"/v1/customers$", method="POST", status=422, fail_next=1)
    first = stack.post(f"instances/{instance_id}/retry", {"reason": "once"}, OPERATE).json()
    assert stack.finished(first["instanceId"])["output"]["outcome"] == "failed"

    second = stack.post(f"instances/{first['instanceId']}/retry", {"reason": "twice"}, OPERATE)

    assert second.status == 202, second.text
    assert [first["instanceId"], second.json()["instanceId"]] == [
        f"{instance_id}-r1",
        f"{instance_id}-r2",
    ]
    assert stack.finished(f"{instance_id}-r2")["output"]["outcome"] == "synced"
    assert stack.host.status(f"{instance_id}-r1")["output"]["outcome"] == "failed"  # kept


def test_failed_records_page_with_opaque_cursors_and_a_bad_cursor_is_a_400(stack):
    failed = {_failed(stack)[0]["Id"] for _ in range(2)}
    found, cursor, pages = set(), None, 0
    while True:
        query = "records?state=failed&limit=1" + (f"&cursor={cursor}" if cursor else "")
        page = stack.get(query, READ).json()
        found |= {r["accountId"] for r in page["items"]}
        cursor, pages = page["nextCursor"], pages + 1
        if cursor is None:
            break
        assert len(cursor) > 40  # the hub's own token, passed through untouched

    bad = stack.get("records?state=failed&cursor=bm90LWEtdG9rZW4", READ)

    assert failed <= found and pages >= 2
    assert bad.status == 400
    assert [f["field"] for f in bad.json()["error"]["fields"]] == ["cursor"]


def test_a_retry_where_the_backend_cannot_rewind_is_refused_or_restarts_audited(stack):
    account = next(stack.plain)
    modstamp = datetime.fromisoformat(account["SystemModstamp"].replace("Z", "+00:00"))
    instance_id = onboarding_instance_id(account["Id"], modstamp.astimezone(UTC))
    broken = {  # a policy the orchestrator cannot read: it fails (runtime status Failed)
        "account_id": account["Id"],
        "modstamp": modstamp.isoformat(),
        "source": "http",
        "policy": {"retry": {"no_such_option": 1}},
    }
    stack.host.start("account_onboarding", broken, instance_id=instance_id)
    assert stack.finished(instance_id)["runtimeStatus"] == "Failed"

    rewind = stack.post(
        f"instances/{instance_id}/retry", {"reason": "x", "mode": "rewind"}, OPERATE
    )
    auto = stack.post(f"instances/{instance_id}/retry", {"reason": "y"}, OPERATE)

    assert rewind.status == 409, rewind.text
    assert rewind.json()["error"]["code"] == "rewind_unavailable"
    assert "not supported" in rewind.json()["error"]["message"]
    assert auto.status == 202, auto.text
    assert auto.json()["mode"] == "restart" and auto.json()["instanceId"] == instance_id + "-r1"
    assert "not supported" in auto.json()["rewindRefused"]
    assert stack.finished(instance_id + "-r1")["output"]["outcome"] == "synced"
    outcomes = [e["outcome"] for e in _audit(stack, action="retry", target=account["Id"])]
    assert outcomes == ["done", "refused: rewind_unavailable"]
