"""The sandbox's Pub/Sub API, through a client generated from eventbus.proto over TLS."""

from __future__ import annotations

import json
import queue
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest

import sandbox
from crosswalk.pubsub.changes import ChangeSchema, to_cometd
from pubsub_api import eventbus_pb2 as pb
from pubsub_api import eventbus_pb2_grpc as pb_grpc

ACCOUNTS = "/data/AccountChangeEvent"


@pytest.fixture
def sb() -> Iterator[sandbox.Sandbox]:
    with sandbox.run(seed=0, pubsub_keepalive=0.2, pubsub_idle_close=0.5) as running:
        yield running


@pytest.fixture
def stub(sb: sandbox.Sandbox) -> Iterator[pb_grpc.PubSubStub]:
    creds = grpc.ssl_channel_credentials(Path(sb.ca_bundle).read_bytes())
    with grpc.secure_channel(sb.pubsub_target, creds) as channel:
        yield pb_grpc.PubSubStub(channel)


def auth(sb: sandbox.Sandbox, token: str | None = None) -> list[tuple[str, str]]:
    return [
        ("accesstoken", token or sb.salesforce_token()),
        ("instanceurl", sb.salesforce_url),
        ("tenantid", sb.org_id),
    ]


class Stream:
    """A Subscribe call fed from a queue, so a test can add capacity as it reads."""

    def __init__(self, stub: pb_grpc.PubSubStub, meta: list, first: pb.FetchRequest) -> None:
        self.requests: queue.Queue[pb.FetchRequest | None] = queue.Queue()
        self.requests.put(first)
        self.call = stub.Subscribe(iter(self.requests.get, None), metadata=meta, timeout=10)

    def next(self) -> pb.FetchResponse:
        return next(self.call)

    def close(self) -> None:
        self.requests.put(None)
        self.call.cancel()


def error_code(err: grpc.RpcError) -> str | None:
    return dict(err.trailing_metadata() or ()).get("error-code")


def test_get_topic_knows_change_channels_and_refuses_others_with_not_found(sb, stub) -> None:
    info = stub.GetTopic(pb.TopicRequest(topic_name=ACCOUNTS), metadata=auth(sb))

    assert info.can_subscribe and info.tenant_guid == sb.org_id and info.schema_id
    with pytest.raises(grpc.RpcError) as err:
        stub.GetTopic(pb.TopicRequest(topic_name="/data/Nope__ChangeEvent"), metadata=auth(sb))
    assert err.value.code() == grpc.StatusCode.NOT_FOUND
    assert "/data/Nope__ChangeEvent not found" in err.value.details()


def test_a_call_without_a_valid_token_is_unauthenticated_with_salesforce_s_error_code(
    sb, stub
) -> None:
    with pytest.raises(grpc.RpcError) as err:
        stub.GetTopic(pb.TopicRequest(topic_name=ACCOUNTS), metadata=auth(sb, "00Dx!forged"))

    assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert error_code(err.value) == "sfdc.platform.eventbus.grpc.service.auth.error"


def test_schema_is_shaped_as_salesforce_s_change_event_schemas(sb, stub) -> None:
    topic = stub.GetTopic(pb.TopicRequest(topic_name=ACCOUNTS), metadata=auth(sb))

    info = stub.GetSchema(pb.SchemaRequest(schema_id=topic.schema_id), metadata=auth(sb))

    schema = json.loads(info.schema_json)
    fields = {f["name"]: f for f in schema["fields"]}
    assert schema["fields"][0]["name"] == "ChangeEventHeader"
    assert all(f["type"][0] == "null" for f in schema["fields"][1:])
    billing = fields["BillingAddress"]["type"][1]
    assert [c["name"] for c in billing["fields"]] == [
        "Street",
        "City",
        "State",
        "PostalCode",
        "Country",
    ]
    assert "BillingCity" not in fields and "Id" not in fields


def _changes(sb: sandbox.Sandbox) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []
    sb.org.listeners.append(seen.extend)
    return seen


def test_events_convert_back_to_exactly_the_cometd_form_the_org_built(sb, stub) -> None:
    cometd = _changes(sb)
    account = sb.salesforce_create(
        "Account", {"Name": "Acme", "Type": "Prospect", "BillingCity": "Oslo"}
    )
    sb.salesforce_edit("Account", account, {"Type": "Customer - Direct", "BillingCity": None})
    sb.salesforce_delete("Account", account)
    sb.salesforce_undelete("Account", account)
    stream = Stream(
        stub,
        auth(sb),
        pb.FetchRequest(topic_name=ACCOUNTS, replay_preset=pb.EARLIEST, num_requested=10),
    )

    got = []
    while len(got) < 4:
        got.extend(stream.next().events)
    stream.close()

    schemas: dict[str, ChangeSchema] = {}
    for event, expected in zip(got, cometd, strict=True):
        sid = event.event.schema_id
        if sid not in schemas:
            info = stub.GetSchema(pb.SchemaRequest(schema_id=sid), metadata=auth(sb))
            schemas[sid] = ChangeSchema.from_json(sid, info.schema_json)
        converted = to_cometd(schemas[sid], event.event.payload, event.replay_id).body
        want = expected["data"]["payload"]
        got_payload = converted["payload"]
        header = got_payload.pop("ChangeEventHeader")
        for key, value in want.pop("ChangeEventHeader").items():
            assert header[key] == value, key
        assert got_payload == want


