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
        from crosswalk.relay.publisher import EventGridPublisher

        relay = self.settings.relay
        if relay.event_grid_endpoint is None:
            raise ConfigurationError("RELAY_EVENT_GRID_ENDPOINT: required by the relay")
        key = relay.event_grid_key.get_secret_value() if relay.event_grid_key else None
        with self._lock:
            return EventGridPublisher(
                str(relay.event_grid_endpoint), key=key, ca_bundle=relay.event_grid_ca_bundle
            )

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
