"""The record sync state machine: one claim at a time, no going back, no illegal moves."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from crosswalk.sync_state import MAX_TRANSITIONS, SyncState
from crosswalk.sync_status import IllegalTransition, SyncStatus

T0 = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
MOD1 = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)
MOD2 = MOD1 + timedelta(minutes=5)


def _synced(state: SyncState, instance: str = "i-1", modstamp: datetime = MOD1) -> SyncState:
    assert state.claim(instance, modstamp, T0).granted
    state.mark_synced(
        instance,
        T0,
        modstamp=modstamp,
        d2c_customer_id="cus_00000001",
        d2c_primary_user_id="usr_00000001",
    )
    return state


def test_first_claim_is_granted_and_moves_to_onboarding():
    state = SyncState()

    result = state.claim("i-1", MOD1, T0)

    assert result.granted
    assert state.status is SyncStatus.ONBOARDING
    assert state.current_instance_id == "i-1"
    assert state.attempts == 1
    assert state.transitions[-1].as_dict()["from"] == "new"


def test_a_second_instance_cannot_claim_while_the_first_runs():
    state = SyncState()
    state.claim("i-1", MOD1, T0)

    result = state.claim("i-2", MOD2, T0)

    assert not result.granted
    assert "i-1" in result.reason
    assert state.current_instance_id == "i-1"


def test_the_same_instance_claiming_again_is_granted_without_a_new_attempt():
    state = SyncState()
    state.claim("i-1", MOD1, T0)

    assert state.claim("i-1", MOD1, T0).granted
    assert state.attempts == 1


def test_a_synced_record_is_not_onboarded_again():
    state = _synced(SyncState())

    result = state.claim("i-2", MOD2, T0)

    assert not result.granted and "already synced" in result.reason
    assert state.d2c_customer_id == "cus_00000001"
    assert state.last_instance_id == "i-1" and state.current_instance_id is None


def test_a_failed_record_can_be_claimed_again_at_the_same_modstamp():
    state = SyncState()
    state.claim("i-1", MOD1, T0)
    state.advance("i-1", SyncStatus.COMPENSATED, T0, error={"code": "conflict"})

    result = state.claim("i-2", MOD1, T0)

    assert result.granted
    assert state.attempts == 2
    assert state.last_error is None


def test_only_the_claiming_instance_may_advance():
    state = SyncState()
    state.claim("i-1", MOD1, T0)

    with pytest.raises(IllegalTransition, match="does not hold"):
        state.advance("i-2", SyncStatus.SYNCED, T0)


@pytest.mark.parametrize(
    ("path", "illegal"),
    [
        ([], SyncStatus.NEW),
        ([SyncStatus.AWAITING_APPROVAL], SyncStatus.SYNCED),
        ([SyncStatus.AWAITING_APPROVAL], SyncStatus.AWAITING_APPROVAL),
    ],
)
def test_illegal_transitions_are_refused_and_leave_the_state_unchanged(path, illegal):
    state = SyncState()
    state.claim("i-1", MOD1, T0)
    for step in path:
        state.advance("i-1", step, T0)
    before = state.dump()

    with pytest.raises(IllegalTransition):
        state.advance("i-1", illegal, T0)

    assert state.dump() == before


def test_approval_wait_then_approval_continues_onboarding():
    state = SyncState()
    state.claim("i-1", MOD1, T0)
    state.advance("i-1", SyncStatus.AWAITING_APPROVAL, T0, note="CREDIT_LIMIT_OVER_THRESHOLD")

    state.advance(
        "i-1", SyncStatus.ONBOARDING, T0, approval={"decision": "approve", "approver": "kim"}
    )

    assert state.status is SyncStatus.ONBOARDING
    assert state.approval["approver"] == "kim"


def test_only_the_last_twenty_transitions_are_kept():
    state = SyncState()
    for attempt in range(15):
        instance = f"i-{attempt}"
        state.claim(instance, MOD1, T0 + timedelta(minutes=attempt))
        state.advance(instance, SyncStatus.FAILED, T0 + timedelta(minutes=attempt))

    assert len(state.transitions) == MAX_TRANSITIONS
    assert state.transitions[-1].instance_id == "i-14"


def test_state_round_trips_through_json():
    state = _synced(SyncState())

    again = SyncState.load(state.dump())

    assert again == state
    assert SyncState.load(None) == SyncState()


def test_release_returns_the_record_to_where_it_was_before_the_claim():
    state = SyncState()
    state.claim("i-1", MOD1, T0)

    state.release("i-1", T0, note="not qualified")

    assert state.status is SyncStatus.NEW
    assert state.current_instance_id is None
    assert state.claim("i-2", MOD1, T0).granted


def test_release_by_another_instance_is_refused():
    state = SyncState()
    state.claim("i-1", MOD1, T0)

    with pytest.raises(IllegalTransition):
        state.release("i-2", T0, note="x")


def test_support_can_finish_the_undo_of_the_instance_that_left_it_half_done():
    state = SyncState()
    state.claim("i1", MOD1, T0)
    state.advance("i1", SyncStatus.NEEDS_ATTENTION, T0, error={"step": "d2c_deactivate_customer"})

    with pytest.raises(IllegalTransition):
        state.finish_undo("someone-else", SyncStatus.COMPENSATED, T0, note="no")
    state.finish_undo("i1", SyncStatus.NEEDS_ATTENTION, T0, note="still", error={"step": "x"})
    state.finish_undo("i1", SyncStatus.COMPENSATED, T0, note="undo finished by kim")

    assert state.status is SyncStatus.COMPENSATED
    assert [t.to_status for t in state.transitions][-2:] == [
        SyncStatus.NEEDS_ATTENTION,
        SyncStatus.COMPENSATED,
    ]
    with pytest.raises(IllegalTransition):  # nothing half done any more
        state.finish_undo("i1", SyncStatus.COMPENSATED, T0, note="again")


def test_the_update_log_is_the_same_whatever_order_client_signals_arrive_in():
    """On Azure, signals from clients (the echo notes of the change triggers) are not ordered."""
    from crosswalk.sync_changes import MAX_CHANGES, ChangeNote

    notes = [
        ChangeNote(at=T0 + timedelta(seconds=n), origin="salesforce", outcome="echo", note=str(n))
        for n in range(MAX_CHANGES + 5)
    ]
    in_order, reversed_ = SyncState(), SyncState()
    for note in notes:
        in_order.note_change(note)
    for note in reversed(notes):
        reversed_.note_change(note)

    assert reversed_.changes == in_order.changes == notes[-MAX_CHANGES:]


def test_release_after_an_approval_wait_returns_the_record_to_where_it_was_before_the_claim():
    state = SyncState()
    state.claim("i-1", MOD1, T0)
    state.advance("i-1", SyncStatus.AWAITING_APPROVAL, T0, note="CREDIT_LIMIT_OVER_THRESHOLD")
    state.advance("i-1", SyncStatus.ONBOARDING, T0, note="approved by kim")

    state.release("i-1", T0, note="not qualified any more")

    assert state.status is SyncStatus.NEW
    assert state.current_instance_id is None
