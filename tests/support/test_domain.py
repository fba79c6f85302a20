"""The support domain without a host: auth, masking, history/ledger, timeline, lookup, rules,
audit store, settings."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

import pytest

from crosswalk.models import UnifiedProfile
from crosswalk.settings import SettingsError, load_settings
from crosswalk.support import actions, auth, history, lookup, masking, timeline, views

KEY = "k" * 40
ACCOUNT = "001dL0000004C92QAE"


def _principal(claims: list[tuple[str, str]], **extra: str) -> str:
    body = {"auth_typ": "aad", "claims": [{"typ": t, "val": v} for t, v in claims], **extra}
    return base64.b64encode(json.dumps(body).encode()).decode()


def test_easy_auth_principal_gives_name_and_app_roles():
    raw = _principal(
        [("preferred_username", "kim@contoso.com"), ("roles", auth.Role.READ), ("roles", "X")],
        name_typ="preferred_username",
        role_typ="roles",
    )

    principal = auth.parse_client_principal(raw)

    assert principal.name == "kim@contoso.com"
    assert principal.roles == {"Support.Read", "X"}
    assert principal.provider == "aad"


@pytest.mark.parametrize("raw", ["%%%", base64.b64encode(b"[1]").decode(), _principal([])])
def test_a_malformed_or_anonymous_principal_is_401(raw):
    with pytest.raises(auth.AuthError) as caught:
        auth.parse_client_principal(raw)
    assert caught.value.status == 401


def test_dev_tokens_verify_expire_and_refuse_tampering():
    token = auth.make_dev_token(KEY, "kim", [auth.Role.OPERATE], ttl_seconds=60, now=1000)

    assert auth.verify_dev_token(token, KEY, now=1030).roles == {"Support.Operate"}
    for bad, now in ((token, 2000), (token[:-2] + "xx", 1030), ("cwdev.e30.x", 1030)):
        with pytest.raises(auth.AuthError):
            auth.verify_dev_token(bad, KEY, now=now)
    with pytest.raises(auth.AuthError):
        auth.verify_dev_token(token, "other" * 10, now=1030)


def test_modes_are_exclusive_and_require_picks_the_role():
    env = {"SUPPORT_AUTH_MODE": "dev_token", "SUPPORT_DEV_TOKEN_KEY": KEY}
    settings = load_settings({**_minimal(), **env}).support
    header = {"X-MS-CLIENT-PRINCIPAL": _principal([("name", "x"), ("roles", "Support.Read")])}
    token = auth.make_dev_token(KEY, "kim", ["Support.Read"])

    with pytest.raises(auth.AuthError):  # dev_token mode ignores the Easy Auth header
        auth.authenticate(header, settings)
    principal = auth.authenticate({"authorization": f"Bearer {token}"}, settings)
    assert auth.require(principal, auth.ANY_ROLE) is principal
    with pytest.raises(auth.AuthError) as caught:
        auth.require(principal, {auth.Role.APPROVE})
    assert caught.value.status == 403
    easy = load_settings(_minimal()).support
    assert auth.authenticate(header, easy).name == "x"


def test_dev_token_mode_needs_a_long_key():
    with pytest.raises(SettingsError) as caught:
        load_settings({**_minimal(), "SUPPORT_AUTH_MODE": "dev_token"})
    assert "SUPPORT_DEV_TOKEN_KEY" in str(caught.value)


def _minimal() -> dict[str, str]:
    return {
        "SALESFORCE_LOGIN_URL": "https://acme.my.salesforce.com",
        "SALESFORCE_CLIENT_ID": "id",
        "SALESFORCE_CLIENT_SECRET": "secret",
        "D2C_BASE_URL": "http://127.0.0.1:1",
        "D2C_TOKEN": "t",
    }


def test_masking_walks_the_whole_tree_and_spares_staff_names():
    data = {
        "primary_email": "barbara.lovelace@acme.example",
        "Contacts": [{"Phone": "+41 660 4886809", "MobilePhone": None, "Email": "z@y.example"}],
        "BillingStreet": "192 Harbour Rd",
        "billing_address": {"line1": "1 Main St", "city": "Osaka", "postal_code": "530"},
        "detail": "x@y.example already belongs to a user",
        "actor": "kim@support.example",
    }

    masked = masking.mask(data)

    assert masked["primary_email"] == "b***@acme.example"
    assert masked["Contacts"][0] == {
        "Phone": "***09",
        "MobilePhone": None,
        "Email": "z***@y.example",
    }
    assert masked["BillingStreet"] == "***"
    assert masked["billing_address"] == {"line1": "***", "city": "Osaka", "postal_code": "***"}
    assert masked["detail"] == "x***@y.example already belongs to a user"
    assert masked["actor"] == "kim@support.example"
    assert data["primary_email"].startswith("barbara")  # the original is untouched


def _history(
    customer: dict | None = None, user: dict | None = None, keep_scheduled: bool = False
) -> list[dict]:
    """An onboarding's `historyEvents` in the shape the Durable extension answers with: each
    finished task's TaskScheduled folded into its completion; the one still in flight left as
    TaskScheduled (`Name`, no `FunctionName`). `keep_scheduled`: a host that keeps both."""
    customer = customer or {"customer_id": "cus_12345678"}
    user = user or {"user_id": "usr_12345678"}

    def at(n: int) -> str:
        return f"2026-01-01T00:00:{n:02d}.0000000Z"

    def step(name, n, result=None, failed=False):
        done = {"EventType": "TaskFailed" if failed else "TaskCompleted", "FunctionName": name}
        done |= {"Timestamp": at(n + 1), "ScheduledTime": at(n)}
        done |= {"Reason": "boom"} if failed else {"Result": result}
        scheduled = {"EventType": "TaskScheduled", "Name": name, "Timestamp": at(n)}
        return [scheduled, done] if keep_scheduled else [done]

    return [
        {"EventType": "ExecutionStarted", "Timestamp": at(0), "Input": {"source": "event"}},
        *step("sf_read_account", 1, {}),
        *step("d2c_create_customer", 3, customer),
        *step("d2c_invite_user", 5, failed=True),
        *step("d2c_invite_user", 7, user),
        *step("profile_upsert", 9, {}),
        {"EventType": "TaskScheduled", "Name": "sf_write_back_d2c_ids", "Timestamp": at(11)},
    ]


def test_history_folds_retries_and_plans_the_undo_newest_first():
    runs = history.step_runs(_history())
    plan, in_flight = history.compensation_plan(_history(), ACCOUNT, "cancelled by kim")

    invite = next(r for r in runs if r.name == "d2c_invite_user")
    assert (invite.outcome, invite.attempts) == ("completed", 2)
    assert [p["activity"] for p in plan] == [
        "profile_remove",
        "d2c_remove_user",
        "d2c_deactivate_customer",
    ]
    assert plan[1]["payload"] == {"customer_id": "cus_12345678", "user_id": "usr_12345678"}
    assert in_flight == ["sf_write_back_d2c_ids"]


def test_a_history_that_keeps_each_taskscheduled_reads_the_same():
    folded = history.step_runs(_history())
    paired = history.step_runs(_history(keep_scheduled=True))

    assert paired == folded
    assert [r.name for r in folded] == [
        "sf_read_account",
        "d2c_create_customer",
        "d2c_invite_user",
        "profile_upsert",
        "sf_write_back_d2c_ids",
    ]
    assert folded[-1].outcome == "in_flight" and folded[1].scheduled_at.endswith(":03.0000000Z")


def test_a_cancel_leaves_what_the_run_adopted_and_takes_back_what_it_reactivated():
    adopted = _history(
        {"customer_id": "cus_12345678", "adopted": True},
        {"user_id": "usr_12345678", "adopted": True},
    )
    reactivated = _history({"customer_id": "cus_12345678", "adopted": True, "reactivate": True})

    kept, _ = history.compensation_plan(adopted, ACCOUNT, "cancelled by kim")
    revived, _ = history.compensation_plan(reactivated, ACCOUNT, "cancelled by kim")

    assert [p["activity"] for p in kept] == ["profile_remove"]
    assert [p["activity"] for p in revived][-1] == "d2c_deactivate_customer"


def test_the_ledger_of_a_running_instance_and_of_a_finished_saga():
    running = history.ledger({"historyEvents": _history()})
    finished = history.ledger(
        {
            "historyEvents": _history(),
            "output": {"ledger": {"compensated": [{"step": "profile_remove"}], "pending": []}},
        }
    )

    assert running["steps_done"][-1] == "profile_upsert"
    assert running["pending"] == ["profile_remove", "d2c_remove_user", "d2c_deactivate_customer"]
    assert running["in_flight"] == ["sf_write_back_d2c_ids"]
    assert finished["compensated"] == ["profile_remove"] and finished["in_flight"] == []


def test_the_timeline_merges_sources_in_time_order():
    events = timeline.merge(
        timeline.instance_events({"instanceId": "i", "name": "w", "historyEvents": _history()}),
        timeline.entity_events(
            {"transitions": [{"at": "2026-01-01T00:00:02.5+00:00", "from": "new", "to": "x"}]}
        ),
        timeline.finding_events(
            ACCOUNT,
            [
                {
                    "run_id": "r",
                    "finished_at": "2026-01-01T00:00:30Z",
                    "findings": [
                        {"sf_account_id": ACCOUNT, "drift": "stale_in_d2c", "reason": "name"}
                    ],
                }
            ],
        ),
    )

    assert [e["source"] for e in events][:3] == ["salesforce_event", "workflow", "entity"]
    assert "after 2 attempts" in next(e["summary"] for e in events if "invite" in e["summary"])
    assert events[-1]["source"] == "reconciliation"
    assert timeline.parse_instant("2026-01-01T00:00:02.1234567Z") == datetime(
        2026, 1, 1, 0, 0, 2, 123456, tzinfo=UTC
    )


def test_lookup_classifies_and_resolves_every_kind_of_key():
    profile = UnifiedProfile(sf_account_id=ACCOUNT, name="Acme")

    def resolve(key, emails=(profile,)):
        return lookup.resolve(
            key,
            by_d2c_customer=lambda _: None,
            by_email=lambda _: list(emails),
            d2c_external_ref=lambda _: ACCOUNT,
        )

    assert resolve(ACCOUNT[:15]).account_id == ACCOUNT
    assert resolve("cus_ABCDEFGH1234").kind is lookup.KeyKind.D2C_CUSTOMER
    assert resolve("a@b.example").account_id == ACCOUNT
    with pytest.raises(lookup.NoRecord):
        resolve("a@b.example", emails=())
    other = UnifiedProfile(sf_account_id="001dL0000004C93QAE", name="B")
    with pytest.raises(lookup.Ambiguous):
        resolve("a@b.example", emails=(profile, other))
    for bad in ("003dL0000004C92QAE", "nope", ""):
        with pytest.raises(lookup.BadKey):
            lookup.classify(bad)
    assert lookup.account_of_instance(f"onboard-{ACCOUNT}-20240101T000000000Z-r2") == ACCOUNT
    assert lookup.account_of_instance("support-cancel-x") is None


@pytest.mark.parametrize(
    ("status", "mode", "expected"),
    [
        ({"runtimeStatus": "Failed"}, "auto", "rewind"),
        ({"runtimeStatus": "Completed", "output": {"outcome": "failed"}}, "auto", "restart"),
        ({"runtimeStatus": "Terminated"}, "restart", "restart"),
        ({"runtimeStatus": "Running"}, "auto", "still_running"),
        ({"runtimeStatus": "Completed", "output": {"outcome": "synced"}}, "auto", "already_synced"),
        ({"runtimeStatus": "Completed"}, "rewind", "not_failed"),
    ],
)
def test_retry_rules(status, mode, expected):
    status = {"name": "account_onboarding", **status}
    try:
        assert actions.retry_mode(status, mode) == expected
    except actions.Refused as refused:
        assert refused.code == expected


def test_retry_ids_count_up_and_busy_records_are_refused():
    base = f"onboard-{ACCOUNT}-20240101T000000000Z"

    assert actions.next_retry_id(base, [base]) == base + "-r1"
    assert actions.next_retry_id(base + "-r1", [base, base + "-r1", base + "-r3"]) == base + "-r4"
    with pytest.raises(actions.Refused):
        actions.check_record_free({"status": "onboarding", "current_instance_id": "x"})
    actions.check_record_free({"status": "compensated", "current_instance_id": None})


def test_a_record_a_batch_holds_is_refused_naming_the_batch_and_what_to_do():
    held = {"status": "onboarding", "current_instance_id": "onboard-batch-run-p1-x0"}

    with pytest.raises(actions.Refused) as refused:
        actions.check_record_free(held)

    assert refused.value.code == "held_by_batch"
    assert "onboard-batch-run-p1-x0" in refused.value.message
    assert "ends on its own" in refused.value.message


def test_older_than_and_states():
    now = datetime(2026, 1, 2, tzinfo=UTC)
    old = {"status": "onboarding", "transitions": [{"at": "2025-12-01T00:00:00Z"}]}

    assert views.parse_older_than("24h", now) == datetime(2026, 1, 1, tzinfo=UTC)
    assert views.parse_older_than("2026-01-01T00:00:00Z", now).day == 1
    with pytest.raises(ValueError):
        views.parse_older_than("soon", now)
    assert views.matches_state(old, "stale", None, now)
    assert not views.matches_state(old, "failed", None, now)
    assert views.failure_reason({"step": "s", "system": "d2c", "status": 422}) == "s:d2c 422"
