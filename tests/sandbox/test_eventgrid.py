"""The sandbox's Event Grid topics: azure-eventgrid's own client publishes unchanged, and
delivery follows Event Grid's rules (one event per request, retries, dead-lettering)."""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from azure.core.credentials import AccessToken, AzureKeyCredential
from azure.core.exceptions import HttpResponseError
from azure.core.messaging import CloudEvent
from azure.eventgrid import EventGridPublisherClient
from sbkit import Webhook

import sandbox
from sandbox.eventgrid.deadletter import BlobDestination, FolderDestination
from sandbox.eventgrid.delivery import Subscription

# manage-event-delivery.md: <SUBSCRIPTION IN UPPER CASE>/<yyyy>/<M>/<d>/<H>/<guid>.json, UTC,
# no zero padding
DOCUMENTED_NAME = re.compile(
    r"^(?P<sub>[A-Z0-9_-]+)/(?P<y>\d{4})/(?P<m>[1-9]|1[0-2])/(?P<d>[1-9]|[12]\d|3[01])/"
    r"(?P<h>\d|1\d|2[0-3])/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.json$"
)


@pytest.fixture
def sb() -> Iterator[sandbox.Sandbox]:
    with sandbox.run(seed=0, eventgrid_time_scale=0.001) as running:
        yield running


class publisher:
    """EventGridPublisherClient for a sandbox topic. For a basic topic the client drops
    constructor options (transport, retries), so the CA and retries go with each send."""

    def __init__(self, sb: sandbox.Sandbox, topic: str = "salesforce", credential=None) -> None:
        self.sb = sb
        self.client = EventGridPublisherClient(
            sb.eventgrid.endpoint(topic),
            credential or AzureKeyCredential(sb.eventgrid.topic(topic).key),
        )

    def __enter__(self) -> publisher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.client.close()

    def send(self, events: list[CloudEvent]) -> None:
        self.client.send(events, connection_verify=self.sb.ca_bundle, retry_total=0)


def event(n: int) -> CloudEvent:
    return CloudEvent(source="/test", type="test.event", data={"n": n}, id=f"evt-{n}")


