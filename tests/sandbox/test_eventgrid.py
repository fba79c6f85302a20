"""The sandbox's Event Grid topics: azure-eventgrid's own client publishes unchanged, and
delivery follows Event Grid's rules (one event per request, retries, dead-lettering)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from azure.core.credentials import AccessToken, AzureKeyCredential
from azure.core.exceptions import HttpResponseError
from azure.core.messaging import CloudEvent
from azure.eventgrid import EventGridPublisherClient
from sbkit import Webhook

import sandbox
from sandbox.eventgrid.delivery import Subscription


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
