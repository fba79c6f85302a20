"""The raw zone end to end: what both systems send lands once, and replay re-drives from it.

The sandbox delivers every event twice here; the app lands each one once, as received, under
`raw/{system}/{entity}/{yyyy}/{mm}/{dd}/{hh}/` of the lake folder. Replay then reads a window
back, asks the record entities what they already applied, and re-drives only the rest.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

import pytest

from crosswalk.lake.folder import FolderLake
from crosswalk.lake.raw import RawEvent, RawZone, decode_lines, hour_folder
from crosswalk.replay import AppClient, main, replay
from scripts.localstack import WebhookSink
from tests.e2e.sync import onboarded, settle, wire_d2c_events

pytestmark = pytest.mark.slow


def _raw_lines(lake: FolderLake) -> list[tuple[str, dict[str, Any]]]:
    return [
        (path, line)
        for path in lake.list("raw/")
        for line in decode_lines(lake.get_bytes(path), path)
    ]


def _landed(lake: FolderLake, wanted: set[tuple[str, str]], timeout: float = 30) -> list:
    """The raw lines once every wanted (system, id) is there (the landing writes in the
    background every LAKE_RAW_FLUSH_SECONDS)."""
    deadline = time.monotonic() + timeout
    while True:
        lines = _raw_lines(lake)
        if wanted <= {(line["system"], line["id"]) for _path, line in lines}:
            return lines
        if time.monotonic() > deadline:
            missing = wanted - {(line["system"], line["id"]) for _path, line in lines}
            raise AssertionError(f"never landed: {sorted(missing)[:5]}")
        time.sleep(0.05)


def _moment(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_edits_and_sign_ups_land_in_the_raw_zone_once_each_even_when_delivered_twice(
    stack_factory,
):
    stack = wire_d2c_events(stack_factory(seed=12, LAKE_RAW_FLUSH_SECONDS="0.05"))
    (account,) = onboarded(stack)
    customer_id = account["D2C_Customer_Id__c"]
    stack.sb.set_event_delivery(duplicate=1.0)

    stack.sb.salesforce_edit("Account", account["Id"], {"Name": "Renamed Inc"})
    stack.sb.d2c_edit(customer_id, {"phone": "+1 555 0100"})
    stack.sb.d2c_register(email="jane@gmail.com", last_name="Doe", first_name="Jane")
    settle(stack)

    delivered = [("salesforce", e) for e in stack.sb.events_delivered("salesforce")] + [
        ("d2c", e) for e in stack.sb.events_delivered("d2c")
    ]
    received = Counter((system, event["id"]) for system, event in delivered)
    assert max(received.values()) == 2  # the sandbox really did deliver events twice
    lines = _landed(FolderLake(stack.data / "lake"), set(received))

    landed = Counter((line["system"], line["id"]) for _path, line in lines)
    assert set(landed) == set(received)
    assert set(landed.values()) == {1}  # each event once
    by_id = {(system, event["id"]): event for system, event in delivered}
    for path, line in lines:
        sent = by_id[(line["system"], line["id"])]
        assert line["data"] == sent["data"] and line["type"] == sent["type"]
        assert path.startswith(hour_folder(line["system"], line["entity"], _moment(sent["time"])))
    entities = {(line["system"], line["entity"]) for _path, line in lines}
    assert {("salesforce", "account"), ("d2c", "customer")} <= entities


@pytest.mark.parametrize("whole_seconds", [False, True], ids=["ms-stamps", "whole-second-stamps"])
def test_replay_re_drives_only_what_the_record_entities_have_not_applied(
    stack_factory, monkeypatch, capsys, whole_seconds
):
    stack = wire_d2c_events(stack_factory(seed=12, LAKE_RAW_FLUSH_SECONDS="0.05"))
    # Salesforce stamps audit fields in whole seconds: the missed edit may then share the
    # stamp of Crosswalk's own write-back, and must still be re-driven
    stack.sb.salesforce_org_rules(whole_second_stamps=whole_seconds)
    (account,) = onboarded(stack)
    lake = FolderLake(stack.data / "lake")
    zone = RawZone(lake)
    app = AppClient(stack.host.url, None)
    # An edit whose event the app landed but never acted on (a bug, an outage): the relay
    # sends it to a sink instead, and it is written to the raw zone as the landing would.
    with WebhookSink() as relay:
        stack.sb.set_events_to(salesforce=relay.url)
        stack.sb.salesforce_edit("Account", account["Id"], {"Name": "Renamed While Down"})
        assert stack.sb.wait_events_drained(timeout=30)
    (missed,) = relay.received
    zone.write(
        [
            RawEvent(
                system="salesforce",
                entity="account",
                id=missed["id"],
                type=missed["type"],
                time=_moment(missed["time"]),
                data=missed["data"],
                source=missed["source"],
                subject=missed["subject"],
            )
        ]
    )
    stack.sb.set_events_to(
        salesforce=f"{stack.host.url}/runtime/webhooks/eventgrid?functionName=salesforce_change_events"
    )
    landed_before = {(s, e["id"]) for s in ("salesforce",) for e in stack.sb.events_delivered(s)}
    _landed(lake, landed_before)
    start = _moment(missed["time"]) - timedelta(hours=2)
    end = _moment(missed["time"]) + timedelta(hours=1)
    customer_before = stack.sb.d2c_customer(account["D2C_Customer_Id__c"])

    monkeypatch.setenv("LAKE_FOLDER", str(stack.data / "lake"))
    window = ["--from", start.isoformat(), "--to", end.isoformat(), "--app-url", stack.host.url]
    exit_code = main([*window, "--dry-run"])
    dry = json.loads(capsys.readouterr().out)

    assert [item["id"] for item in dry["redrive"] if item["entity"] == "account"] == [missed["id"]]
    assert dry["already_applied"] >= 1  # the onboarding's own events
    assert dry["delivered"] == [] and exit_code == 0
    assert stack.sb.d2c_customer(account["D2C_Customer_Id__c"]) == customer_before

    done = replay(zone, app, start, end, dry_run=False)
    settle(stack)

    assert missed["id"] in done["delivered"] and done["failed"] == []
    assert stack.sb.d2c_customer(account["D2C_Customer_Id__c"])["name"] == "Renamed While Down"
    version_after = stack.sb.d2c_customer(account["D2C_Customer_Id__c"])["version"]

    again = replay(zone, app, start, end, dry_run=False)
    settle(stack)

    assert missed["id"] not in [item["id"] for item in again["redrive"]]
    assert stack.sb.d2c_customer(account["D2C_Customer_Id__c"])["version"] == version_after
    app.close()
