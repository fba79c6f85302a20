"""The relay on the production path: sandbox Salesforce -> Pub/Sub API -> the app's relay
(its timer on devhost) -> the Event Grid topic stand-in -> the app's Event Grid trigger.

1. Burst: N Account changes (new Prospect accounts, so the app lands and routes each event
   without starting a workflow) committed back to back; prints events/s through the relay
   (first commit -> Event Grid accepted the last), commit -> the app answered the delivery
   (p50/p95), Salesforce calls (Pub/Sub API calls + REST calls) and Event Grid publish requests
   per event.
2. Steady: RATE changes/s for SECONDS; prints commit -> applied p50/p95.

Run: .venv/bin/python bench/relay.py [N] [RATE] [SECONDS] (defaults 5000, 20, 30). Goals on 2
cores: >= 500 events/s through the relay in the burst, < 0.02 publish requests per event, and
p95 < 5 s from commit to applied at a steady 20 changes/s. The last line is the result.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sandbox  # noqa: E402
from devhost.testing import run  # noqa: E402
from sandbox.eventgrid.delivery import Subscription  # noqa: E402
from scripts.localstack import APP_DIR, app_env, relay_env  # noqa: E402

SF_EVENTS = "/runtime/webhooks/eventgrid?functionName=salesforce_change_events"


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _commit_s(event: dict) -> float:
    return event["data"]["payload"]["ChangeEventHeader"]["commitTimestamp"] / 1000


def _wait(check, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise SystemExit(f"bench/relay.py: timed out waiting for {what}")
        time.sleep(0.05)


def _latencies(deliveries, names: set[str]) -> list[float]:
    out = []
    for event, at in zip(list(deliveries.delivered), list(deliveries.delivered_at), strict=True):
        if event["data"]["payload"].get("Name") in names:
            out.append(at - _commit_s(event))
    return out


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
    rate = float(sys.argv[2]) if len(sys.argv) > 2 else 20.0
    seconds = float(sys.argv[3]) if len(sys.argv) > 3 else 30.0
    data = Path(tempfile.mkdtemp(prefix="bench-relay-"))
    with sandbox.run(seed=0, pubsub_keepalive=1.0) as sb:
        env = app_env(sb, data, **relay_env(sb, RELAY_TOPICS="/data/AccountChangeEvent"))
        with run(APP_DIR, env=env, time_skipping=False) as host:
            topic = sb.eventgrid.topic("salesforce")
            deliveries = topic.deliveries
            sb.eventgrid.subscribe("salesforce", Subscription("app", f"{host.url}{SF_EVENTS}"))
            checkpoint = data / "lake" / "relay" / "checkpoints" / "data-AccountChangeEvent.json"
            _wait(
                lambda: checkpoint.exists() and '"replayId": "' in checkpoint.read_text(),
                60,
                "the relay's first checkpoint",
            )
            rest_before = sb.stats()["salesforce"]["total"]
            pubsub_before = sb.pubsub_stats()
            requests_before = topic.requests

            # 1. the burst
            burst = {f"Burst {i:05d}" for i in range(n)}
            started = time.time()
            for name in sorted(burst):
                sb.salesforce_create("Account", {"Name": name, "Type": "Prospect"})
            committed = time.time()
            _wait(lambda: topic.published >= n, 600, "the burst to be published")
            published = time.time()
            _wait(lambda: len(_latencies(deliveries, burst)) >= n, 600, "the burst to be applied")
            burst_lat = _latencies(deliveries, burst)
            relay_rate = n / (published - started)
            pubsub_after = sb.pubsub_stats()
            pubsub_calls = sum(
                pubsub_after[k] - pubsub_before[k] for k in ("GetTopic", "GetSchema", "Subscribe")
            )
            rest_calls = sb.stats()["salesforce"]["total"] - rest_before
            publish_requests = topic.requests - requests_before
            print(
                f"burst: {n} changes committed in {committed - started:.2f} s; relayed at "
                f"{relay_rate:.0f} events/s (first commit -> last accepted by Event Grid); "
                f"commit -> applied p50 {statistics.median(burst_lat):.2f} s, "
                f"p95 {_pct(burst_lat, 0.95):.2f} s; Salesforce calls/event "
                f"{(pubsub_calls + rest_calls) / n:.4f} ({pubsub_calls} Pub/Sub API, "
                f"{rest_calls} REST); Event Grid publish requests/event {publish_requests / n:.4f}",
                flush=True,
            )

            # 2. steady changes
            steady = [f"Steady {i:05d}" for i in range(int(rate * seconds))]
            t0 = time.monotonic()
            for i, name in enumerate(steady):
                delay = t0 + i / rate - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                sb.salesforce_create("Account", {"Name": name, "Type": "Prospect"})
            _wait(lambda: len(_latencies(deliveries, set(steady))) >= len(steady), 300, "steady")
            steady_lat = _latencies(deliveries, set(steady))
            print(
                f"steady: {rate:g} changes/s for {seconds:g} s: commit -> applied "
                f"p50 {statistics.median(steady_lat):.2f} s, p95 {_pct(steady_lat, 0.95):.2f} s",
                flush=True,
            )
    load = os.getloadavg()
    print(
        f"relay: {relay_rate:.0f} events/s through the relay (goal >= 500), "
        f"{publish_requests / n:.4f} publish requests/event (goal < 0.02), steady p95 "
        f"{_pct(steady_lat, 0.95):.2f} s (goal < 5); load average {load[0]:.2f} "
        f"({datetime.now().isoformat(timespec='seconds')})"
    )


if __name__ == "__main__":
    main()