def wait_for(check, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_a_published_batch_is_delivered_one_event_per_request_as_notifications(
    sb, webhook: Webhook
) -> None:
    sb.eventgrid.subscribe("salesforce", Subscription("fn", webhook.url))

    with publisher(sb) as client:
        client.send([event(1), event(2), event(3)])

    wait_for(lambda: len(webhook.received()) == 3)
    assert sorted(e["id"] for e in webhook.received()) == ["evt-1", "evt-2", "evt-3"]
    assert all(r["headers"]["aeg-event-type"] == "Notification" for r in webhook.requests)
    assert all(
        r["headers"]["Content-Type"].startswith("application/cloudevents+json")
        for r in webhook.requests
    )
    assert sb.eventgrid.topic("salesforce").requests == 1


def test_a_wrong_key_is_refused_401(sb) -> None:
    wrong = AzureKeyCredential("not-the-key")
    with pytest.raises(HttpResponseError) as err, publisher(sb, credential=wrong) as client:
        client.send([event(1)])

    assert err.value.status_code == 401


class _Token:
    """A TokenCredential over a token the Entra stand-in signed (azure-identity's own path
    to the stand-in is tested in tests/profile_api/test_msal.py)."""

    def __init__(self, token: str) -> None:
        self.token = token

    def get_token(self, *scopes: str, **kwargs) -> AccessToken:
        assert scopes == ("https://eventgrid.azure.net/.default",)
        return AccessToken(self.token, int(time.time()) + 3600)


def test_a_bearer_token_needs_the_data_sender_role_on_the_topic(sb, webhook: Webhook) -> None:
    client_app = sb.entra.register_client(roles=[])
    form = {"client_id": client_app.client_id, "client_secret": client_app.secret}
    token = sb.entra.client_credentials(
        {
            **form,
            "grant_type": "client_credentials",
            "scope": "https://eventgrid.azure.net/.default",
        }
    )["access_token"]
    sb.eventgrid.subscribe("salesforce", Subscription("fn", webhook.url))

    with pytest.raises(HttpResponseError) as err, publisher(sb, credential=_Token(token)) as c:
        c.send([event(1)])
    sb.eventgrid.topic("salesforce").senders.add(client_app.client_id)
    with publisher(sb, credential=_Token(token)) as client:
        client.send([event(2)])

    assert err.value.status_code == 403
    wait_for(lambda: [e["id"] for e in webhook.received()] == ["evt-2"])


def test_a_request_over_1_mb_is_refused_413(sb) -> None:
    big = CloudEvent(source="/test", type="test.event", data={"x": "a" * 1_100_000})

    with pytest.raises(HttpResponseError) as err, publisher(sb) as client:
        client.send([big])

    assert err.value.status_code == 413


def test_a_failing_endpoint_is_retried_with_back_off_until_it_succeeds(
    sb, webhook: Webhook
) -> None:
    webhook.fail_next = 3  # 500 three times
    sb.eventgrid.subscribe("salesforce", Subscription("fn", webhook.url))

    with publisher(sb) as client:
        client.send([event(1)])

    wait_for(lambda: len(webhook.received()) == 1)
    assert len(webhook.requests) == 4
    assert [r["headers"]["aeg-delivery-count"] for r in webhook.requests] == ["0", "1", "2", "3"]


@pytest.mark.parametrize("status", [400, 403, 413])
def test_a_function_endpoint_answering_400_403_or_413_is_dead_lettered_at_once(
    sb, webhook: Webhook, status: int
) -> None:
    webhook.fail_next, webhook.fail_status = 1, status
    sb.eventgrid.subscribe("salesforce", Subscription("fn", webhook.url))

    with publisher(sb) as client:
        client.send([event(1)])

    deliveries = sb.eventgrid.topic("salesforce").deliveries
    wait_for(lambda: len(deliveries.dead_letters) == 1)
    dead = deliveries.dead_letters[0]
    assert dead["id"] == "evt-1" and dead["deliveryattempts"] == 1
    assert dead["lasthttpstatuscode"] == status
    assert len(webhook.requests) == 1


def test_401_is_retried_for_a_function_endpoint_but_not_for_a_webhook(sb, webhook: Webhook) -> None:
    webhook.fail_next, webhook.fail_status = 2, 401
    sb.eventgrid.subscribe("salesforce", Subscription("fn", webhook.url))
    sb.eventgrid.subscribe("d2c", Subscription("hook", webhook.url, endpoint_type="WebHook"))

    with publisher(sb) as client:
        client.send([event(1)])
    wait_for(lambda: len(webhook.received()) == 1)
    webhook.fail_next = 1
    with publisher(sb, "d2c") as client:
        client.send([event(2)])

    d2c = sb.eventgrid.topic("d2c").deliveries
    wait_for(lambda: len(d2c.dead_letters) == 1)
    assert [e["id"] for e in webhook.received()] == ["evt-1"]


def test_an_event_out_of_attempts_is_dead_lettered(sb, webhook: Webhook) -> None:
    webhook.fail_next = 100
    sb.eventgrid.subscribe("salesforce", Subscription("fn", webhook.url, max_attempts=3))

    with publisher(sb) as client:
        client.send([event(1)])

    deliveries = sb.eventgrid.topic("salesforce").deliveries
    wait_for(lambda: len(deliveries.dead_letters) == 1)
    assert deliveries.dead_letters[0]["deadletterreason"] == "MaxDeliveryAttemptsExceeded"
    assert len(webhook.requests) == 3


def test_an_event_past_its_time_to_live_is_dead_lettered(sb, webhook: Webhook) -> None:
    webhook.fail_next = 100
    # 2 minutes to live: the retries at 10 s, 30 s and 1 min fit, the next (5 min) does not
    sb.eventgrid.subscribe("salesforce", Subscription("fn", webhook.url, ttl_minutes=2))

    with publisher(sb) as client:
        client.send([event(1)])

    deliveries = sb.eventgrid.topic("salesforce").deliveries
    wait_for(lambda: len(deliveries.dead_letters) == 1)
    assert deliveries.dead_letters[0]["deadletterreason"] == "TimeToLiveExceeded"
    assert len(webhook.requests) == 4


def test_the_d2c_stand_in_publishes_its_events_through_the_d2c_topic(sb, webhook: Webhook) -> None:
    sb.eventgrid.subscribe("d2c", Subscription("d2c_events", webhook.url))
    sb.publish_events_to_topics(d2c=True)

    sb.d2c_register("ann@example.com", "Example", company_name="Example Ltd")

    wait_for(lambda: len(webhook.received()) == 1)
    assert webhook.received()[0]["type"] == "customer.registered"
    assert sb.eventgrid.topic("d2c").published == 1
    assert webhook.requests[0]["headers"]["aeg-event-type"] == "Notification"


def test_a_subscription_may_deliver_an_event_twice_as_event_grid_may(sb, webhook: Webhook) -> None:
    sb.eventgrid.subscribe("salesforce", Subscription("fn", webhook.url, duplicate=1.0))

    with publisher(sb) as client:
        client.send([event(1), event(2)])

    wait_for(lambda: len(webhook.received()) == 4)
    time.sleep(0.2)  # and no third copy
    assert sorted(e["id"] for e in webhook.received()) == ["evt-1", "evt-1", "evt-2", "evt-2"]


def blobs_in(folder: Path) -> dict[str, list[dict]]:
    return {
        p.relative_to(folder).as_posix(): json.loads(p.read_bytes()) for p in folder.rglob("*.json")
    }


def test_a_dead_lettered_event_lands_as_a_blob_named_and_shaped_as_event_grid_writes_it(
    sb, webhook: Webhook, tmp_path: Path
) -> None:
    container = tmp_path / "eventgrid-deadletter"
    container.mkdir()
    webhook.fail_next, webhook.fail_status = 1, 400
    sb.eventgrid.subscribe(
        "d2c", Subscription("crosswalk-d2c", webhook.url, dead_letter=FolderDestination(container))
    )
    before = datetime.now(UTC)

    with publisher(sb, "d2c") as client:
        client.send([event(1)])

    deliveries = sb.eventgrid.topic("d2c").deliveries
    wait_for(lambda: len(deliveries.dead_letter_blobs) == 1)
    [(name, body)] = blobs_in(container).items()
    match = DOCUMENTED_NAME.match(name)
    assert match is not None, name
    assert match["sub"] == "CROSSWALK-D2C"
    hour = datetime(int(match["y"]), int(match["m"]), int(match["d"]), int(match["h"]), tzinfo=UTC)
    assert before.replace(minute=0, second=0, microsecond=0) <= hour <= datetime.now(UTC)
    [dead] = body
    assert (dead["id"], dead["source"], dead["type"], dead["data"]) == (
        "evt-1",
        "/test",
        "test.event",
        {"n": 1},
    )
    assert dead["deadletterreason"] == "UndeliverableDueToHttpBadRequest"
    assert (dead["deliveryattempts"], dead["lastdeliveryoutcome"]) == (1, "BadRequest")
    assert dead["lasthttpstatuscode"] == 400
    published = datetime.fromisoformat(dead["publishtime"])
    assert published <= datetime.fromisoformat(dead["lastdeliveryattempttime"])


def test_an_endpoint_that_stays_down_is_dead_lettered_once_its_attempts_run_out(
    sb, tmp_path: Path
) -> None:
    container = tmp_path / "dl"
    container.mkdir()
    down = "http://127.0.0.1:9/runtime/webhooks/eventgrid?functionName=x"  # nothing listens
    sb.eventgrid.subscribe(
        "salesforce",
        Subscription("fn", down, max_attempts=3, dead_letter=FolderDestination(container)),
    )

    with publisher(sb) as client:
        client.send([event(1)])

    deliveries = sb.eventgrid.topic("salesforce").deliveries
    assert deliveries.wait_drained(10)
    [[dead]] = blobs_in(container).values()
    assert dead["deadletterreason"] == "MaxDeliveryAttemptsExceeded"
    assert (dead["deliveryattempts"], dead["lastdeliveryoutcome"]) == (3, "SocketError")
    assert dead["lasthttpstatuscode"] is None


def test_a_missing_container_is_tried_again_and_written_once_it_exists(
    sb, webhook: Webhook, tmp_path: Path
) -> None:
    container = tmp_path / "not-yet"
    webhook.fail_next, webhook.fail_status = 1, 413
    sb.eventgrid.subscribe(
        "salesforce", Subscription("fn", webhook.url, dead_letter=FolderDestination(container))
    )

    with publisher(sb) as client:
        client.send([event(1)])
    deliveries = sb.eventgrid.topic("salesforce").deliveries
    wait_for(lambda: len(deliveries.dead_letters) == 1)
    time.sleep(0.5)  # the scaled 5-minute delay and a few scaled 1-minute retries
    container.mkdir()

    wait_for(lambda: len(deliveries.dead_letter_blobs) == 1)
    assert [b[0]["lastdeliveryoutcome"] for b in blobs_in(container).values()] == [
        "PayloadTooLarge"
    ]
    assert deliveries.dropped == 0


def test_without_a_dead_letter_location_the_event_is_dropped(sb, webhook: Webhook) -> None:
    webhook.fail_next, webhook.fail_status = 1, 400
    sb.eventgrid.subscribe("salesforce", Subscription("fn", webhook.url))

    with publisher(sb) as client:
        client.send([event(1)])

    deliveries = sb.eventgrid.topic("salesforce").deliveries
    wait_for(lambda: deliveries.dropped == 1)
    assert deliveries.dead_letter_blobs == []


@pytest.mark.azurite
def test_dead_letters_go_to_an_azurite_container_through_azure_storage_blob(
    sb, webhook: Webhook, azurite_connection_string: str
) -> None:
    from azure.storage.blob import ContainerClient

    container = ContainerClient.from_connection_string(
        azurite_connection_string, f"eventgrid-deadletter-{uuid.uuid4().hex[:8]}"
    )
    container.create_container()
    webhook.fail_next, webhook.fail_status = 1, 403
    sb.eventgrid.subscribe(
        "d2c", Subscription("crosswalk-d2c", webhook.url, dead_letter=BlobDestination(container))
    )

    with publisher(sb, "d2c") as client:
        client.send([event(7)])

    deliveries = sb.eventgrid.topic("d2c").deliveries
    wait_for(lambda: len(deliveries.dead_letter_blobs) == 1)
    [blob] = list(container.list_blobs())
    assert DOCUMENTED_NAME.match(blob.name) and blob.name.startswith("CROSSWALK-D2C/")
    assert blob.content_settings.content_type == "application/json"
    [dead] = json.loads(container.download_blob(blob.name).readall())
    assert (dead["id"], dead["lastdeliveryoutcome"]) == ("evt-7", "Forbidden")
    container.delete_container()
    container.close()
