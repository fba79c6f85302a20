"""The production path end to end: Salesforce (sandbox) -> Pub/Sub API -> the relay (the
app's timer on devhost, or `python -m crosswalk.relay`) -> the Event Grid topic stand-in ->
the app's Event Grid trigger. Nothing posts straight at the webhook here."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import sandbox
from devhost.testing import run
from sandbox.eventgrid.delivery import Subscription
from scripts.localstack import APP_DIR, app_env, relay_env
from tests.e2e.conftest import FAST_RETRIES, QUIET_SCHEDULE, Stack
from tests.e2e.sync import customer_of, instances, list_instances, onboarded, running

pytestmark = pytest.mark.slow


def _wait(check: Callable[[], bool], timeout: float = 60.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


@pytest.fixture
def relay_stack(tmp_path: Path) -> Iterator[Callable[..., Stack]]:
    """`relay_stack(relay_in_app=True, **env) -> Stack`: the app receives Salesforce events
    only through the topic; the relay runs in the app (its timer) unless told otherwise."""
    import contextlib

    with contextlib.ExitStack() as exits:

        def make(relay_in_app: bool = True, **overrides: str) -> Stack:
            sb = exits.enter_context(sandbox.run(seed=12, pubsub_keepalive=1.0))
            data = tmp_path / "data"
            data.mkdir(exist_ok=True)
            relay = relay_env(sb, RELAY_SESSION_SECONDS="5")
            if not relay_in_app:
                relay["RELAY_ENABLED"] = "false"
            env = app_env(sb, data, **{**FAST_RETRIES, **QUIET_SCHEDULE, **relay, **overrides})
            host = exits.enter_context(run(APP_DIR, env=env, time_skipping=False))
            sb.eventgrid.subscribe(
                "salesforce",
                Subscription(
                    "salesforce_change_events",
                    f"{host.url}/runtime/webhooks/eventgrid?functionName=salesforce_change_events",
                    duplicate=0.25,  # Event Grid delivers at least once
                ),
            )
            return Stack(sb=sb, host=host, data=data, env=env)

        yield make


def _settled(stack: Stack) -> bool:
    deliveries = stack.sb.eventgrid.topic("salesforce").deliveries
    return deliveries.pending() == 0 and not running(stack)


def _relaying(stack: Stack) -> None:
    """A relay that never ran starts at LATEST: wait for its first checkpoint (a keepalive's)."""
    checkpoint = stack.data / "lake" / "relay" / "checkpoints" / "data-AccountChangeEvent.json"
    _wait(lambda: checkpoint.exists() and '"replayId": "' in checkpoint.read_text(), what="relay")


def test_an_account_edited_in_salesforce_reaches_d2c_through_the_relay(relay_stack) -> None:
    stack = relay_stack()
    _relaying(stack)
    (account,) = onboarded(stack)  # its write-back's echo comes back through the relay too
    _wait(lambda: stack.sb.eventgrid.topic("salesforce").published > 0, what="the echo")

    stack.sb.salesforce_edit("Account", account["Id"], {"Name": "Relayed Trading GmbH"})

    _wait(
        lambda: customer_of(stack, account["Id"])["name"] == "Relayed Trading GmbH",
        what="the rename to reach D2C",
    )
    assert stack.sb.events_pending("salesforce") == 0  # nothing went the direct way
    assert stack.sb.stats()["events"]["salesforce"]["delivered"] == 0


def test_kill_9_of_the_relay_mid_session_loses_nothing_and_applies_nothing_twice(
    relay_stack,
) -> None:
    stack = relay_stack(relay_in_app=False)
    (account,) = onboarded(stack)
    env = {
        **os.environ,
        **stack.env,
        **relay_env(stack.sb, RELAY_BATCH_SIZE="2", RELAY_LEASE_SECONDS="3"),
    }
    command = [sys.executable, "-m", "crosswalk.relay", "--seconds", "30"]
    first = subprocess.Popen(command, env=env, cwd=APP_DIR, stdout=subprocess.DEVNULL)
    topic = stack.sb.eventgrid.topic("salesforce")
    _relaying(stack)
    assert first.poll() is None
    stack.sb.pubsub_faults(delay=0.3)  # two events per response, one response every 0.3 s
    names = [f"Kill Nine {i:02d}" for i in range(12)]
    for name in names:
        stack.sb.salesforce_edit("Account", account["Id"], {"Name": name})

    _wait(lambda: topic.published >= 4, what="part of the burst to be published")
    first.send_signal(signal.SIGKILL)
    first.wait()
    killed_at = topic.published
    stack.sb.pubsub_faults()
    # the killed relay's lease on the checkpoint runs out before another may take it
    checkpoint = stack.data / "lake" / "relay" / "checkpoints" / "data-AccountChangeEvent.json"
    lease_until = json.loads(checkpoint.read_text())["leaseUntilMs"] / 1000
    time.sleep(max(0.0, lease_until - time.time()) + 0.1)
    second = subprocess.run(
        [*command[:-1], "4"], env=env, cwd=APP_DIR, capture_output=True, text=True, timeout=60
    )
    _wait(lambda: _settled(stack), what="the app to settle")

    assert second.returncode == 0, second.stderr
    assert json.loads(second.stdout.splitlines()[0])["stopped"] == "deadline"
    assert killed_at >= 4  # the kill came mid-burst, after part of it was published
    relayed = [
        e["id"] for e in topic.deliveries.delivered if e["data"]["payload"].get("Name") in names
    ]
    assert len(set(relayed)) == len(names)  # nothing lost
    updates = instances(stack, f"update-{account['Id']}")
    # one account_update per change (its id carries the change's transactionKey), however
    # often the change was delivered: a re-published event finds its instance started
    assert len({u["instanceId"] for u in updates}) == len(updates) == len(names)
    patches = stack.sb.stats()["d2c"]["calls"].get("PATCH /v1/customers/{id}", 0)
    assert patches <= len(names)
    assert customer_of(stack, account["Id"])["name"] == names[-1]


def test_an_expired_checkpoint_starts_a_catch_up_reconciliation_from_the_last_commit(
    relay_stack,
) -> None:
    stack = relay_stack(RELAY_TOPICS="/data/AccountChangeEvent")
    _relaying(stack)
    account = stack.sb.salesforce_create("Account", {"Name": "Seen Before", "Type": "Prospect"})
    topic = stack.sb.eventgrid.topic("salesforce")
    _wait(lambda: topic.published >= 1, what="the create to be relayed")
    checkpoint = stack.data / "lake" / "relay" / "checkpoints" / "data-AccountChangeEvent.json"
    last_commit = json.loads(checkpoint.read_text())["lastCommitAt"]

    stack.sb.advance_clock(73 * 3600)  # Salesforce's 72 hours pass; the relay's clock does not
    stack.sb.salesforce_edit("Account", account, {"Name": "Changed In The Gap"})

    _wait(
        lambda: list_instances(stack.host, "instanceIdPrefix=reconcile-relay-"),
        what="the catch-up reconciliation",
    )
    # the run itself, not its sub-orchestrations (their ids start with the run's)
    [run_listed] = [
        i
        for i in list_instances(stack.host, "instanceIdPrefix=reconcile-relay-")
        if i["name"] == "reconciliation"
    ]
    status = stack.host.wait_for(run_listed["instanceId"], timeout=120)
    run_input = (
        status["input"] if isinstance(status["input"], dict) else json.loads(status["input"])
    )
    assert run_input["trigger"] == "relay"
    assert run_input["since"][:19] == last_commit[:19]
    assert json.loads(checkpoint.read_text())["catchUps"][-1]["since"][:19] == last_commit[:19]
