"""One bounded relay session: every configured channel, for at most `RELAY_SESSION_SECONDS`.

Per channel: take the checkpoint's lease, subscribe after the checkpoint (or at LATEST), and
for each response convert the events, publish them to Event Grid, and only then move the
checkpoint; keepalives move it too, so a quiet org's checkpoint never ages out. An event that
cannot be decoded is dead-lettered in the lake and the checkpoint moves past it. Failures:

- the checkpoint aged out (the server's ``replayid.corrupted``, or older than
  ``RELAY_MAX_CHECKPOINT_AGE_HOURS``): resubscribe at LATEST and report a catch-up from the
  last relayed commit time (the timer starts the reconciliation; the checkpoint keeps a note);
- an expired token: a new Salesforce session, then resume from the checkpoint;
- a dropped stream: resume from the checkpoint after a pause that doubles, up to 30 s;
- unknown topic, missing permission, the delivery allocation spent, Event Grid refusing:
  recorded on the checkpoint (support health), logged, counted; the channel stops until the
  next session, so nothing loops hot.
"""

from __future__ import annotations

import base64
import contextlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from crosswalk.errors import IntegrationError
from crosswalk.lake.base import Lake
from crosswalk.pubsub.changes import CometdEvent, ConversionError, to_cometd
from crosswalk.relay.checkpoint import Lease, LeaseLost, checkpoint_path, wall_ms
from crosswalk.relay.publisher import EventGridPublisher, PublishError
from crosswalk.relay.stream import PubSubClient, PubSubError
from crosswalk.settings import RelaySettings
from crosswalk.telemetry import metric

log = logging.getLogger("crosswalk.relay")
MAX_PAUSE = 30.0
DEAD_LETTERS = "deadletter/salesforce-relay"


@dataclass
class TopicReport:
    """What one channel's session did; ``stopped`` says why it ended."""

    topic: str
    relayed: int = 0
    dead_lettered: int = 0
    keepalives: int = 0
    reconnects: int = 0
    catch_up_since: datetime | None = None
    catch_up_reason: str | None = None
    stopped: str = "deadline"  # deadline, lease_held, lease_lost, error
    error_kind: str | None = None
    error: str | None = None
    lag_ms: float | None = None
    checkpoint_age_s: float | None = None


@dataclass
class RelayContext:
    """The session's parts; the clocks are injectable for tests."""

    settings: RelaySettings
    lake: Lake
    pubsub: PubSubClient
    publisher: EventGridPublisher
    owner: str
    now_ms: Callable[[], int] = wall_ms
    monotonic: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    stop: threading.Event = field(default_factory=threading.Event)


