"""`GET /api/profiles/{key}` and the change feed `GET /api/profiles`, as the storefront's
backend uses them: any key it holds, conditional reads, and a feed it can follow."""

from __future__ import annotations

import threading
import urllib.parse
from concurrent.futures import ThreadPoolExecutor

import pytest

from crosswalk.models import ApprovalDecision, ApprovalVerdict, ProfileStatus
from crosswalk.people import Consent, LinkState, ProfileContact, SourceSystem
from crosswalk.salesforce_ids import to_18
from tests.storage.factories import account_id, profile

from .conftest import ProfileStack


@pytest.fixture(scope="module", autouse=True)
def profiles(stack: ProfileStack) -> None:
    from datetime import UTC, datetime

    stack.store.upsert(
        profile(
            101,
            d2c_customer_id="cus_Profile0101",
            d2c_primary_user_id="usr_Profile0101",
            primary_email="Ana@Acme.example",
            email_domain="acme.example",
            country="DE",
            approval=ApprovalDecision(
                decision=ApprovalVerdict.APPROVE,
                approver="lee@corp.example",
                reason="internal note about the deal",
                decided_at=datetime(2026, 11, 2, 9, 0, tzinfo=UTC),
            ),
            failure={"step": "invite", "detail": "an internal stack trace"},
            updated_at=datetime(2026, 11, 2, 9, 1, tzinfo=UTC),
            contacts=[
                ProfileContact(
                    sf_contact_id="003000000000101",
                    d2c_user_id="usr_Profile0101",
                    first_name="Ana",
                    last_name="Lopez",
                    email="Ana@Acme.example",
                    primary=True,
                    link_state=LinkState.LINKED,
                    consent=Consent(
                        marketing=False,
                        source=SourceSystem.D2C,
                        at=datetime(2026, 11, 2, 9, 0, tzinfo=UTC),
                    ),
                )
            ],
        )
    )
    stack.store.upsert(profile(102, primary_email="shared@twin.example"))
    stack.store.upsert(profile(103, primary_email="shared@twin.example"))


def test_a_profile_by_account_id_is_the_storefront_view(stack, reader_token):
    response = stack.get(f"profiles/{account_id(101)}", reader_token)

    assert response.status == 200
    body = response.json()
    assert body == {
        "salesforce_account_id": account_id(101),
        "d2c_customer_id": "cus_Profile0101",
        "company_name": "Account 101",
        "country": "DE",
        "email_domain": "acme.example",
        "primary_contact": {"email": "Ana@Acme.example", "d2c_user_id": "usr_Profile0101"},
        "people": [
            {
                "salesforce_contact_id": to_18("003000000000101"),
                "salesforce_lead_id": None,
                "d2c_user_id": "usr_Profile0101",
                "first_name": "Ana",
                "last_name": "Lopez",
                "email": "Ana@Acme.example",
                "phone": None,
                "primary": True,
                "origin": "salesforce",
                "link_state": "linked",
                "consent": {"marketing": False, "source": "d2c", "at": "2026-11-02T09:00:00.000Z"},
            }
        ],
        "sync_status": "active",
        "last_synced_at": "2026-11-02T09:01:00.000Z",
        "updated_at": body["updated_at"],
    }
    assert body["updated_at"].endswith("Z")
    assert "internal" not in response.text  # no approval notes, no failure details


@pytest.mark.parametrize(
    "key", ["cus_Profile0101", "ana@acme.example", "ANA@ACME.EXAMPLE", "001000000000101"]
)
def test_the_same_profile_is_found_by_d2c_id_email_or_15_character_id(stack, reader_token, key):
    response = stack.get(f"profiles/{urllib.parse.quote(key)}", reader_token)

    assert response.status == 200
    assert response.json()["salesforce_account_id"] == account_id(101)


def test_an_unknown_key_is_404_problem(stack, reader_token):
    response = stack.get(f"profiles/{account_id(999)}", reader_token)

    assert response.status == 404
    assert response.headers["Content-Type"].startswith("application/problem+json")


@pytest.mark.parametrize("key", ["nonsense", "003000000000001", "..", "cus_x", "a@b"])
def test_a_key_of_no_known_kind_is_400_naming_key(stack, reader_token, key):
    response = stack.get(f"profiles/{urllib.parse.quote(key)}", reader_token)

    assert response.status == 400, response.text
    assert response.json()["errors"] == [
        {"field": "key", "message": response.json()["errors"][0]["message"]}
    ]


def test_an_email_shared_by_two_accounts_is_409_naming_both(stack, reader_token):
    response = stack.get("profiles/shared@twin.example", reader_token)

    assert response.status == 409
    assert account_id(102) in response.json()["detail"]


