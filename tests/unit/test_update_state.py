"""The record's update lease: one update at a time, nothing older than applied, nothing lost."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from crosswalk.signup_state import SignupState, SignupStatus
from crosswalk.sync_changes import ChangeRequest
from crosswalk.sync_state import UPDATE_LEASE, SyncState
from crosswalk.sync_status import IllegalTransition, SyncStatus
from crosswalk.updates import account_change, own_salesforce_change, update_instance_id

T0 = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
MOD1 = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)
MOD2 = MOD1 + timedelta(minutes=5)
AGREED = {"name": "Acme"}


def _synced() -> SyncState:
    state = SyncState()
    state.claim("onboard-1", MOD1, T0)
    state.mark_synced(
        "onboard-1",
        T0,
        modstamp=MOD1,
        d2c_customer_id="cus_00000001",
        d2c_primary_user_id=None,
        fields=AGREED,
        d2c_version=1,
    )
    return state


def _sf(modstamp: datetime, *fields: str) -> ChangeRequest:
    return ChangeRequest(origin="salesforce", modstamp=modstamp, changed_fields=list(fields))


def _d2c(version: int) -> ChangeRequest:
    return ChangeRequest(origin="d2c", customer={"id": "cus_00000001", "version": version})


def test_onboarding_seeds_the_agreed_values_and_version():
    state = _synced()

    assert state.agreed == AGREED and state.d2c_version == 1


def test_a_newer_change_is_granted_with_what_the_record_knows():
    state = _synced()

    grant = state.update_begin("u-1", _sf(MOD2, "Name"), T0)

    assert grant.go and grant.agreed == AGREED and grant.d2c_version == 1
    assert state.update_lease.instance_id == "u-1"


def test_an_older_salesforce_change_is_stale_and_changes_nothing():
    state = _synced()
    state.update_begin("u-2", _sf(MOD2, "Name"), T0)
    state.update_end("u-2", T0, outcome="applied", modstamp=MOD2)

    grant = state.update_begin("u-1", _sf(MOD1 + timedelta(minutes=1), "Name"), T0)

    assert not grant.go and grant.outcome == "stale"
    assert state.update_lease is None and state.last_modstamp == MOD2


def test_a_d2c_customer_not_newer_than_the_seen_version_is_stale():
    state = _synced()

    assert state.update_begin("u-1", _d2c(1), T0).outcome == "stale"
    assert state.update_begin("u-2", _d2c(2), T0).go


def test_a_change_arriving_during_an_update_waits_and_is_handed_to_the_holder():
    state = _synced()
    state.update_begin("u-1", _sf(MOD2, "Name"), T0)

    deferred = state.update_begin("u-2", _d2c(5), T0)
    pending = state.update_end("u-1", T0, outcome="applied", modstamp=MOD2)

    assert not deferred.go and deferred.outcome == "deferred"
    assert pending is not None and pending.version == 5
    assert state.update_lease.instance_id == "u-1"  # kept for the next round
    assert state.update_end("u-1", T0, outcome="applied", d2c_version=5) is None
    assert state.update_lease is None


def test_pending_changes_merge_newest_first():
    merged = _sf(MOD1, "Name").merge(_sf(MOD2, "Phone")).merge(_d2c(3)).merge(_d2c(2))

    assert merged.modstamp == MOD2 and merged.changed_fields == ["Name", "Phone"]
    assert merged.version == 3 and merged.origin == "d2c+salesforce"


def test_changes_during_onboarding_wait_for_it():
    state = SyncState()
    state.claim("onboard-1", MOD1, T0)

    grant = state.update_begin("u-1", _sf(MOD2, "Name"), T0)

    assert not grant.go and grant.wait
    assert state.pending is not None and state.pending.modstamp == MOD2
    state.update_begin("u-1", _sf(MOD2, "Name"), T0 + timedelta(seconds=30))  # asks again
    assert [c.outcome for c in state.changes] == ["deferred"]
    second = state.update_begin("u-2", _sf(MOD2 + timedelta(seconds=1), "Phone"), T0)
    assert not second.wait  # u-1 waits for both
    assert state.pending.changed_fields == ["Name", "Phone"]


def test_a_lost_lease_is_taken_over_after_its_time():
    state = _synced()
    state.update_begin("u-1", _sf(MOD2, "Name"), T0)

    later = T0 + UPDATE_LEASE + timedelta(seconds=1)
    grant = state.update_begin("u-2", _sf(MOD2 + timedelta(seconds=1), "Name"), later)

    assert grant.go and state.update_lease.instance_id == "u-2"
    with pytest.raises(IllegalTransition):
        state.update_end("u-1", later, outcome="applied")


def test_a_deletion_ends_in_deleted_and_refuses_further_updates():
    state = _synced()
    state.update_begin("u-1", ChangeRequest(origin="salesforce", modstamp=MOD2, deleted=True), T0)

    state.update_end("u-1", T0, outcome="deleted", deleted=True)

    assert state.status is SyncStatus.DELETED
    assert state.update_begin("u-2", _sf(MOD2, "Name"), T0).outcome == "not_synced"


def test_the_update_log_keeps_what_happened():
    state = _synced()
    state.update_begin("u-1", _sf(MOD2, "Name"), T0)
    state.update_end("u-1", T0, outcome="applied", note="name: salesforce -> d2c")

    assert [c.outcome for c in state.changes] == ["applied"]
    assert state.changes[0].note == "name: salesforce -> d2c"


def test_own_salesforce_changes_are_recognised_by_client_tag_or_integration_user():
    tag = "com/salesforce/api/rest/59.0;client=crosswalk"
    user = "005dL0000004C92QAE"

    assert own_salesforce_change(tag, None, client_name="crosswalk", integration_user_id=None)
    assert not own_salesforce_change(
        "com/salesforce/api/rest/59.0;client=other", user, client_name="crosswalk",
        integration_user_id=user,
    )  # fmt: skip
    assert own_salesforce_change(
        "com/salesforce/api/rest/59.0", user[:15], client_name="crosswalk", integration_user_id=user
    )
    assert not own_salesforce_change("", None, client_name="crosswalk", integration_user_id=user)


def test_only_mapped_field_changes_and_deletions_ask_for_an_update():
    assert account_change("UPDATE", ["Description", "LastModifiedDate"], MOD1) is None
    assert account_change("UPDATE", ["Phone"], MOD1).changed_fields == ["Phone"]
    assert account_change("DELETE", [], MOD1).deleted
    carried = account_change("UPDATE", ["Name", "BillingCity"], MOD1, {"Name": "X", "Id": "1"})
    assert carried.values == {"Name": "X"}
    assert account_change("CREATE", ["Name"], MOD1) is None


def test_update_instance_ids_tell_changes_apart_and_repeat_for_a_redelivery():
    request = _sf(MOD1, "Name")
    one = update_instance_id("001dL0000004C92QAE", request, change_key="txn-1:1")

    assert one == update_instance_id("001dL0000004C92QAE", request, change_key="txn-1:1")
    assert one != update_instance_id("001dL0000004C92QAE", request, change_key="txn-2:1")
    assert update_instance_id("001dL0000004C92QAE", _d2c(4)).endswith("-d2c-v4")


# ---------------------------------------------------------------- sign-ups


def _customer(version: int) -> dict:
    return {"id": "cus_00000002", "version": version}


def test_a_sign_up_links_once_and_duplicates_stop():
    state = SignupState()

    first = state.claim("s-1", "registered", _customer(1), [], T0)
    second = state.claim("s-2", "registered", _customer(1), [], T0)

    assert first.go and not second.go and second.outcome == "duplicate"


def test_an_edit_during_linking_runs_right_after_the_link():
    state = SignupState()
    state.claim("s-1", "registered", _customer(1), [], T0)
    assert state.claim("e-2", "updated", _customer(2), ["phone"], T0).outcome == "deferred"

    pending = state.finish(
        "s-1",
        T0,
        outcome="linked",
        version=1,
        link={"sobject": "Contact", "sf_id": "003x", "account_id": "001x"},
    )

    assert state.status is SignupStatus.LINKED
    assert pending == {"customer": _customer(2), "changed_fields": ["phone"]}


def test_a_failed_link_can_be_retried_by_the_next_registration_event():
    state = SignupState()
    state.claim("s-1", "registered", _customer(1), [], T0)
    state.finish("s-1", T0, outcome="failed", error={"code": "x"})

    assert state.status is SignupStatus.FAILED
    assert state.claim("s-2", "registered", _customer(1), [], T0).go


def test_older_edits_of_a_linked_sign_up_are_stale():
    state = SignupState()
    state.claim("s-1", "registered", _customer(1), [], T0)
    state.finish("s-1", T0, outcome="linked", version=3, link={"sobject": "Lead", "sf_id": "00Qx"})

    assert state.claim("e-2", "updated", _customer(2), ["phone"], T0).outcome == "stale"
    grant = state.claim("e-4", "updated", _customer(4), ["phone"], T0)
    assert grant.go and grant.sobject == "Lead" and grant.sf_id == "00Qx"
