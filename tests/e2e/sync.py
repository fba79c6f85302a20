"""Helpers for the two-way sync tests: a stack with both event streams wired, and "settled"."""

from __future__ import annotations

import time
from typing import Any

from scripts.localstack import onboardable_accounts

DURABLE = "/runtime/webhooks/durabletask"
D2C_EVENTS = "/runtime/webhooks/eventgrid?functionName=d2c_events"
SF_EVENTS = "/runtime/webhooks/eventgrid?functionName=salesforce_change_events"


def wire_d2c_events(stack: Any) -> Any:
    """Point the D2C stand-in's events at the app too (the fixture wires Salesforce only)."""
    stack.sb.set_events_to(d2c=f"{stack.host.url}{D2C_EVENTS}")
    return stack


def plain_accounts(stack: Any) -> list[dict[str, Any]]:
    """Seeded accounts that qualify, need no approval and are not synced yet, in seed order."""
    return onboardable_accounts(stack.sb, needs_approval=False)


def onboarded(stack: Any, count: int = 1) -> list[dict[str, Any]]:
    """Onboard `count` plain accounts and let every echo settle; returns the fresh records."""
    accounts = plain_accounts(stack)[:count]
    assert len(accounts) == count, "the seed has too few plain accounts"
    for account in accounts:
        started = stack.onboard(account["Id"])
        status = stack.host.wait_for(started["id"], timeout=60)
        assert status["output"]["outcome"] == "synced", status
    settle(stack)
    return [stack.sb.salesforce_record("Account", a["Id"]) for a in accounts]


def list_instances(host: Any, query: str) -> list[dict[str, Any]]:
    """Every instance the Durable HTTP API lists for `query`, following continuation tokens."""
    out: list[dict[str, Any]] = []
    token: str | None = None
    while True:
        headers = {"x-ms-continuation-token": token} if token else None
        response = host.request("GET", f"{DURABLE}/instances?{query}&top=500", headers=headers)
        out.extend(response.json())
        token = response.headers.get("x-ms-continuation-token")
        if not token or token == "null":
            return out


def running(stack: Any) -> list[str]:
    listed = list_instances(stack.host, "runtimeStatus=Running,Pending")
    return [item["instanceId"] for item in listed]


def settle(stack: Any, rounds: int = 50) -> None:
    """Until no event is queued and no instance runs, twice in a row (echoes included)."""
    quiet = 0
    for _ in range(rounds):
        assert stack.sb.wait_events_drained(timeout=30)
        busy = running(stack)
        for instance_id in busy:
            stack.host.wait_for(instance_id, timeout=60)
        quiet = quiet + 1 if not busy and stack.sb.events_pending() == 0 else 0
        if quiet == 2:
            return
    raise AssertionError("the stack never settled")


def instances(stack: Any, prefix: str) -> list[dict[str, Any]]:
    listed = list_instances(stack.host, f"instanceIdPrefix={prefix}")
    return [stack.host.wait_for(item["instanceId"], timeout=60) for item in listed]


def entity(stack: Any, name: str, key: str) -> dict[str, Any]:
    response = stack.host.get(f"{DURABLE}/entities/{name}/{key}")
    assert response.status == 200, response.text
    return response.json()


def customer_of(stack: Any, account_id: str) -> dict[str, Any]:
    (customer,) = [c for c in stack.sb.d2c_customers() if c["external_ref"] == account_id]
    return customer


def calls(stack: Any) -> dict[str, int]:
    stats = stack.sb.stats()
    return {"salesforce": stats["salesforce"]["total"], "d2c": stats["d2c"]["total"]}


def deliver(stack: Any, event: dict[str, Any], path: str = SF_EVENTS) -> None:
    """Hand one event to the app's Event Grid webhook as Event Grid does (the
    `aeg-event-type` header the Functions host requires); the host answers 202 once it ran."""
    headers = {"Content-Type": "application/cloudevents+json", "aeg-event-type": "Notification"}
    response = stack.host.post(path, json=event, headers=headers)
    assert response.status == 202, response.text


def updates_stack(stack_factory: Any, **env: str) -> Any:
    """A stack for the update tests: seed 12, D2C's events wired to the app."""
    return wire_d2c_events(stack_factory(seed=12, **env))


def update_runs(stack: Any, account_id: str) -> list[dict[str, Any]]:
    """The account's `account_update` instances."""
    return instances(stack, f"update-{account_id}")


def waiting_for_approval(stack: Any, instance_id: str, timeout: float = 30) -> dict[str, Any]:
    """The onboarding's status once it waits for a person. Polled against a deadline, not a
    number of reads: a read takes well under a millisecond, so a count of them is no time at
    all once a worker pauses (a full garbage collection alone takes tens of milliseconds)."""
    deadline = time.monotonic() + timeout
    status: dict[str, Any] = {}
    while time.monotonic() < deadline:
        status = stack.host.status(instance_id) or {}
        if (status.get("customStatus") or {}).get("waiting_for") == "ApprovalDecision":
            return status
        time.sleep(0.02)
    raise AssertionError(f"never waited for approval: {status}")
