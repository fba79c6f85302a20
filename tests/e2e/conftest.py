"""End-to-end fixtures: the real app on devhost, talking to the sandbox over real HTTP(S).

Each test gets its own sandbox (seeded), its own devhost with a temporary task hub, its own
profile store and lake folder, all on free ports, all stopped at the end.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import sandbox
from devhost.testing import RunningHost, run
from scripts.localstack import APP_DIR, app_env
from tests.support.stack import easy_auth_principal

# Retries back off on durable timers; tests keep them short and few. A worker judges its
# allowance reading's age by the wall clock (in Azure, durable timers keep to it too), so with
# time skipping a wait for the Salesforce allowance is kept to a real second.
FAST_RETRIES = {
    "RETRY_FIRST_INTERVAL_SECONDS": "1",
    "RETRY_MAX_ATTEMPTS": "4",
    "SALESFORCE_ALLOWANCE_WAIT_SECONDS": "1",
}
# Time skipping jumps to timer-trigger occurrences on its way to durable timers; 29 February
# is far enough away that no test reaches the reconciliation schedule by accident.
QUIET_SCHEDULE = {
    "RECONCILE_SCHEDULE": "0 0 0 29 2 *",
    "CURATED_REFRESH_SCHEDULE": "0 0 0 29 2 *",
    "CURATED_COMPACT_SCHEDULE": "0 0 0 29 2 *",
}


@dataclass
class Stack:
    sb: Any
    host: RunningHost
    data: Path
    env: dict[str, str]

    def onboard(self, account_id: str) -> dict[str, Any]:
        response = self.host.post(f"/api/accounts/{account_id}/onboard")
        assert response.status in (200, 202), response.text
        return response.json()

    def decide(
        self, instance_id: str, decision: str, reason: str, approver: str = "kim@support"
    ) -> Any:
        """Approve or reject as a signed-in approver (App Service authentication's header)."""
        return self.host.post(
            f"/api/support/approvals/{instance_id}",
            json={"decision": decision, "reason": reason},
            headers=easy_auth_principal(approver, "Support.Approve"),
        )

    def profiles(self):
        from crosswalk.profiles import SqliteProfileStore

        return SqliteProfileStore(self.data / "profiles.sqlite3")


@pytest.fixture
def stack_factory(tmp_path: Path) -> Iterator[Any]:
    """`stack_factory(seed=20, time_skipping=True, **env_overrides) -> Stack`."""
    import contextlib

    with contextlib.ExitStack() as exits:

        def make(seed: int = 20, time_skipping: bool = True, **overrides: str) -> Stack:
            sb = exits.enter_context(sandbox.run(seed=seed))
            data = tmp_path / "data"
            data.mkdir(exist_ok=True)
            env = app_env(sb, data, **{**FAST_RETRIES, **QUIET_SCHEDULE, **overrides})
            host = exits.enter_context(run(APP_DIR, env=env, time_skipping=time_skipping))
            sb.set_events_to(
                salesforce=f"{host.url}/runtime/webhooks/eventgrid?functionName=salesforce_change_events"
            )
            return Stack(sb=sb, host=host, data=data, env=env)

        yield make
