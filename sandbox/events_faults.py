"""Where the sandbox's events go, what it counted and what it fails on purpose.

A part of :class:`sandbox.api.Sandbox` (a mixin): the outboxes, Event Grid topics, faults,
Pub/Sub faults and the clock are built by ``Sandbox.__init__``; this module only drives them.
"""

from __future__ import annotations

import time
from typing import Any, Literal, TypeVar

from .clock import Clock
from .eventgrid.topics import EventGridTopics
from .faults import Faults
from .outbox import Outbox
from .pubsub.bus import EventBus
from .pubsub.server import PubSubFaults, PubSubService
from .salesforce.org import SalesforceOrg
from .stats import Stats

Service = Literal["salesforce", "d2c", "both"]
T = TypeVar("T")


def _of_service(service: str, salesforce: T, d2c: T) -> list[T]:
    """The Salesforce part, the D2C part, or both ("both" or "all")."""
    if service in ("both", "all"):
        return [salesforce, d2c]
    if service == "salesforce":
        return [salesforce]
    if service == "d2c":
        return [d2c]
    raise ValueError(f"unknown service {service!r}")


class EventsAndFaults:
    """Stats, event delivery and faults of both stand-ins."""

    clock: Clock
    ca_bundle: str
    org: SalesforceOrg
    bus: EventBus
    eventgrid: EventGridTopics
    _pubsub: PubSubService
    _sf_outbox: Outbox
    _d2c_outbox: Outbox
    _sf_stats: Stats
    _d2c_stats: Stats
    _sf_faults: Faults
    _d2c_faults: Faults

    # -- observation ---------------------------------------------------------------------
    def stats(self) -> dict[str, Any]:
        """Calls per endpoint (``"METHOD /template"``) and totals per service, plus events."""
        used, limit = self.org.usage()
        return {
            "salesforce": {**self._sf_stats.snapshot(), "api_usage": {"used": used, "max": limit}},
            "d2c": self._d2c_stats.snapshot(),
            "pubsub": self.pubsub_stats(),
            "events": {
                "salesforce": self._sf_outbox.snapshot(),
                "d2c": self._d2c_outbox.snapshot(),
            },
        }

    def _outboxes(self, service: str) -> list[Outbox]:
        return _of_service(service, self._sf_outbox, self._d2c_outbox)

    def events_delivered(self, service: str = "all") -> list[dict[str, Any]]:
        """CloudEvents the webhook accepted (2xx), in delivery order, duplicates included."""
        return [e for o in self._outboxes(service) for e in o.delivered()]

    def events_pending(self, service: str = "all") -> int:
        return sum(o.pending() for o in self._outboxes(service))

    def wait_events_drained(self, timeout: float = 10.0, service: str = "all") -> bool:
        """Block until every queued event was delivered; False if ``timeout`` ran out."""
        deadline = time.monotonic() + timeout
        for o in self._outboxes(service):
            if not o.wait_drained(max(0.0, deadline - time.monotonic())):
                return False
        return True

    # -- configuration -------------------------------------------------------------------
    def set_events_to(self, salesforce: str | None = None, d2c: str | None = None) -> None:
        """Point change events at webhooks; None leaves a target alone, "" removes it."""
        if salesforce is not None:
            self._sf_outbox.set_target(salesforce)
        if d2c is not None:
            self._d2c_outbox.set_target(d2c)

    def publish_events_to_topics(self, salesforce: bool = False, d2c: bool = True) -> None:
        """Send a service's events to its Event Grid topic stand-in (which delivers to its
        subscriptions) instead of straight at a webhook: D2C publishes there as the D2C
        platform does; Salesforce's events reach the Salesforce topic through the relay."""
        for wanted, name, outbox in (
            (salesforce, "salesforce", self._sf_outbox),
            (d2c, "d2c", self._d2c_outbox),
        ):
            if wanted:
                topic = self.eventgrid.topic(name)
                outbox.set_topic(self.eventgrid.endpoint(name), topic.key, self.ca_bundle)

    def set_event_delivery(
        self, *, duplicate: float | None = None, reorder: bool | None = None, service: str = "all"
    ) -> None:
        """Test options: ``duplicate`` = probability an event is sent twice; ``reorder`` swaps
        each pair of neighbouring events."""
        for o in self._outboxes(service):
            o.configure(duplicate=duplicate, reorder=reorder)

    def _faults_of(self, service: str) -> list[Faults]:
        return _of_service(service, self._sf_faults, self._d2c_faults)

    def faults(
        self,
        service: Service = "both",
        *,
        path: str | None = None,
        method: str | None = None,
        latency: float = 0.0,
        status: int | None = None,
        rate: float = 1.0,
        errors: dict[int, float] | None = None,
        fail_next: int | None = None,
        drop: bool = False,
        limit_exceeded: bool = False,
    ) -> list[str]:
        """Add a fault rule; returns its id(s). See docs/sandbox.md "Faults"."""
        spec: dict[str, Any] = {
            "path": path,
            "method": method,
            "latency": latency,
            "errors": errors,
            "fail_next": fail_next,
            "drop": drop,
            "limit_exceeded": limit_exceeded,
        }
        if status is not None:
            spec["status"] = status
            spec["rate"] = rate
        return [f.add(spec).id for f in self._faults_of(service)]

    def add_fault(self, service: str, spec: dict[str, Any]) -> list[str]:
        """The JSON form of :meth:`faults` (control path)."""
        return [f.add(spec).id for f in self._faults_of(service)]

    def list_faults(self, service: str = "both") -> list[dict[str, Any]]:
        return [r for f in self._faults_of(service) for r in f.list()]

    def clear_faults(self, service: str = "both") -> None:
        for f in self._faults_of(service):
            f.clear()

    def advance_clock(self, seconds: float) -> None:
        """Move the sandbox clock forward (tokens expire, timestamps jump) without sleeping."""
        self.clock.advance(seconds)

    def pubsub_faults(
        self,
        *,
        drop_after: int | None = None,
        delay: float = 0.0,
        limit_exceeded: bool = False,
    ) -> None:
        """Pub/Sub API faults (replacing the last set): end streams with UNAVAILABLE after
        ``drop_after`` more events, wait ``delay`` s before each response, refuse subscribing
        as if the org's daily delivery allocation were spent."""
        self._pubsub.faults = PubSubFaults(drop_after, delay, limit_exceeded)

    def pubsub_stats(self) -> dict[str, Any]:
        """Pub/Sub API calls per method, events delivered (the allocation) and the position."""
        return {
            **self._pubsub.calls,
            "delivered": self.bus.delivered,
            "latest_position": self.bus.latest(),
        }
