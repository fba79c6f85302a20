"""The relay against the sandbox's Pub/Sub API and Event Grid topic: at-least-once, in order
of checkpoints, and the failure rules of crosswalk/relay/session.py."""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path

from azure.identity import ClientSecretCredential

from crosswalk.relay.checkpoint import checkpoint_path, relay_health
from crosswalk.relay.publisher import EventGridPublisher
from crosswalk.relay.session import run_session
from crosswalk.support.health import relay_attention
from tests.relay.conftest import ACCOUNTS, RelayRig, in_background


def _checkpoint(rig: RelayRig) -> dict:
    return rig.lake.get_json(checkpoint_path(ACCOUNTS))


def _start(rig: RelayRig) -> None:
    """A first session: no checkpoint yet, so it starts at LATEST and keeps a keepalive's id."""
    report = rig.session(0.6)
    assert report.keepalives >= 1 and _checkpoint(rig)["replayId"]


def test_a_salesforce_change_reaches_the_topic_as_the_cometd_cloudevent_the_app_reads(
    rig: RelayRig,
) -> None:
    _start(rig)
    account = rig.sb.salesforce_create("Account", {"Name": "Relay Inc", "Type": "Prospect"})
    rig.sb.salesforce_edit("Account", account, {"Type": "Customer - Direct"})

    rig.relay_until(lambda: len(rig.sink.received) >= 2)

    by_kind = {
        e["data"]["payload"]["ChangeEventHeader"]["changeType"]: e for e in rig.sink.received
    }
    create, update = by_kind["CREATE"], by_kind["UPDATE"]
    header = update["data"]["payload"]["ChangeEventHeader"]
    assert update["type"] == "com.salesforce.cdc.AccountChangeEvent"
    assert update["subject"] == account
    assert update["id"] == f"{header['transactionKey']}:{header['sequenceNumber']}"
    assert header["changeType"] == "UPDATE" and "Type" in header["changedFields"]
    assert update["data"]["payload"]["Type"] == "Customer - Direct"
    assert "Name" not in update["data"]["payload"]  # unchanged fields stay out, as in CometD
    assert create["data"]["payload"]["Name"] == "Relay Inc"


def test_the_checkpoint_moves_only_after_event_grid_accepted_the_batch(rig: RelayRig) -> None:
    _start(rig)
    before = _checkpoint(rig)["replayId"]
    rig.sb.salesforce_create("Account", {"Name": "Refused"})
    rig.sb.eventgrid.topic("salesforce").fail_next = [403]

    refused = rig.session(0.6)
    after_refusal = _checkpoint(rig)
    rig.relay_until(lambda: len(rig.sink.received) == 1)

    assert refused.stopped == "error" and refused.error_kind == "event_grid"
    assert after_refusal["replayId"] == before
    assert after_refusal["lastError"]["kind"] == "event_grid"
    assert _checkpoint(rig)["lastError"] is None
    assert _checkpoint(rig)["relayed"] == 1


def test_keepalives_keep_a_quiet_org_s_checkpoint_inside_retention(rig: RelayRig) -> None:
    _start(rig)
    for _ in range(3):
        rig.sb.advance_clock(40 * 3600)  # 120 hours in all: longer than retention
        report = rig.session(0.6)
        assert report.catch_up_reason is None and report.keepalives >= 1

    assert _checkpoint(rig)["catchUps"] == []


def test_a_checkpoint_older_than_retention_restarts_at_latest_with_a_catch_up(
    rig: RelayRig,
) -> None:
    _start(rig)
    account = rig.sb.salesforce_create("Account", {"Name": "Before the gap"})
    rig.relay_until(lambda: len(rig.sink.received) == 1)
    committed = rig.sink.received[0]["time"]
    rig.sb.advance_clock(73 * 3600)
    rig.sb.salesforce_edit("Account", account, {"Name": "Lost in the gap"})

    report = rig.session(0.6)

    assert report.catch_up_since is not None
    assert report.catch_up_since.isoformat().replace("+00:00", "Z")[:19] == committed[:19]
    assert _checkpoint(rig)["catchUps"][-1]["since"][:19] == committed[:19]
    assert len(rig.sink.received) == 1  # never replayed from EARLIEST


def test_the_server_s_corrupted_replay_id_error_also_starts_a_catch_up(rig: RelayRig) -> None:
    _start(rig)
    rig.sb.salesforce_create("Account", {"Name": "Seen"})
    rig.relay_until(lambda: len(rig.sink.received) == 1)
    rig.sb.advance_clock(73 * 3600)
    ctx = rig.context(max_checkpoint_age_hours=72)
    ctx.now_ms = lambda: int(time.time() * 1000)  # a relay whose own clock sees no gap

    [report] = run_session(ctx, 0.6)

    assert report.catch_up_reason is not None and "replayid.corrupted" in report.catch_up_reason


def test_a_dropped_stream_resumes_from_the_checkpoint_and_loses_nothing(rig: RelayRig) -> None:
    _start(rig)
    for i in range(40):
        rig.sb.salesforce_create("Account", {"Name": f"Drop {i}"})
    rig.sb.pubsub_faults(drop_after=15)

    report = rig.session(2.0)
    rig.drained()

    assert report.reconnects >= 1
    assert sorted(set(rig.delivered_ids())) == sorted(rig.delivered_ids())
    assert len(rig.delivered_ids()) == 40


