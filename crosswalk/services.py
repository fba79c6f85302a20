"""The cached factory that activities and triggers get their clients from.

Clients are built from the settings object on first use, then reused by every invocation in
the worker process (connection pooling matters under load). Nothing is built at import time.
"""

from __future__ import annotations

import threading
from functools import cached_property, lru_cache
from typing import TYPE_CHECKING

from crosswalk.errors import ConfigurationError
from crosswalk.settings import AuditKind, Settings, current_settings

if TYPE_CHECKING:
    from crosswalk.clients.chat import ChatWebhook
    from crosswalk.clients.d2c import D2CClient
    from crosswalk.clients.salesforce import SalesforceClient
    from crosswalk.lake.base import Lake
    from crosswalk.lake.eventgrid_deadletters import EventGridDeadLetters
    from crosswalk.lake.raw import RawLanding
    from crosswalk.profile_api.auth import TokenVerifier
    from crosswalk.profiles.base import ProfileStore
    from crosswalk.relay.publisher import EventGridPublisher
    from crosswalk.relay.stream import PubSubClient
    from crosswalk.support.audit import AuditStore


class Services:
    """One instance per process: settings plus one client per outside system."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._lock = threading.RLock()
        self._publishers: dict[str, EventGridPublisher] = {}
        self._credential: object | None = None

    @cached_property
    def salesforce(self) -> SalesforceClient:
        from crosswalk.clients.salesforce import SalesforceClient

        with self._lock:
            return SalesforceClient(self.settings.salesforce)

    @cached_property
    def d2c(self) -> D2CClient:
        from crosswalk.clients.d2c import D2CClient

        with self._lock:
            return D2CClient(self.settings.d2c)

    @cached_property
    def chat(self) -> ChatWebhook:
        from crosswalk.clients.chat import ChatWebhook

        with self._lock:
            return ChatWebhook(self.settings.notify)

    @cached_property
    def profiles(self) -> ProfileStore:
        from crosswalk.profiles import open_profile_store

        with self._lock:
            return open_profile_store(self.settings.profile_store)

    @cached_property
    def lake(self) -> Lake:
        from crosswalk.lake import open_lake

        with self._lock:
            return open_lake(self.settings.lake)

    @cached_property
    def pubsub(self) -> PubSubClient:
        """The Pub/Sub API channel the relay subscribes over (Salesforce's session)."""
        from crosswalk.relay.stream import PubSubClient

        relay = self.settings.relay
        with self._lock:
            return PubSubClient(
                relay.pubsub_endpoint,
                lambda refresh: self.salesforce.access(refresh=refresh),
                ca_bundle=relay.ca_bundle,
            )

    @cached_property
    def event_grid(self) -> EventGridPublisher:
        """The relay's publisher to the Salesforce Event Grid topic."""
        return self.event_grid_topic("salesforce")

    def event_grid_topic(self, topic: str) -> EventGridPublisher:
        """One publisher per Event Grid topic (`salesforce`: the relay's, RELAY_EVENT_GRID_*;
        `d2c`: D2C_EVENT_GRID_*), built once; without a key they share one Entra ID
        credential. `ConfigurationError` names the missing endpoint setting."""
        from crosswalk.relay.publisher import EventGridPublisher

        if topic == "salesforce":
            cfg = self.settings.relay
            endpoint, key, ca, name = (
                cfg.event_grid_endpoint,
                cfg.event_grid_key,
                cfg.event_grid_ca_bundle,
                "RELAY_EVENT_GRID_ENDPOINT",
            )
        elif topic == "d2c":
            d2c = self.settings.d2c
            endpoint, key, ca, name = (
                d2c.event_grid_endpoint,
                d2c.event_grid_key,
                d2c.event_grid_ca_bundle,
                "D2C_EVENT_GRID_ENDPOINT",
            )
        else:
            raise ConfigurationError(f"no Event Grid topic {topic!r}")
        if endpoint is None:
            raise ConfigurationError(f"{name}: the {topic} topic's endpoint is not set")
        with self._lock:
            if topic not in self._publishers:
                secret = key.get_secret_value() if key else None
                self._publishers[topic] = EventGridPublisher(
                    str(endpoint),
                    key=secret,
                    credential=None if secret else self._azure_credential(),
                    ca_bundle=ca,
                )
            return self._publishers[topic]

    def _azure_credential(self) -> object:
        """The app's identity (DefaultAzureCredential), built once for the Event Grid topics."""
        if self._credential is None:
            from azure.identity import DefaultAzureCredential

            self._credential = DefaultAzureCredential()
        return self._credential

    @cached_property
    def eventgrid_deadletters(self) -> EventGridDeadLetters:
        """What Event Grid could not deliver to the app (LAKE_EVENTGRID_DEADLETTER_CONTAINER)."""
        from crosswalk.lake.eventgrid_deadletters import open_eventgrid_deadletters

        with self._lock:
            return open_eventgrid_deadletters(self.settings.lake)

    @cached_property
    def raw_landing(self) -> RawLanding | None:
        """The raw zone's buffer (None when `LAKE_RAW_ENABLED` is false)."""
        from crosswalk.lake.raw import landing_from_settings

        with self._lock:
            return landing_from_settings(
                self.lake, self.settings.lake, index_key=self.settings.erasure.key_bytes()
            )

    @cached_property
    def profile_tokens(self) -> TokenVerifier:
        """Entra ID's signing keys for the profile API, cached across invocations."""
        from crosswalk.profile_api.auth import TokenVerifier

        with self._lock:
            return TokenVerifier(self.settings.profile_api)

    @cached_property
    def audit(self) -> AuditStore:
        """The configured audit store, built once (it pools connections)."""
        support = self.settings.support
        with self._lock:
            if support.audit_kind is AuditKind.BLOB:
                from crosswalk.lake.blob import open_container
                from crosswalk.support.audit_blob import BlobAuditStore

                client, credential = open_container(self.settings.lake, support.audit_container)
                return BlobAuditStore(client, credential=credential)
            from crosswalk.support.audit import SqliteAuditStore

            return SqliteAuditStore(support.audit_sqlite_path)


@lru_cache(maxsize=1)
def services() -> Services:
    return Services(current_settings())