def run_session(ctx: RelayContext, seconds: float | None = None) -> list[TopicReport]:
    """Relay every channel until the session's end; one thread per channel."""
    deadline = ctx.monotonic() + (seconds if seconds is not None else ctx.settings.session_seconds)
    topics = ctx.settings.topics
    reports = [TopicReport(t) for t in topics]
    threads = [
        threading.Thread(
            target=relay_topic, args=(ctx, r, deadline), name=f"relay-{r.topic}", daemon=True
        )
        for r in reports
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return reports


def relay_topic(ctx: RelayContext, report: TopicReport, deadline: float) -> None:
    topic = report.topic
    try:
        lease = Lease.acquire(
            ctx.lake, topic, ctx.owner, lease_seconds=ctx.settings.lease_seconds, now=ctx.now_ms
        )
    except IntegrationError as exc:
        _stop(report, None, "checkpoint", f"cannot read the checkpoint: {exc}")
        return
    if lease is None:
        report.stopped = "lease_held"
        log.info("relay %s: another relay holds the checkpoint; nothing to do", topic)
        return
    try:
        _relay(ctx, lease, report, deadline)
    except LeaseLost as exc:
        report.stopped = "lease_lost"
        log.warning("relay %s: %s; stopped", topic, exc)
        return
    except IntegrationError as exc:  # the lake failed under a checkpoint write
        _stop(report, None, "checkpoint", f"checkpoint write failed: {exc}")
    lease.release()


def _relay(ctx: RelayContext, lease: Lease, report: TopicReport, deadline: float) -> None:
    checkpoint = lease.checkpoint
    topic = report.topic
    if checkpoint.saved_ms is not None and checkpoint.replay_id:
        report.checkpoint_age_s = (ctx.now_ms() - checkpoint.saved_ms) / 1000
        metric.relay_checkpoint_age(topic, report.checkpoint_age_s)
        if report.checkpoint_age_s > ctx.settings.max_checkpoint_age_hours * 3600:
            _catch_up(lease, report, "checkpoint older than RELAY_MAX_CHECKPOINT_AGE_HOURS")
    pause = 0.5
    refreshed = False
    while ctx.monotonic() < deadline and not ctx.stop.is_set():
        replay = bytes.fromhex(checkpoint.replay_id) if checkpoint.replay_id else None
        try:
            subscription = ctx.pubsub.subscribe(
                topic,
                replay,
                batch_size=ctx.settings.batch_size,
                timeout=max(deadline - ctx.monotonic(), 0.1),
            )
            try:
                for group in subscription.groups():
                    events = [e for response in group for e in response.events]
                    # the last response's latest id covers everything before it in the stream
                    position = group[-1].latest_replay_id
                    if events:
                        _relay_events(ctx, lease, report, events, position, deadline)
                        subscription.request(len(events))
                    else:
                        lease.advance(position)  # keepalives only
                    report.keepalives += sum(1 for response in group if not response.events)
                    pause, refreshed = 0.5, False
                    if ctx.monotonic() >= deadline or ctx.stop.is_set():
                        return
            finally:
                subscription.close()
            report.reconnects += 1  # the server ended the stream: resume from the checkpoint
        except PubSubError as exc:
            if exc.kind == "deadline":
                return
            if exc.kind == "expired_replay":
                _catch_up(lease, report, f"Pub/Sub API: {exc}")
                continue
            if exc.kind == "auth" and not refreshed:
                log.info("relay %s: %s; new Salesforce session", topic, exc)
                try:
                    ctx.pubsub.refresh()
                except IntegrationError as auth_exc:
                    _stop(report, lease, "auth", f"Salesforce login failed: {auth_exc}")
                    return
                refreshed = True
                report.reconnects += 1
                continue
            if exc.kind == "unavailable":
                metric.relay_error(topic, exc.kind)
                log.warning("relay %s: %s; resuming in %.1f s", topic, exc, pause)
                report.reconnects += 1
                ctx.sleep(min(pause, max(deadline - ctx.monotonic(), 0)))
                pause = min(pause * 2, MAX_PAUSE)
                continue
            _stop(report, lease, exc.kind, str(exc))
            return
        except PublishError as exc:
            _stop(report, lease, "event_grid", str(exc))
            return


def _relay_events(
    ctx: RelayContext,
    lease: Lease,
    report: TopicReport,
    events: list[Any],
    position: bytes,
    deadline: float,
) -> None:
    converted: list[CometdEvent] = []
    dead = 0
    for event in events:
        try:
            schema = ctx.pubsub.schema(event.event.schema_id)
            converted.append(to_cometd(schema, event.event.payload, event.replay_id))
        except (ConversionError, PubSubError) as exc:
            if isinstance(exc, PubSubError) and exc.kind != "not_found":
                raise
            _dead_letter(ctx, report.topic, event, str(exc))
            dead += 1
    lease_ms = ctx.settings.lease_seconds * 1000
    lease.ensure(margin_ms=int(lease_ms / 2))
    if converted:
        # ensure() left at least half the lease: publishing (with its retries) takes at most a
        # quarter, so no other relay can have taken the channel before the checkpoint moves
        ctx.publisher.publish(converted, deadline=ctx.monotonic() + lease_ms / 4000)
    commit_ms = max((e.commit_ms for e in converted), default=None)
    lease.advance(position, commit_ms=commit_ms, relayed=len(converted), dead=dead)
    now = ctx.now_ms()
    lags = [float(now - e.commit_ms) for e in converted]
    report.relayed += len(converted)
    report.dead_lettered += dead
    if lags:
        report.lag_ms = lags[-1]
    metric.relayed(report.topic, len(converted), lags)


def _dead_letter(ctx: RelayContext, topic: str, event: Any, reason: str) -> None:
    """Keep an event the relay cannot convert, with its replay id and why; go on."""
    day = datetime.fromtimestamp(ctx.now_ms() / 1000, tz=UTC).strftime("%Y/%m/%d")
    replay = event.replay_id.hex()
    slug = checkpoint_path(topic).rsplit("/", 1)[-1].removesuffix(".json")
    ctx.lake.put_json(
        f"{DEAD_LETTERS}/{day}/{slug}-{replay}.json",
        {
            "source": "salesforce-relay",
            "topic": topic,
            "replayId": replay,
            "schemaId": event.event.schema_id,
            "reason": reason[:2000],
            "payload": base64.b64encode(event.event.payload).decode(),
        },
    )
    metric.dead_lettered("salesforce-relay")
    log.warning("relay %s: event %s dead-lettered: %s", topic, replay, reason[:300])


def _catch_up(lease: Lease, report: TopicReport, reason: str) -> None:
    checkpoint = lease.checkpoint
    since_ms = checkpoint.last_commit_ms or checkpoint.saved_ms
    lease.restart_at_latest(since_ms, reason)
    report.catch_up_since = (
        datetime.fromtimestamp(since_ms / 1000, tz=UTC) if since_ms is not None else None
    )
    report.catch_up_reason = reason
    metric.relay_error(report.topic, "expired_checkpoint")
    log.warning(
        "relay %s: checkpoint expired (%s); resubscribing at LATEST, catch-up since %s",
        report.topic,
        reason,
        report.catch_up_since,
    )


def _stop(report: TopicReport, lease: Lease | None, kind: str, message: str) -> None:
    report.stopped, report.error_kind, report.error = "error", kind, message
    metric.relay_error(report.topic, kind)
    log.error("relay %s stopped until the next session: %s: %s", report.topic, kind, message)
    if lease is not None:
        with contextlib.suppress(LeaseLost, IntegrationError):  # the log line stays
            lease.record_error(kind, message)
