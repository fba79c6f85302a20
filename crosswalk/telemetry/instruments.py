"""The metrics Crosswalk reports, all named under `crosswalk.`; no-ops until telemetry is on.

Each function is called where the fact happens exactly once: in an activity, an entity or a
trigger, or in an orchestrator only when it is not replaying (orchestrators/steps.py
`count`), so an onboarding counts once however often its orchestrator replays.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from opentelemetry.metrics import (
    CallbackOptions,
    Counter,
    Histogram,
    MeterProvider,
    ObservableGauge,
    Observation,
    _Gauge,
)


@dataclass(frozen=True, slots=True)
class Instruments:
    onboardings: Counter
    compensations: Counter
    approval_wait: Histogram
    updates: Counter
    signups: Counter
    repairs: Counter
    external_duration: Histogram
    external_errors: Counter
    salesforce_remaining: ObservableGauge
    allowance_waits: Counter
    events: Counter
    dead_letters: Counter
    relayed: Counter
    relay_lag: Histogram
    relay_checkpoint_age: _Gauge
    relay_errors: Counter
    erasures: Counter
    contact_changes: Counter
    curated_refresh: Histogram
    curated_rows: Counter

    @classmethod
    def build(cls, provider: MeterProvider) -> Instruments:
        meter = provider.get_meter("crosswalk")
        return cls(
            onboardings=meter.create_counter(
                "crosswalk.onboardings", unit="{onboarding}", description="finished, by outcome"
            ),
            compensations=meter.create_counter(
                "crosswalk.compensations", unit="{step}", description="undo steps, by step"
            ),
            approval_wait=meter.create_histogram(
                "crosswalk.approval.wait", unit="s", description="approval waits, by decision"
            ),
            updates=meter.create_counter(
                "crosswalk.updates", unit="{update}", description="account updates, by outcome"
            ),
            signups=meter.create_counter(
                "crosswalk.signups", unit="{signup}", description="sign-up links, by outcome"
            ),
            repairs=meter.create_counter(
                "crosswalk.reconciliation.repairs",
                unit="{repair}",
                description="repairs reconciliation started, by finding and outcome",
            ),
            external_duration=meter.create_histogram(
                "crosswalk.external.duration",
                unit="ms",
                description="calls to outside systems, by system and status",
            ),
            external_errors=meter.create_counter(
                "crosswalk.external.errors",
                unit="{call}",
                description="failed calls to outside systems, by system and status",
            ),
            salesforce_remaining=meter.create_observable_gauge(
                "crosswalk.salesforce.api_remaining",
                callbacks=[_observe_allowance],
                unit="{call}",
                description="the org's daily API allowance left (Sforce-Limit-Info)",
            ),
            allowance_waits=meter.create_counter(
                "crosswalk.salesforce.allowance_waits",
                unit="{wait}",
                description="workflow waits for the org's daily API allowance, by workflow",
            ),
            events=meter.create_counter(
                "crosswalk.events.received", unit="{event}", description="by source and kind"
            ),
            dead_letters=meter.create_counter(
                "crosswalk.dead_letters", unit="{event}", description="events kept, by source"
            ),
            relayed=meter.create_counter(
                "crosswalk.relay.events",
                unit="{event}",
                description="Salesforce change events Event Grid accepted, by topic",
            ),
            relay_lag=meter.create_histogram(
                "crosswalk.relay.lag",
                unit="ms",
                description="from the change's commit to Event Grid accepting it, by topic",
            ),
            relay_checkpoint_age=meter.create_gauge(
                "crosswalk.relay.checkpoint_age",
                unit="s",
                description="age of the checkpoint a relay session starts from, by topic",
            ),
            relay_errors=meter.create_counter(
                "crosswalk.relay.errors", unit="{error}", description="by topic and kind"
            ),
            erasures=meter.create_counter(
                "crosswalk.erasures", unit="{person}", description="erasures, by outcome"
            ),
            contact_changes=meter.create_counter(
                "crosswalk.contact_changes",
                unit="{change}",
                description="Salesforce Contact changes applied to profiles' people, by outcome",
            ),
            curated_refresh=meter.create_histogram(
                "crosswalk.curated.refresh.duration",
                unit="s",
                description="curated zone refreshes and compactions, by job",
            ),
            curated_rows=meter.create_counter(
                "crosswalk.curated.rows",
                unit="{row}",
                description="rows a curated refresh wrote or deleted, by table and change",
            ),
        )


_instruments: Instruments | None = None


def use(instruments: Instruments | None) -> None:
    global _instruments
    _instruments = instruments


def onboarding_finished(outcome: str) -> None:
    if _instruments:
        _instruments.onboardings.add(1, {"outcome": outcome})


def compensation_finished(step: str, outcome: str) -> None:
    if _instruments:
        _instruments.compensations.add(1, {"step": step, "outcome": outcome})


def approval_waited(seconds: float, decision: str) -> None:
    if _instruments:
        _instruments.approval_wait.record(seconds, {"decision": decision})


def update_finished(outcome: str) -> None:
    if _instruments:
        _instruments.updates.add(1, {"outcome": outcome})


def signup_finished(outcome: str) -> None:
    if _instruments:
        _instruments.signups.add(1, {"outcome": outcome})


def repair_finished(finding: str, outcome: str) -> None:
    if _instruments:
        _instruments.repairs.add(1, {"finding": finding, "outcome": outcome})


def external_call(system: str, status: int | str, milliseconds: float, *, failed: bool) -> None:
    if _instruments:
        attributes = {"system": system, "status": str(status)}
        _instruments.external_duration.record(milliseconds, attributes)
        if failed:
            _instruments.external_errors.add(1, attributes)


_allowance_seen: dict[int, int] = {}
"""The allowance left that the last answer reported, by the org's daily maximum."""


