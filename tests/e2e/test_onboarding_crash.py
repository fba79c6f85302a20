"""kill -9 of devhost in the middle of 50 onboardings: every one ends synced, exactly once."""

from __future__ import annotations

import os
import time
from collections import Counter
from pathlib import Path

import pytest

import sandbox
from devhost.testing import spawn
from scripts.localstack import APP_DIR, app_env, onboardable_accounts

pytestmark = pytest.mark.slow
ACCOUNTS = 50


def _wait_until(predicate, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.02)


def test_fifty_onboardings_survive_kill_minus_nine_and_end_synced_once_each(tmp_path: Path):
    data = tmp_path / "data"
    data.mkdir()
    with sandbox.run(seed=90) as sb:
        account_ids = [a["Id"] for a in onboardable_accounts(sb, needs_approval=False)][:ACCOUNTS]
        assert len(account_ids) == ACCOUNTS
        env = {**os.environ, **app_env(sb, data)}
        with spawn(APP_DIR, data_dir=tmp_path / "hub", env=env) as host:
            instance_ids = [
                host.post(f"/api/accounts/{a}/onboard").json()["id"] for a in account_ids
            ]

            kills = 0
            for threshold in (5, 20, 35):
                _wait_until(lambda t=threshold: len(sb.d2c_customers()) >= t, timeout=60)
                host.kill()
                kills += 1
                host.launch()

            outcomes = [host.wait_for(i, timeout=120)["output"]["outcome"] for i in instance_ids]

    assert kills == 3
    assert outcomes == ["synced"] * ACCOUNTS
    per_account = Counter(c["external_ref"] for c in sb.d2c_customers())
    assert {a: per_account[a] for a in account_ids} == dict.fromkeys(account_ids, 1)