def test_an_expired_token_is_refreshed_and_the_relay_resumes(rig: RelayRig) -> None:
    _start(rig)
    rig.sb.salesforce_create("Account", {"Name": "Before expiry"})
    rig.sb.salesforce_expire_tokens()
    rig.sb.salesforce_create("Account", {"Name": "After expiry"})

    rig.relay_until(lambda: len(rig.sink.received) >= 2)
    rig.drained()

    assert len(rig.delivered_ids()) == 2


def test_two_relays_at_once_publish_each_event_once(rig: RelayRig) -> None:
    _start(rig)
    for i in range(150):
        rig.sb.salesforce_create("Account", {"Name": f"Twice {i}"})
    results: dict[str, list] = {}
    threads = [
        in_background(lambda name=name: results.update({name: run_session(rig.context(), 1.5)}))
        for name in ("a", "b")
    ]
    for t in threads:
        t.join()
    rig.drained()

    stops = sorted(r[0].stopped for r in results.values())
    assert stops == ["deadline", "lease_held"]
    assert len(rig.delivered_ids()) == 150 == len(set(rig.delivered_ids()))
    assert rig.sb.eventgrid.topic("salesforce").published == 150


def test_an_undecodable_event_is_dead_lettered_with_its_replay_id_and_the_relay_goes_on(
    rig: RelayRig,
) -> None:
    _start(rig)
    rig.sb.salesforce_create("Account", {"Name": "Before"})
    schema_id = rig.pubsub.topic(ACCOUNTS).schema_id
    rig.sb.bus.inject("Account", schema_id, b"\xff\x00 not avro")
    rig.sb.salesforce_create("Account", {"Name": "After"})

    rig.relay_until(lambda: len(rig.sink.received) >= 2)

    [path] = rig.lake.list("deadletter/salesforce-relay/")
    dead = rig.lake.get_json(path)
    assert dead["replayId"] in path and "does not decode" in dead["reason"]
    assert base64.b64decode(dead["payload"]) == b"\xff\x00 not avro"
    assert _checkpoint(rig)["deadLettered"] == 1
    names = sorted(e["data"]["payload"]["Name"] for e in rig.sink.received)
    assert names == ["After", "Before"]


def test_an_unknown_topic_is_reported_once_per_session_without_a_hot_loop(rig: RelayRig) -> None:
    report = rig.session(0.6, topics=["/data/NoSuchChangeEvent"])

    assert report.stopped == "error" and report.error_kind == "not_found"
    assert rig.pubsub.calls["Subscribe"] == 1
    doc = rig.lake.get_json(checkpoint_path("/data/NoSuchChangeEvent"))
    assert "not found" in doc["lastError"]["message"]


def test_a_spent_delivery_allocation_is_reported_and_not_retried_in_the_session(
    rig: RelayRig,
) -> None:
    rig.sb.pubsub_faults(limit_exceeded=True)

    report = rig.session(0.6)

    assert report.error_kind == "limit" and rig.pubsub.calls["Subscribe"] == 1
    assert json.dumps(_checkpoint(rig)["lastError"]).find("limit.exceeded") > 0


def test_support_health_shows_each_channel_s_checkpoint_lag_and_last_error(rig: RelayRig) -> None:
    _start(rig)
    rig.sb.salesforce_create("Account", {"Name": "Healthy"})
    rig.relay_until(lambda: len(rig.sink.received) == 1)
    healthy = relay_health(rig.lake, rig.sb.clock.now_ms())
    rig.sb.pubsub_faults(limit_exceeded=True)
    rig.session(0.5)

    [channel] = relay_health(rig.lake, rig.sb.clock.now_ms())
    assert healthy[0]["relayed"] == 1 and healthy[0]["lagMs"] is not None
    assert healthy[0]["lastError"] is None and relay_attention(healthy) == []
    assert channel["lastError"]["kind"] == "limit"
    [item] = relay_attention([channel])
    assert item["kind"] == "relay" and "limit" in item["text"]


def test_the_relay_publishes_with_an_entra_token_when_its_identity_holds_data_sender(
    rig: RelayRig,
) -> None:
    sb = rig.sb
    identity = sb.entra.register_client(roles=[])
    sb.eventgrid.topic("salesforce").senders.add(identity.client_id)
    credential = ClientSecretCredential(
        sb.entra.tenant_id,
        identity.client_id,
        identity.secret,
        authority=sb.entra_url,
        disable_instance_discovery=True,
        connection_verify=sb.ca_bundle,
    )
    rig.publisher = EventGridPublisher(
        sb.eventgrid.endpoint("salesforce"), credential=credential, ca_bundle=Path(sb.ca_bundle)
    )
    _start(rig)
    rig.sb.salesforce_create("Account", {"Name": "Token Inc"})

    rig.relay_until(lambda: len(rig.sink.received) == 1)

    assert rig.sink.received[0]["data"]["payload"]["Name"] == "Token Inc"


def test_republished_events_go_in_requests_of_at_most_1_mb_each_unchanged(rig: RelayRig) -> None:
    events = [
        {
            "id": f"big-{n}",
            "source": "/crosswalk/test",
            "type": "crosswalk.test",
            "specversion": "1.0",
            "time": "2026-01-02T03:04:05Z",
            "data": {"filler": "x" * 400_000},
        }
        for n in range(3)
    ]

    rig.publisher.republish(events, deadline=time.monotonic() + 30)
    assert rig.drained()

    assert rig.publisher.requests == 2  # 400 KB + 400 KB fit 1 MB; a third does not
    assert sorted(rig.delivered_ids()) == ["big-0", "big-1", "big-2"]
    assert all(len(e["data"]["filler"]) == 400_000 for e in rig.sink.received)
