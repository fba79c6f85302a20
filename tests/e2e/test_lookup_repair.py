"""Reconciliation puts lookup entries right by itself: a profile an entry no longer finds (a
writer stopped between its steps, or a store from before the entries) is found again after
the next run, and an entry naming a key the profile dropped is gone (devhost + sandbox)."""

from __future__ import annotations

import sqlite3

import pytest

from crosswalk.profiles.base import LookupKind, lookup_key
from tests.e2e.drift import run_reconciliation
from tests.e2e.sync import onboarded

pytestmark = pytest.mark.slow


def test_a_reconciliation_run_repairs_lookup_entries_that_disagree_with_the_profile(
    stack_factory,
):
    stack = stack_factory(seed=12)
    (account,) = onboarded(stack, 1)
    profile = stack.profiles().get(account["Id"])
    stale = lookup_key(LookupKind.EMAIL, "left@acme.example")
    with sqlite3.connect(stack.data / "profiles.sqlite3") as conn:
        conn.execute("DELETE FROM lookups WHERE sf_account_id = ?", (account["Id"],))
        conn.execute("INSERT INTO lookups VALUES (?, ?)", (stale, account["Id"]))
    conn.close()
    assert stack.profiles().find_by_d2c_customer(profile.d2c_customer_id) is None

    report = run_reconciliation(stack.host)

    status = stack.host.wait_for(report["run_id"], timeout=30)
    assert status["output"]["totals"]["lookup_entries_repaired"] > 1
    found = stack.profiles().find_by_d2c_customer(profile.d2c_customer_id)
    assert found is not None and found.sf_account_id == account["Id"]
    assert stack.profiles().find_by_email(profile.contacts[0].email)
    with sqlite3.connect(stack.data / "profiles.sqlite3") as conn:
        left = conn.execute("SELECT 1 FROM lookups WHERE lookup_key = ?", (stale,)).fetchall()
    conn.close()
    assert left == []
    again = run_reconciliation(stack.host)
    repeat = stack.host.wait_for(again["run_id"], timeout=30)
    assert repeat["output"]["totals"]["lookup_entries_repaired"] == 0
