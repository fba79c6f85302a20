"""Flow 4 end to end: reconciliation on devhost against the sandbox over real HTTP(S)."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest

from crosswalk.onboarding import OnboardingInput, onboarding_instance_id
from tests.e2e.drift import (
    DURABLE,
    by_class,
    hold_claim,
    in_sync,
    read_org,
    report,
    run_reconciliation,
)
from tests.e2e.sync import customer_of, onboarded, settle, waiting_for_approval

pytestmark = pytest.mark.slow


def _quiet(stack_factory, seed: int, **env: str):
    """A stack whose Salesforce change events go nowhere: the drift here is made on purpose."""
    stack = stack_factory(seed=seed, **env)
    stack.sb.set_events_to(salesforce="")
    return stack


def test_one_run_finds_each_kind_of_drift_repairs_it_and_a_second_run_has_nothing_to_do(
    stack_factory,
):
    stack = _quiet(stack_factory, seed=40)
    sb, store = stack.sb, stack.profiles()
    org = read_org(sb)
    missing, (stuck, running) = org.plain[:3], org.plain[3:5]
    synced = [a for a in org.plain + org.other_qualifying if a not in {*missing, stuck, running}]
    in_sync(sb, store, org, synced)
    stale_d2c, stale_sf, deleted, demoted, d2c_owned = synced[:5]
    customers = {c["external_ref"]: c for c in sb.d2c_customers()}
    sb.d2c_edit(customers[stale_d2c]["id"], {"industry": "Edited On The Storefront"})
    sb.d2c_edit(customers[d2c_owned]["id"], {"phone": "+1 555 0100"})  # D2C owns phone
    sb.salesforce_edit("Account", stale_sf, {"Name": "Renamed In Salesforce Ltd"})
    sb.salesforce_delete("Account", deleted)
    sb.salesforce_edit("Account", demoted, {"Type": "Prospect"})
    hold_claim(stack.host, stuck, at="2020-01-01T00:00:00+00:00")
    hold_claim(stack.host, running, at=datetime.now(UTC).isoformat())

    first = run_reconciliation(stack.host)

    classes = by_class(first)
    assert classes.get("missing_in_d2c") == set(missing)
    assert classes.get("stale_in_d2c") == {stale_d2c, stale_sf, d2c_owned}
    assert classes.get("d2c_orphan") == {deleted, demoted}
    assert classes.get("failed_or_stuck") == {stuck, *org.unmappable}
    assert classes.get("in_progress") == {running}
    assert first["status"] == "completed" and first["failed"] == 0
    assert first["repaired"] == 8
    # the repairs happened
    customers = {c["external_ref"]: c for c in sb.d2c_customers()}
    for account_id in missing:
        assert customers[account_id]["status"] == "active"
        record = sb.salesforce_record("Account", account_id)
        assert record["D2C_Customer_Id__c"] == customers[account_id]["id"]
    assert customers[stale_d2c]["industry"] == org.accounts[stale_d2c].Industry
    assert sb.salesforce_record("Account", d2c_owned)["Phone"] == "+1 555 0100"
    assert customers[stale_sf]["name"] == "Renamed In Salesforce Ltd"
    assert customers[deleted]["status"] == "deactivated"
    assert customers[demoted]["status"] == "deactivated"
    assert store.get(deleted).status == "deleted_in_salesforce"

    second = run_reconciliation(stack.host)

    assert second["repaired"] == 0 and second["failed"] == 0
    assert not set(by_class(second)) & {"missing_in_d2c", "stale_in_d2c", "d2c_orphan"}
    full = run_reconciliation(stack.host, since="2000-01-01T00:00:00Z", dryRun=True)
    assert set(by_class(full)) <= {"failed_or_stuck", "in_progress"}
    assert report(stack.host, full["run_id"])["dry_run"] is True


def test_a_dry_run_reports_drift_and_changes_nothing(stack_factory):
    stack = _quiet(stack_factory, seed=15)
    org = read_org(stack.sb)

    body = run_reconciliation(stack.host, dryRun=True)

    assert body["dry_run"] is True and body["status"] == "completed"
    assert by_class(body)["missing_in_d2c"] == set(org.plain + org.other_qualifying)
    assert body["repaired"] == 0
    assert stack.sb.d2c_customers() == []
    watermark = stack.host.get(f"{DURABLE}/entities/watermark/accounts").json()
    assert watermark["watermark"] is None and watermark["holder"] is None


def test_the_timer_starts_a_run_from_the_schedule_setting_on_the_virtual_clock(stack_factory):
    stack = _quiet(stack_factory, seed=6, time_skipping=False, RECONCILE_SCHEDULE="0 30 1 * * *")
    assert stack.host.get("/api/reconciliations").json()["reports"] == []

    stack.host.advance(timedelta(hours=24))

    reports = _eventually(lambda: stack.host.get("/api/reconciliations").json()["reports"])
    assert len(reports) == 1
    run_id = reports[0]["run_id"]
    assert run_id.startswith("reconcile-") and run_id.endswith("013000Z-after-none")
    assert stack.host.wait_for(run_id, timeout=30)["runtimeStatus"] == "Completed"
    assert report(stack.host, run_id)["status"] == "completed"
    # the host drops an empty query value and joins repeated ones, as Azure's does
    assert stack.host.get("/api/reconciliations?limit=").json()["reports"][0]["run_id"] == run_id
    repeated = stack.host.get("/api/reconciliations?limit=5&limit=7")
    assert repeated.status == 400
    assert [f["field"] for f in repeated.json()["error"]["fields"]] == ["limit"]


def test_concurrent_starts_run_once(stack_factory):
    stack = _quiet(stack_factory, seed=10)
    stack.sb.faults("salesforce", path="/query", latency=0.5)

    with ThreadPoolExecutor(max_workers=3) as pool:
        answers = list(pool.map(lambda _: stack.host.post("/api/reconciliations"), range(3)))
    started = [a.json()["runId"] for a in answers if a.status == 202]
    refused = [a for a in answers if a.status == 409]
    assert started and len(started) + len(refused) == 3
    assert all(a.json()["error"]["code"] == "run_active" for a in refused)
    outcomes = [stack.host.wait_for(i, timeout=60)["output"]["outcome"] for i in started]

    assert outcomes.count("completed") == 1
    assert set(outcomes) <= {"completed", "skipped"}
    refs = [c["external_ref"] for c in stack.sb.d2c_customers()]
    assert len(refs) == len(set(refs))
    again = stack.host.post("/api/reconciliations")
    assert again.status == 202  # the lease was given back


def test_every_run_started_at_the_same_moment_has_a_report_saying_what_became_of_it(
    stack_factory,
):
    stack = _quiet(stack_factory, seed=10)
    stack.sb.faults("salesforce", path="/query", latency=0.5)

    with ThreadPoolExecutor(max_workers=2) as pool:
        answers = list(pool.map(lambda _: stack.host.post("/api/reconciliations"), range(2)))
    started = [a.json()["runId"] for a in answers if a.status == 202]
    for run_id in started:
        stack.host.wait_for(run_id, timeout=60)
    reports = {run_id: stack.host.get(f"/api/reconciliations/{run_id}") for run_id in started}

    assert all(a.status in (202, 409) for a in answers), [a.text for a in answers]
    assert {run_id: r.status for run_id, r in reports.items()} == dict.fromkeys(started, 200)
    statuses = sorted(r.json()["status"] for r in reports.values())
    assert statuses in (["completed"], ["completed", "skipped"])
    for body in (r.json() for r in reports.values() if r.json()["status"] == "skipped"):
        (winner,) = [i for i in started if i != body["run_id"]]
        assert body["reason"] == f"run {winner} is active" and body["finished_at"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"dryRun": "maybe"}, "dryRun"),
        ({"since": "yesterday"}, "since"),
        ({"since": "2026-01-01T00:00:00"}, "since"),
        ({"pageSize": 10}, "pageSize"),
        ([1, 2], "body"),
    ],
)
def test_bad_start_input_is_a_400_naming_the_field_and_starts_nothing(stack_factory, body, field):
    stack = _quiet(stack_factory, seed=2)

    response = stack.host.post("/api/reconciliations", json=body)

    assert response.status == 400, response.text
    assert [f["field"] for f in response.json()["error"]["fields"]] == [field]
    assert stack.host.get("/api/reconciliations").json()["reports"] == []


def test_reports_are_listed_newest_first_and_an_unknown_one_is_404(stack_factory):
    stack = _quiet(stack_factory, seed=4)
    first = run_reconciliation(stack.host, dryRun=True)
    second = run_reconciliation(stack.host)

    listed = stack.host.get("/api/reconciliations?limit=5").json()["reports"]

    assert [r["run_id"] for r in listed] == [second["run_id"], first["run_id"]]
    assert isinstance(listed[0]["findings"], int)
    assert stack.host.get("/api/reconciliations/no-such-run").status == 404
    assert stack.host.get("/api/reconciliations?limit=0").status == 400
    lake = stack.data / "lake" / "reports" / "reconciliation" / f"{second['run_id']}.json"
    assert json.loads(lake.read_text())["counts"] == second["counts"]


def _eventually(read, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while True:
        value = read()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.02)


def test_a_missing_account_that_needs_approval_does_not_hold_the_run(stack_factory):
    stack = _quiet(stack_factory, seed=20, time_skipping=False)
    sb = stack.sb
    org = read_org(sb)
    waiting = org.other_qualifying[0]
    in_sync(
        sb, stack.profiles(), org, [a for a in org.plain + org.other_qualifying if a != waiting]
    )

    finished = run_reconciliation(stack.host, timeout=30)

    finding = next(f for f in finished["findings"] if f["sf_account_id"] == waiting)
    assert finding["drift"] == "missing_in_d2c"
    assert finding["repaired_by"] == "account_onboarding (started, awaiting approval)"
    onboarding = stack.host.get(f"{DURABLE}/instances?instanceIdPrefix=onboard-{waiting}").json()
    assert [i["runtimeStatus"] for i in onboarding] == ["Running"]
    instance_id = onboarding[0]["instanceId"]
    waiting_for_approval(stack, instance_id)
    decided = stack.decide(instance_id, "approve", "known customer", approver="kim@support")
    done = stack.host.wait_for(instance_id, timeout=30)
    assert decided.status == 202, decided.text
    assert done["output"]["outcome"] == "synced"
    customer_id = done["output"]["d2c_customer_id"]
    assert sb.salesforce_record("Account", waiting)["D2C_Customer_Id__c"] == customer_id


def test_an_overflow_event_starts_a_catch_up_run_that_repairs_what_had_no_event(stack_factory):
    stack = stack_factory(seed=12)
    accounts = onboarded(stack, 3)
    ids = [a["Id"] for a in accounts]

    stack.sb.salesforce_bulk_edit("Account", ids, {"Industry": "Energy"}, overflow_after=1)
    settle(stack)

    assert {customer_of(stack, a)["industry"] for a in ids} == {"Energy"}
    (catch_up,) = [r for r in stack.host.get("/api/reconciliations").json()["reports"]]
    assert catch_up["run_id"].startswith("reconcile-overflow-")
    assert stack.host.wait_for(catch_up["run_id"], timeout=30)["runtimeStatus"] == "Completed"


def test_a_repair_never_reuses_a_running_onboardings_id(stack_factory):
    """Azure drops a sub-orchestration start whose id is running: the run would hang."""
    stack = _quiet(stack_factory, seed=20, time_skipping=False)
    sb = stack.sb
    org = read_org(sb)
    target, decoy = org.plain[0], org.other_qualifying[0]
    in_sync(
        sb,
        stack.profiles(),
        org,
        [a for a in org.plain + org.other_qualifying if a not in {target, decoy}],
    )
    # an onboarding under the id the webhook would use for `target` (account + modstamp),
    # waiting for a person (on another record, so `target` still looks missing)
    modstamp = datetime.fromisoformat(sb.salesforce_record("Account", target)["SystemModstamp"])
    busy_id = onboarding_instance_id(target, modstamp)
    waiting = OnboardingInput(
        account_id=decoy,
        modstamp=datetime.fromisoformat(sb.salesforce_record("Account", decoy)["SystemModstamp"]),
        source="http",
        policy={"approval": {"credit_limit_threshold": 0, "annual_revenue_threshold": 0}},
    )
    started = stack.host.post(
        f"{DURABLE}/orchestrators/account_onboarding/{busy_id}",
        json=waiting.model_dump(mode="json"),
    )
    assert started.status == 202, started.text
    for _ in range(400):
        custom = stack.host.status(busy_id).get("customStatus") or {}
        if custom.get("waiting_for") == "ApprovalDecision":
            break
    else:
        raise AssertionError(f"{busy_id} never waited: {stack.host.status(busy_id)}")

    finished = run_reconciliation(stack.host, timeout=30)

    finding = next(f for f in finished["findings"] if f["sf_account_id"] == target)
    assert finding["drift"] == "missing_in_d2c"
    assert finding["repaired_by"] == "account_onboarding", finding
    assert stack.host.status(busy_id)["runtimeStatus"] == "Running"  # untouched
