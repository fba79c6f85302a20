"""The ProfileStore contract, reconciliation reports: stored, replaced, listed newest first and
kept apart from profiles. Run against every implementation (conftest `store`)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from crosswalk.errors import InvalidData
from crosswalk.models import DriftClass, DriftFinding, ProfileStatus
from crosswalk.profiles.base import ProfileStore

from .factories import account_id, report

# ---------------------------------------------------------------- reports


def test_put_report_then_get_report_round_trips(store: ProfileStore) -> None:
    written = report(
        "run-1",
        0,
        pages=3,
        counts={DriftClass.IN_SYNC: 10, DriftClass.MISSING_IN_D2C: 1},
        findings=[
            DriftFinding(
                sf_account_id=account_id(1), drift=DriftClass.MISSING_IN_D2C, reason="no customer"
            )
        ],
        repaired=1,
    )

    store.put_report(written)

    assert store.get_report("run-1") == written
    assert store.get_report("run-unknown") is None


def test_put_report_again_replaces_the_report(store: ProfileStore) -> None:
    store.put_report(report("run-1", 0, pages=1))

    store.put_report(report("run-1", 0, pages=2, finished_at=datetime(2024, 5, 2, 9, tzinfo=UTC)))

    stored = store.get_report("run-1")
    assert stored is not None and stored.pages == 2
    assert [r.run_id for r in store.list_reports()] == ["run-1"]


def test_list_reports_returns_the_newest_first_up_to_the_limit(store: ProfileStore) -> None:
    for run, minutes_ago in (("b", 30), ("a", 10), ("d", 50), ("c", 20)):
        store.put_report(report(run, minutes_ago))

    assert [r.run_id for r in store.list_reports()] == ["a", "c", "b", "d"]
    assert [r.run_id for r in store.list_reports(limit=2)] == ["a", "c"]


@pytest.mark.parametrize("bad", ["", "a/b", "a?b", "a#b", "a\\b", "x" * 201], ids=repr)
def test_a_run_id_that_cannot_be_a_document_id_is_invalid_data(
    store: ProfileStore, bad: str
) -> None:
    with pytest.raises(InvalidData):
        store.put_report(report(bad, 0))
    with pytest.raises(InvalidData):
        store.get_report(bad)


def test_reports_do_not_show_up_as_profiles(store: ProfileStore) -> None:
    store.put_report(report("run-1", 0))

    assert store.list_by_status(ProfileStatus.ACTIVE) == []
