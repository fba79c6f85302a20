"""Drift classification: what a reconciliation run makes of one record, rule by rule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from crosswalk.d2c_models import Customer
from crosswalk.field_mapping import write_back_records
from crosswalk.mapping import plan_onboarding
from crosswalk.models import DriftClass, DriftFinding, ProfileStatus, UnifiedProfile
from crosswalk.reconcile_run import WatermarkState, scheduled_run_id
from crosswalk.reconciliation import assess, keep_findings, settle
from crosswalk.salesforce_records import SalesforceAccount
from crosswalk.settings import OnboardingSettings
from crosswalk.sync_state import SyncState
from crosswalk.sync_status import SyncStatus

SETTINGS = OnboardingSettings.model_validate({})
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
ACCOUNT_ID = "001dL0000004C92QAE"
CONTACT_ID = "003dL0000004C92QAE"


def _account(**fields: Any) -> SalesforceAccount:
    base = {
        "Id": ACCOUNT_ID,
        "Name": "Acme GmbH",
        "Type": "Customer - Direct",
        "Website": "https://www.acme.example",
        "Phone": "+49 30 1",
        "BillingStreet": "Hauptstr. 1",
        "BillingCity": "Berlin",
        "BillingCountry": "Germany",
        "Tax_Id__c": "DE123",
        "SystemModstamp": "2026-11-26T10:00:00.000+0000",
        "Contacts": [
            {
                "Id": CONTACT_ID,
                "LastName": "Muster",
                "Email": "max@acme.example",
                "Primary_Contact__c": True,
            }
        ],
    }
    return SalesforceAccount.model_validate({**base, **fields})


def _customer(account: SalesforceAccount, **fields: Any) -> Customer:
    plan = plan_onboarding(account, SETTINGS)
    body = plan.customer.model_dump(mode="json")
    return Customer.model_validate(
        {
            **body,
            "id": "cus_0000000001",
            "status": "active",
            "version": 3,
            "created_at": NOW,
            "updated_at": NOW,
            **fields,
        }
    )


def _profile(account: SalesforceAccount, **fields: Any) -> UnifiedProfile:
    return UnifiedProfile.model_validate(
        {
            "sf_account_id": account.Id,
            "name": account.Name,
            "d2c_customer_id": "cus_0000000001",
            "email_domain": "acme.example",
            "country": "DE",
            **fields,
        }
    )


def _synced_account(**fields: Any) -> SalesforceAccount:
    return _account(D2C_Customer_Id__c="cus_0000000001", **fields)


def test_an_account_that_matches_d2c_and_its_profile_is_in_sync():
    account = _synced_account()

    found = assess(account, _customer(account), _profile(account), SETTINGS)

    assert found.drift is DriftClass.IN_SYNC


def test_a_qualifying_account_without_a_d2c_customer_is_missing_pending_its_entity():
    found = assess(_account(), None, None, SETTINGS)

    assert found.drift is DriftClass.MISSING_IN_D2C
    assert found.needs_entity and found.account["Id"] == ACCOUNT_ID


def test_a_d2c_field_that_differs_from_salesforce_is_stale_with_the_patch_to_apply():
    account = _synced_account()
    customer = _customer(account, phone="+1 555 0100", name="Old Name")

    found = assess(account, customer, _profile(account), SETTINGS)

    assert found.drift is DriftClass.STALE_IN_D2C
    assert found.customer_patch == {"phone": "+49 30 1", "name": "Acme GmbH"}
    assert "name, phone" in found.reason
    assert found.d2c_etag == '"3"'


def test_salesforce_without_the_d2c_id_is_stale_and_gets_a_salesforce_write():
    account = _account()

    found = assess(account, _customer(account), _profile(account), SETTINGS)

    assert found.drift is DriftClass.STALE_IN_D2C
    assert found.salesforce_fields == {
        "D2C_Customer_Id__c": "cus_0000000001",
        "Crosswalk_Sync_Status__c": "synced",
    }
    assert not found.customer_patch


def test_a_missing_profile_is_stale_and_the_profile_to_write_is_built():
    account = _synced_account()

    found = assess(account, _customer(account), None, SETTINGS)

    assert found.drift is DriftClass.STALE_IN_D2C
    assert found.profile["d2c_customer_id"] == "cus_0000000001"
    assert found.profile["status"] == "active"


def test_a_deleted_account_with_an_active_customer_is_an_orphan_to_deactivate():
    account = _synced_account(IsDeleted=True)

    found = assess(account, _customer(account), _profile(account), SETTINGS)

    assert found.drift is DriftClass.D2C_ORPHAN
    assert "deleted" in found.reason
    assert found.profile["status"] == ProfileStatus.DELETED_IN_SALESFORCE
    assert found.salesforce_fields == {}  # nothing to write on a deleted record


def test_an_account_that_no_longer_qualifies_is_an_orphan_marked_in_salesforce():
    account = _synced_account(Type="Prospect")

    found = assess(account, _customer(account), _profile(account), SETTINGS)

    assert found.drift is DriftClass.D2C_ORPHAN
    assert found.salesforce_fields == {"Crosswalk_Sync_Status__c": "deactivated"}
    assert found.profile["status"] == ProfileStatus.DEACTIVATED


def test_a_prospect_never_onboarded_is_simply_not_qualified():
    found = assess(_account(Type="Prospect"), None, None, SETTINGS)

    assert found.drift is DriftClass.NOT_QUALIFIED


def test_an_account_whose_data_cannot_be_mapped_is_reported_as_failed():
    account = _synced_account(Contacts=[])
    customer = _customer(_synced_account())

    found = assess(account, customer, _profile(account), SETTINGS)

    assert found.drift is DriftClass.FAILED_OR_STUCK
    assert "Contacts" in found.reason


def test_a_deactivated_customer_for_a_qualifying_account_needs_a_person():
    account = _synced_account()

    found = assess(account, _customer(account, status="deactivated"), None, SETTINGS)

    assert found.drift is DriftClass.FAILED_OR_STUCK


def _claimed(at: datetime) -> dict[str, Any]:
    state = SyncState()
    state.claim("onboard-x", NOW - timedelta(days=400), at)
    return state.dump()


@pytest.mark.parametrize(
    ("entity", "expected"),
    [
        (None, DriftClass.MISSING_IN_D2C),
        (_claimed(NOW - timedelta(hours=1)), DriftClass.IN_PROGRESS),
        (_claimed(NOW - timedelta(hours=30)), DriftClass.FAILED_OR_STUCK),
    ],
    ids=["no entity", "onboarding running", "onboarding stuck"],
)
def test_settle_reads_the_entity_of_a_missing_record(entity, expected):
    found = assess(_account(), None, None, SETTINGS)

    final = settle(found, entity, NOW, timedelta(hours=24))

    assert final.drift is expected
    assert not final.needs_entity


def test_waiting_for_approval_is_never_stuck_and_a_rejection_is_not_repaired():
    state = SyncState()
    state.claim("onboard-x", NOW, NOW - timedelta(days=5))
    state.advance("onboard-x", SyncStatus.AWAITING_APPROVAL, NOW - timedelta(days=5))
    found = assess(_account(), None, None, SETTINGS)

    waiting = settle(found, state.dump(), NOW, timedelta(hours=24))
    state.advance("onboard-x", SyncStatus.REJECTED, NOW)
    rejected = settle(found, state.dump(), NOW, timedelta(hours=24))

    assert waiting.drift is DriftClass.IN_PROGRESS
    assert rejected.drift is DriftClass.NOT_QUALIFIED


def test_the_watermark_moves_forward_only_for_the_lease_holder():
    state = WatermarkState()
    t1, t2 = NOW, NOW + timedelta(hours=1)

    assert state.acquire("run-1", NOW)["granted"]
    assert not state.acquire("run-2", NOW)["granted"]
    state.advance("run-1", t2)
    state.advance("run-1", t1)
    with pytest.raises(ValueError):
        state.advance("run-2", t2 + timedelta(hours=1))
    assert state.watermark == t2
    assert not state.release("run-2") and state.release("run-1")
    assert state.acquire("run-2", NOW)["granted"]


def test_write_back_links_the_account_and_its_primary_contact():
    records = write_back_records(
        {
            "account_id": ACCOUNT_ID,
            "contact_id": CONTACT_ID,
            "d2c_customer_id": "cus_0000000001",
            "d2c_primary_user_id": "usr_0000000001",
        }
    )

    assert [r["attributes"]["type"] for r in records] == ["Account", "Contact"]
    assert records[1]["D2C_User_Id__c"] == "usr_0000000001"


# -- run ids of timer-started runs, from the ScheduleStatus the Functions host hands a run ----
NEVER = "0001-01-01T00:00:00+00:00"  # .NET default(DateTime): the timer never ran


def test_a_scheduled_run_is_named_after_the_occurrence_firing_and_the_previous_run() -> None:
    status = {
        "Last": "2026-11-30T01:30:00.0123456+00:00",
        "Next": "2026-12-01T01:30:00+00:00",
        "LastUpdated": "2026-11-30T01:30:00.0123456+00:00",
    }
    run_id = scheduled_run_id(status, NOW)
    assert run_id == "reconcile-20261201T013000Z-after-20261130T013000Z"
    assert scheduled_run_id(dict(status), NOW + timedelta(hours=1)) == run_id  # fired again


def test_a_run_on_startup_and_the_first_scheduled_run_get_different_ids() -> None:
    """Both are told the upcoming occurrence as `Next`; only `Last` differs."""
    startup = {"Last": NEVER, "Next": "2026-12-01T01:30:00+00:00", "LastUpdated": NEVER}
    first = {
        "Last": "2026-11-30T17:02:11.5+00:00",
        "Next": "2026-12-01T01:30:00+00:00",
        "LastUpdated": "2026-11-30T17:02:11.5+00:00",
    }
    assert scheduled_run_id(startup, NOW) == "reconcile-20261201T013000Z-after-none"
    assert scheduled_run_id(first, NOW) == "reconcile-20261201T013000Z-after-20261130T170211Z"


def test_status_times_in_a_time_zone_name_the_same_moment_in_utc() -> None:
    status = {
        "Last": "0001-01-01T00:00:00+01:00",  # never, in Europe/Berlin
        "Next": "2026-12-01T02:30:00+01:00",
        "LastUpdated": "0001-01-01T00:00:00+01:00",
    }
    assert scheduled_run_id(status, NOW) == "reconcile-20261201T013000Z-after-none"


def test_without_a_schedule_monitor_the_run_is_named_after_now() -> None:
    assert scheduled_run_id({}, NOW) == "reconcile-at-20261126T120000Z"
    assert scheduled_run_id({"Next": "not a time"}, NOW) == "reconcile-at-20261126T120000Z"


def _write(type_: str, record_id: str, **fields: str) -> dict:
    record = {"attributes": {"type": type_}, "Id": record_id, **fields}
    return {"record": record, "account": record_id, "drift": "missing_in_d2c"}


def test_owed_write_backs_go_to_the_next_run_once_and_never_to_a_dry_run():
    state = WatermarkState()
    state.acquire("run-1", NOW)
    state.owe("run-1", [_write("Account", "001A", Name="old"), _write("Contact", "003A")])
    state.owe("run-1", [_write("Account", "001A", Name="new")])
    state.release("run-1")

    dry = state.acquire("dry", NOW, take_owed=False)
    state.release("dry")
    handed = state.acquire("run-2", NOW)["owed"]

    assert dry["owed"] == []
    assert [(w["record"]["Id"], w["record"].get("Name")) for w in handed] == [
        ("001A", "new"),
        ("003A", None),
    ]
    assert state.acquire("run-2", NOW)["owed"] == []  # asked again: nothing twice
    with pytest.raises(ValueError):
        state.owe("run-3", [])


def test_a_report_keeps_a_bounded_share_of_findings_failed_repairs_first():
    def finding(n: int, error: str | None = None) -> DriftFinding:
        return DriftFinding(
            sf_account_id=f"001{n:012d}AAA",
            drift=DriftClass.MISSING_IN_D2C,
            reason="r",
            repair_error=error,
        )

    kept, omitted = keep_findings([finding(1), finding(2)], [finding(3), finding(4, "boom")], 3)

    assert [f.sf_account_id[-6:] for f in kept] == [
        "000004AAA"[-6:],
        "000001AAA"[-6:],
        "000002AAA"[-6:],
    ]
    assert omitted == 1
    assert keep_findings([finding(1)], [finding(2)], 3) == ([finding(1), finding(2)], 0)
