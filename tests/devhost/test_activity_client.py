"""Activities may take a durable client input, as on Azure (starting a detached instance)."""

from __future__ import annotations

from tests.devhost.conftest import APPS


def test_an_activity_with_a_durable_client_starts_an_independent_orchestration(devhost_factory):
    host = devhost_factory(APPS / "activity_client")

    parent = host.start("parent", input={"id": "detached-1"})
    parent_status = host.wait_for(parent)
    child_status = host.wait_for("detached-1")

    assert parent_status["output"] == {"started": "detached-1"}
    assert child_status["runtimeStatus"] == "Completed"
    assert child_status["output"] == {"ran_with": "detached-1"}
