"""A support stack: the real app on devhost against the sandbox, with development tokens.

One per test module (tests pick distinct seeded accounts), because starting one costs seconds.
"""

from __future__ import annotations

import base64
import contextlib
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sandbox
from crosswalk.support.auth import make_dev_token
from devhost.testing import RunningHost, run
from scripts.localstack import APP_DIR, app_env, onboardable_accounts

KEY = "support-tests-signing-key-0123456789abcdef"
READ, OPERATE, APPROVE = "Support.Read", "Support.Operate", "Support.Approve"
DURABLE = "/runtime/webhooks/durabletask"


def easy_auth_principal(name: str, *roles: str) -> dict[str, str]:
    """The header App Service authentication puts on a signed-in caller's request (Entra ID
    app roles as `roles` claims); the app trusts it in `SUPPORT_AUTH_MODE=easyauth`."""
    claims = [{"typ": "preferred_username", "val": name}]
    claims += [{"typ": "roles", "val": role} for role in roles]
    body = {
        "auth_typ": "aad",
        "name_typ": "preferred_username",
        "role_typ": "roles",
        "claims": claims,
    }
    return {"X-MS-CLIENT-PRINCIPAL": base64.b64encode(json.dumps(body).encode()).decode()}


@dataclass
class SupportStack:
    sb: Any
    host: RunningHost
    data: Path
    plain: Iterator[dict[str, Any]] = field(init=False)
    needing_approval: Iterator[dict[str, Any]] = field(init=False)

    def __post_init__(self) -> None:
        self.plain = iter(onboardable_accounts(self.sb, needs_approval=False))
        self.needing_approval = iter(onboardable_accounts(self.sb, needs_approval=True))

    @staticmethod
    def token(*roles: str, name: str = "kim@support.example") -> str:
        return make_dev_token(KEY, name, roles)

    def auth(self, *roles: str, name: str = "kim@support.example") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(*roles, name=name)}"}

    def get(self, path: str, *roles: str, **kw: Any):
        return self.host.get(f"/api/support/{path}", headers=self.auth(*roles), **kw)

    def post(self, path: str, body: Any, *roles: str, **kw: Any):
        return self.host.post(f"/api/support/{path}", json=body, headers=self.auth(*roles), **kw)

    def onboard(self, account_id: str) -> str:
        response = self.host.post(f"/api/accounts/{account_id}/onboard")
        assert response.status in (200, 202), response.text
        return response.json()["id"]

    def waiting_for_approval(self, instance_id: str) -> dict[str, Any]:
        return self.eventually(
            instance_id,
            lambda s: (s.get("customStatus") or {}).get("waiting_for") == "ApprovalDecision",
        )

    def eventually(
        self, instance_id: str, ready: Callable[[dict[str, Any]], bool], timeout: float = 30
    ) -> dict[str, Any]:
        """Poll the instance's status until `ready` says so (a status read is cheap)."""
        deadline = time.monotonic() + timeout
        status: dict[str, Any] = {}
        while time.monotonic() < deadline:
            status = self.host.status(instance_id) or {}
            if ready(status):
                return status
            time.sleep(0.02)
        raise AssertionError(f"{instance_id} never got there: {status}")

    def finished(self, instance_id: str, timeout: float = 30) -> dict[str, Any]:
        return self.host.wait_for(instance_id, timeout=timeout)

    def entity(self, account_id: str) -> dict[str, Any]:
        return self.host.get(f"{DURABLE}/entities/record_sync/{account_id}").json()


@contextlib.contextmanager
def support_stack(data: Path, seed: int = 100, **overrides: str) -> Iterator[SupportStack]:
    env_extra = {
        "SUPPORT_AUTH_MODE": "dev_token",
        "SUPPORT_DEV_TOKEN_KEY": KEY,
        "SUPPORT_AUDIT_SQLITE_PATH": str(data / "audit.sqlite3"),
        "RETRY_FIRST_INTERVAL_SECONDS": "1",
        "RETRY_MAX_ATTEMPTS": "2",
        **overrides,
    }
    with sandbox.run(seed=seed) as sb:
        env = app_env(sb, data, **env_extra)
        with run(APP_DIR, env=env, time_skipping=False) as host:
            sb.set_events_to(
                salesforce=f"{host.url}/runtime/webhooks/eventgrid?functionName=salesforce_change_events"
            )
            yield SupportStack(sb=sb, host=host, data=data)


def synced_account(stack: SupportStack) -> dict[str, Any]:
    account = next(stack.plain)
    status = stack.finished(stack.onboard(account["Id"]))
    assert status["output"]["outcome"] == "synced", status
    return account


def failed_onboarding(stack: SupportStack, status: int = 422) -> tuple[dict[str, Any], str]:
    """An onboarding that failed for good before anything was created (D2C refused it once)."""
    account = next(stack.plain)
    stack.sb.faults("d2c", path=r"/v1/customers$", method="POST", status=status, fail_next=1)
    instance_id = stack.onboard(account["Id"])
    assert stack.finished(instance_id)["output"]["outcome"] == "failed"
    return account, instance_id


def audit_items(stack: SupportStack, **query: str) -> list[dict[str, Any]]:
    qs = "&".join(f"{k}={v}" for k, v in query.items())
    return stack.get(f"audit?{qs}", READ).json()["items"]
