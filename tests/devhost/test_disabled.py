"""`AzureWebJobs.<function>.Disabled` on durable functions, as the real host has it.

Azure/azure-webjobs-sdk `HostListenerFactory.CreateAsync` skips a disabled function's listener,
and the Durable extension registers an orchestrator, activity or entity only when its
listener is created (`DurableTaskExtension.RegisterOrchestrator` and friends, called from
`CreateListenerAsync`). So a disabled durable function is one the extension does not know:
it cannot be started, and calls to it get the "doesn't exist, is disabled" answers.
"""

from __future__ import annotations

import time
import uuid

from tests.devhost.conftest import APPS

API = "/runtime/webhooks/durabletask"


def _until(read, timeout: float = 10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = read()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError("never happened")


def test_a_disabled_orchestrator_cannot_be_started(devhost_factory) -> None:
    host = devhost_factory(APPS / "durable", env={"AzureWebJobs.sequence.Disabled": "true"})

    refused = host.post(f"{API}/orchestrators/sequence", data=b"")
    other = host.post(f"{API}/orchestrators/plain_function", data=b"")

    assert refused.status == 400, refused.text
    assert "The function 'sequence' doesn't exist, is disabled" in refused.text
    assert other.status == 202


def test_a_disabled_activity_is_never_scheduled_and_its_caller_waits(devhost_factory) -> None:
    host = devhost_factory(APPS / "durable", env={"AzureWebJobs_say_hello_Disabled": "1"})

    iid = host.start("fails_once", {"key": uuid.uuid4().hex})
    note = _until(lambda: (host.status(iid) or {}).get("devhostWaiting"))

    assert "The function 'say_hello' doesn't exist, is disabled" in note
    assert host.status(iid)["runtimeStatus"] == "Running"


def test_a_disabled_entity_fails_the_orchestration_that_signals_it(devhost_factory) -> None:
    host = devhost_factory(APPS / "entities", env={"AzureWebJobs.counter.Disabled": "True"})

    status = host.wait_for(host.start("counter_flow", {"key": uuid.uuid4().hex}))

    assert status["runtimeStatus"] == "Failed"
    assert "The function 'counter' doesn't exist, is disabled" in status["output"]