def salesforce_allowance(remaining: int, maximum: int) -> None:
    """Noted on every Salesforce answer, read when metrics are collected: a value that
    changes with every call is an observable gauge's, not a recording per call."""
    if _instruments:
        _allowance_seen[maximum] = remaining


def _observe_allowance(options: CallbackOptions) -> Iterator[Observation]:
    for maximum, remaining in list(_allowance_seen.items()):
        yield Observation(remaining, {"max": maximum})


def allowance_waited(workflow: str) -> None:
    if _instruments:
        _instruments.allowance_waits.add(1, {"workflow": workflow})


def event_received(source: str, kind: str) -> None:
    if _instruments:
        _instruments.events.add(1, {"source": source, "kind": kind})


def dead_lettered(source: str) -> None:
    if _instruments:
        _instruments.dead_letters.add(1, {"source": source})


def relayed(topic: str, count: int, lags_ms: list[float]) -> None:
    if _instruments:
        _instruments.relayed.add(count, {"topic": topic})
        for lag in lags_ms:
            _instruments.relay_lag.record(lag, {"topic": topic})


def relay_checkpoint_age(topic: str, seconds: float) -> None:
    if _instruments:
        _instruments.relay_checkpoint_age.set(seconds, {"topic": topic})


def relay_error(topic: str, kind: str) -> None:
    if _instruments:
        _instruments.relay_errors.add(1, {"topic": topic, "kind": kind})


def erasure_finished(outcome: str) -> None:
    if _instruments:
        _instruments.erasures.add(1, {"outcome": outcome})


def contact_change_finished(outcome: str) -> None:
    if _instruments:
        _instruments.contact_changes.add(1, {"outcome": outcome})


def curated_refreshed(job: str, seconds: float, rows: dict[str, int]) -> None:
    """One curated job: its duration, and rows by `<table>.<change>` (e.g. `profiles.upserted`)."""
    if _instruments:
        _instruments.curated_refresh.record(seconds, {"job": job})
        for name, count in rows.items():
            table, _, change = name.partition(".")
            _instruments.curated_rows.add(count, {"table": table, "change": change})
