"""Relay fixtures: a sandbox (Salesforce with its Pub/Sub API, Event Grid topics) and the
relay's real parts (PubSubClient over TLS, EventGridPublisher, a folder lake), with a webhook
subscribed to the Salesforce topic standing in for the app."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import sandbox
from crosswalk.clients.salesforce import SalesforceClient
from crosswalk.lake.folder import FolderLake
from crosswalk.relay.publisher import EventGridPublisher
from crosswalk.relay.session import RelayContext, TopicReport, run_session
from crosswalk.relay.stream import PubSubClient
from crosswalk.settings import RelaySettings, SalesforceSettings
from sandbox.eventgrid.delivery import Subscription
from scripts.localstack import WebhookSink

ACCOUNTS = "/data/AccountChangeEvent"


@dataclass
class RelayRig:
    sb: Any
    lake: FolderLake
    sink: WebhookSink
    salesforce: SalesforceClient
    pubsub: PubSubClient
    publisher: EventGridPublisher

    def context(self, owner: str | None = None, **settings: Any) -> RelayContext:
        values = {"enabled": True, "topics": [ACCOUNTS], "event_grid_endpoint": "https://x/"}
        values.update(settings)
        return RelayContext(
            settings=RelaySettings.model_validate(values),
            lake=self.lake,
            pubsub=self.pubsub,
            publisher=self.publisher,
            owner=owner or f"relay-{uuid.uuid4().hex[:8]}",
            now_ms=self.sb.clock.now_ms,  # the relay's clock is the sandbox's (ages, retention)
        )

    def session(self, seconds: float = 1.0, **settings: Any) -> TopicReport:
        [report] = run_session(self.context(**settings), seconds)
        return report

    def relay_until(self, done: Callable[[], bool], timeout: float = 20.0) -> list[TopicReport]:
        """Short sessions, one after another, until ``done()``."""
        reports = []
        deadline = time.monotonic() + timeout
        while not done():
            assert time.monotonic() < deadline, f"not done after {timeout} s: {reports}"
            reports.append(self.session(0.5))
        return reports

    def delivered_ids(self) -> list[str]:
        return [e["id"] for e in self.sink.received]

    def drained(self) -> bool:
        return self.sb.eventgrid.topic("salesforce").deliveries.wait_drained(10)


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[RelayRig]:
    with (
        sandbox.run(seed=0, pubsub_keepalive=0.2, eventgrid_time_scale=0.001) as sb,
        WebhookSink() as sink,
    ):
        sb.eventgrid.subscribe("salesforce", Subscription("app", sink.url))
        salesforce = SalesforceClient(
            SalesforceSettings.model_validate(
                {
                    "login_url": sb.salesforce_url,
                    "client_id": sb.salesforce_client_id,
                    "client_secret": sb.salesforce_client_secret,
                    "ca_bundle": sb.ca_bundle,
                }
            )
        )
        pubsub = PubSubClient(
            sb.pubsub_target,
            lambda refresh: salesforce.access(refresh=refresh),
            ca_bundle=Path(sb.ca_bundle),
        )
        publisher = EventGridPublisher(
            sb.eventgrid.endpoint("salesforce"),
            key=sb.eventgrid.topic("salesforce").key,
            ca_bundle=Path(sb.ca_bundle),
        )
        yield RelayRig(sb, FolderLake(tmp_path / "lake"), sink, salesforce, pubsub, publisher)
        publisher.close()
        pubsub.close()


def in_background(fn: Callable[[], Any]) -> threading.Thread:
    thread = threading.Thread(target=fn, daemon=True)
    thread.start()
    return thread
