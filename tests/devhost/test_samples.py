"""Apps written the way Microsoft's samples-v2 are, run unmodified with their outputs."""

from __future__ import annotations

APP = "function_chaining"


def test_function_chaining_documented_output(app_host) -> None:
    resp = app_host.get("/api/orchestrators/hello_orchestrator")
    assert resp.status == 202
    payload = resp.json()
    assert resp.headers["Location"] == payload["statusQueryGetUri"]
    status = app_host.wait_for(payload["id"])
    assert status["runtimeStatus"] == "Completed"
    assert status["output"] == ["Hello Seattle", "Hello Tokyo", "Hello London"]
    followed = app_host.get(payload["statusQueryGetUri"])
    assert followed.status == 200
    assert followed.json()["output"] == ["Hello Seattle", "Hello Tokyo", "Hello London"]


def test_blueprint_sample_documented_output(devhost_factory) -> None:
    from tests.devhost.conftest import APPS

    host = devhost_factory(APPS / "blueprint")
    resp = host.get("/api/startOrchestrator")
    assert resp.status == 202
    status = host.wait_for(resp.json()["id"])
    assert status["output"] == ["Hello Tokyo!", "Hello Seattle!", "Hello London!"]