def test_latest_sees_only_what_comes_after_and_custom_resumes_after_an_id(sb, stub) -> None:
    first = sb.salesforce_create("Account", {"Name": "Before"})
    stream = Stream(stub, auth(sb), pb.FetchRequest(topic_name=ACCOUNTS, num_requested=5))
    assert not stream.next().events  # a keepalive: the subscription has its position
    later = sb.salesforce_create("Account", {"Name": "After"})
    third = sb.salesforce_create("Account", {"Name": "Third"})

    seen = []
    while len(seen) < 2:
        seen.extend(e for e in stream.next().events)
    stream.close()
    resumed = Stream(
        stub,
        auth(sb),
        pb.FetchRequest(
            topic_name=ACCOUNTS,
            replay_preset=pb.CUSTOM,
            replay_id=seen[0].replay_id,
            num_requested=5,
        ),
    )
    after = resumed.next().events
    resumed.close()

    assert first not in _ids(seen[:1]) and _ids(seen) == [later, third]
    assert _ids(after) == [third]


def _ids(events: list[pb.ConsumerEvent]) -> list[str]:
    out = []
    for e in events:
        # the record id sits in the header: decode with the one schema of the channel
        from sandbox.pubsub.avro import SCHEMAS_BY_ID

        schema = SCHEMAS_BY_ID[e.event.schema_id]
        out.append(
            to_cometd(
                ChangeSchema.from_json(schema.schema_id, schema.schema_json),
                e.event.payload,
                e.replay_id,
            ).record_ids[0]
        )
    return out


def test_custom_without_a_replay_id_fails_validation(sb, stub) -> None:
    stream = Stream(stub, auth(sb), pb.FetchRequest(topic_name=ACCOUNTS, replay_preset=pb.CUSTOM))

    with pytest.raises(grpc.RpcError) as err:
        stream.next()

    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error_code(err.value).endswith("subscription.fetch.replayid.validation.failed")


def test_a_replay_id_older_than_72_hours_is_corrupted(sb, stub) -> None:
    sb.salesforce_create("Account", {"Name": "Old"})
    stream = Stream(
        stub,
        auth(sb),
        pb.FetchRequest(topic_name=ACCOUNTS, replay_preset=pb.EARLIEST, num_requested=1),
    )
    old_id = stream.next().events[0].replay_id
    stream.close()
    sb.advance_clock(73 * 3600)
    token = sb.salesforce_token()

    again = Stream(
        stub,
        auth(sb, token),
        pb.FetchRequest(
            topic_name=ACCOUNTS, replay_preset=pb.CUSTOM, replay_id=old_id, num_requested=1
        ),
    )
    with pytest.raises(grpc.RpcError) as err:
        again.next()

    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "The Replay ID validation failed" in err.value.details()
    assert error_code(err.value) == (
        "sfdc.platform.eventbus.grpc.subscription.fetch.replayid.corrupted"
    )


def test_at_most_100_events_are_outstanding_whatever_is_requested(sb, stub) -> None:
    ids = [sb.salesforce_create("Account", {"Name": f"A{i}"}) for i in range(130)]
    stream = Stream(
        stub,
        auth(sb),
        pb.FetchRequest(topic_name=ACCOUNTS, replay_preset=pb.EARLIEST, num_requested=500),
    )

    got: list[pb.ConsumerEvent] = []
    while len(got) < 100:
        response = stream.next()
        got.extend(response.events)
    capped = (len(got), response.pending_num_requested)
    stream.requests.put(pb.FetchRequest(num_requested=50))
    while len(got) < len(ids):
        got.extend(stream.next().events)
    stream.close()

    assert capped == (100, 0)
    assert len(got) == 130


def test_keepalives_carry_a_fresh_latest_replay_id(sb, stub) -> None:
    stream = Stream(stub, auth(sb), pb.FetchRequest(topic_name=ACCOUNTS, num_requested=5))

    first, second = stream.next(), stream.next()
    stream.close()

    assert not first.events and not second.events
    assert first.latest_replay_id and second.latest_replay_id != first.latest_replay_id
    assert first.pending_num_requested == 5


def test_a_dropped_stream_ends_unavailable_after_the_events_it_let_through(sb, stub) -> None:
    for i in range(3):
        sb.salesforce_create("Account", {"Name": f"D{i}"})
    sb.pubsub_faults(drop_after=2)
    stream = Stream(
        stub,
        auth(sb),
        pb.FetchRequest(topic_name=ACCOUNTS, replay_preset=pb.EARLIEST, num_requested=10),
    )

    first = stream.next()
    with pytest.raises(grpc.RpcError) as err:
        stream.next()

    assert len(first.events) == 2
    assert err.value.code() == grpc.StatusCode.UNAVAILABLE


def test_an_expired_token_ends_the_stream_unauthenticated(sb, stub) -> None:
    stream = Stream(stub, auth(sb), pb.FetchRequest(topic_name=ACCOUNTS, num_requested=5))
    stream.next()  # a keepalive: the stream is up

    sb.salesforce_expire_tokens()

    with pytest.raises(grpc.RpcError) as err:
        while True:
            stream.next()
    assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_a_spent_delivery_allocation_refuses_the_subscription(sb, stub) -> None:
    sb.pubsub_faults(limit_exceeded=True)
    stream = Stream(stub, auth(sb), pb.FetchRequest(topic_name=ACCOUNTS, num_requested=5))

    with pytest.raises(grpc.RpcError) as err:
        stream.next()

    assert err.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert error_code(err.value).endswith("subscription.limit.exceeded")


def test_a_stream_with_nothing_requested_is_closed_by_the_server(sb, stub) -> None:
    stream = Stream(stub, auth(sb), pb.FetchRequest(topic_name=ACCOUNTS, num_requested=0))
    done = threading.Event()

    def read() -> None:
        for _ in stream.call:
            pass
        done.set()

    threading.Thread(target=read, daemon=True).start()

    assert done.wait(5)