def test_the_etag_answers_304_until_the_profile_changes(stack, reader_token):
    first = stack.get(f"profiles/{account_id(101)}", reader_token)
    etag = first.headers["ETag"]

    unchanged = stack.get(f"profiles/{account_id(101)}", reader_token, **{"If-None-Match": etag})
    weak = stack.get(f"profiles/{account_id(101)}", reader_token, **{"If-None-Match": f"W/{etag}"})
    listed = stack.get(
        f"profiles/{account_id(101)}", reader_token, **{"If-None-Match": f'"other", {etag}'}
    )
    current = stack.store.get(account_id(101))
    stack.store.upsert(current.model_copy(update={"status": ProfileStatus.DEACTIVATED}))
    changed = stack.get(f"profiles/{account_id(101)}", reader_token, **{"If-None-Match": etag})

    assert (unchanged.status, weak.status, listed.status) == (304, 304, 304)
    assert unchanged.body == b"" and unchanged.headers["ETag"] == etag
    assert changed.status == 200
    assert changed.headers["ETag"] != etag
    assert changed.json()["sync_status"] == "deactivated"


def _follow(stack, token, query="", limit=5, cursor=None):
    """Every page from `cursor` (or the start) to the end; each request names the cursor once
    (the Functions host joins a repeated query key's values with ',')."""
    seen = []
    while True:
        params = f"limit={limit}" + (f"&cursor={cursor}" if cursor else "") + query
        response = stack.get(f"profiles?{params}", token)
        assert response.status == 200, response.text
        page = response.json()
        seen.extend(page["profiles"])
        cursor = page["cursor"]
        if not page["has_more"]:
            return seen, cursor


def test_the_feed_pages_through_every_profile_in_write_order(stack, reader_token):
    seen, _ = _follow(stack, reader_token)

    ids = [p["salesforce_account_id"] for p in seen]
    stamps = [p["updated_at"] for p in seen]
    assert set(ids) >= {account_id(n) for n in (101, 102, 103)}
    assert stamps == sorted(stamps)


def test_the_feed_since_a_time_leaves_out_older_changes(stack, reader_token):
    boundary = stack.store.upsert(profile(120)).changed_at
    stack.store.upsert(profile(121))

    since = urllib.parse.quote(boundary.isoformat())
    seen, _ = _follow(stack, reader_token, f"&updatedSince={since}")

    assert [p["salesforce_account_id"] for p in seen] == [account_id(120), account_id(121)]


def test_following_the_feed_while_profiles_change_misses_and_repeats_no_version(
    stack, reader_token
):
    keys = [account_id(n) for n in range(200, 240)]
    for n in range(200, 240):
        stack.store.upsert(profile(n))
    _, cursor = _follow(stack, reader_token)  # start at the end of the feed
    stop = threading.Event()

    def write(worker: int) -> None:
        round_ = 0
        while not stop.is_set():
            round_ += 1
            stack.store.upsert(
                profile(200 + (worker * 13 + round_) % 40, name=f"w{worker}.{round_}")
            )

    seen = []
    with ThreadPoolExecutor(max_workers=2) as pool:
        writers = [pool.submit(write, w) for w in range(2)]
        for _ in range(15):
            page = stack.get(f"profiles?limit=4&cursor={cursor}", reader_token).json()
            seen.extend(page["profiles"])
            cursor = page["cursor"]
        stop.set()
        for writer in writers:
            writer.result()
    rest, _ = _follow(stack, reader_token, cursor=cursor)
    seen.extend(rest)

    versions = [(p["salesforce_account_id"], p["company_name"], p["updated_at"]) for p in seen]
    assert len(versions) == len(set(versions))
    final = stack.store.get_many(keys)
    last_seen = {p["salesforce_account_id"]: p["company_name"] for p in seen}
    changed = {key: p.name for key, p in final.items() if p.name != f"Account {int(key[3:15])}"}
    assert {k: last_seen[k] for k in changed} == changed


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("limit=0", "limit"),
        ("limit=1001", "limit"),
        ("limit=abc", "limit"),
        ("limit=5.0", "limit"),
        ("updatedSince=5", "updatedSince"),
        ("updatedSince=2026-11-01T00:00:00", "updatedSince"),
        ("updatedSince=yesterday", "updatedSince"),
        ("cursor=bm90LW91cnM", "cursor"),
        ("cursor=has%20space", "cursor"),
    ],
)
def test_bad_feed_input_is_400_naming_the_field(stack, reader_token, query, field):
    response = stack.get(f"profiles?{query}", reader_token)

    assert response.status == 400, response.text
    assert response.headers["Content-Type"].startswith("application/problem+json")
    assert [e["field"] for e in response.json()["errors"]] == [field]
