"""CosmosProfileStore without an emulator: document layout, error mapping, lazy connection.

The behavioural contract runs in test_profile_store*.py when COSMOS_EMULATOR_ENDPOINT is set.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
from azure.core.exceptions import ClientAuthenticationError, ServiceRequestError
from azure.cosmos.exceptions import CosmosClientTimeoutError, CosmosHttpResponseError

from crosswalk.errors import (
    AuthenticationFailed,
    Conflict,
    InvalidData,
    NotFound,
    PermanentError,
    PreconditionFailed,
    RateLimited,
    TransientError,
)
from crosswalk.profiles import open_profile_store
from crosswalk.profiles.cosmos import CosmosProfileStore, cosmos_error
from crosswalk.profiles.cosmos_documents import from_document, report_document, to_document
from crosswalk.settings import ProfileStoreKind, ProfileStoreSettings
from tests.azurite import free_port

from .factories import account_id, profile, report

NOW = datetime(2024, 5, 2, 9, 30, tzinfo=UTC)
FAKE_KEY = "c2VjcmV0LWNvc21vcy1rZXktdmFsdWUtZm9yLXRlc3Rz"  # base64, as real keys are


def _http(status: int, headers: dict[str, str] | None = None) -> CosmosHttpResponseError:
    error = CosmosHttpResponseError(status_code=status, message=f"status {status}")
    error.headers = headers or {}
    return error


# ---------------------------------------------------------------- document layout


def test_a_profile_document_is_keyed_and_partitioned_by_the_18_character_account_id() -> None:
    document = to_document(
        profile(1, email_domain="Acme.Example", primary_email="A@Acme.Example"), NOW
    )

    assert document["id"] == document["sf_account_id"] == account_id(1)
    assert document["type"] == "profile"
    assert document["email_domain_lc"] == "acme.example"
    assert document["primary_email_lc"] == "a@acme.example"
    assert "etag" not in document
    assert document["changed_at"] == "2024-05-02T09:30:00.000000+00:00"
    assert document["feed_key"] == f"2024-05-02T09:30:00.000000+00:00|{account_id(1)}"


def test_a_profile_read_back_carries_the_cosmos_etag() -> None:
    written = profile(1, last_modstamp=datetime(2024, 5, 2, 8, tzinfo=UTC))
    document = {**to_document(written, NOW), "_etag": '"0a00-1"', "_ts": 1714636800, "_rid": "x"}

    read = from_document(document)

    assert read.etag == '"0a00-1"'
    assert read.changed_at == NOW
    store_assigned = {"etag", "changed_at"}
    assert read.model_dump(exclude=store_assigned) == written.model_dump(exclude=store_assigned)


def test_a_report_lives_in_its_own_partition_that_no_account_id_can_take() -> None:
    document = report_document(report("run-7", 0))

    assert document["id"] == document["sf_account_id"] == "report:run-7"
    assert document["type"] == "report"
    assert document["started_at"] == "2024-05-02T08:00:00.000Z"


# ---------------------------------------------------------------- error mapping


def test_429_is_rate_limited_with_the_wait_cosmos_asks_for() -> None:
    mapped = cosmos_error(_http(429, {"x-ms-retry-after-ms": "1500"}), "write profile")

    assert isinstance(mapped, RateLimited)
    assert mapped.retry_after == 1.5
    assert mapped.system == "profiles"


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (449, TransientError),
        (503, TransientError),
        (500, TransientError),
        (408, TransientError),
        (412, PreconditionFailed),
        (404, NotFound),
        (409, Conflict),
        (400, InvalidData),
        (401, AuthenticationFailed),
        (413, PermanentError),
    ],
)
def test_http_failures_map_by_status(status: int, expected: type[Exception]) -> None:
    mapped = cosmos_error(_http(status), "write profile")

    assert type(mapped) is expected
    assert mapped.status == status


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (CosmosClientTimeoutError(), TransientError),
        (ServiceRequestError("connection refused"), TransientError),
        (ClientAuthenticationError("no managed identity"), AuthenticationFailed),
    ],
    ids=["timeout", "network", "credential"],
)
def test_client_side_failures_map_by_kind(error: Exception, expected: type[Exception]) -> None:
    assert type(cosmos_error(error, "read profile")) is expected


# ---------------------------------------------------------------- connection


def test_building_the_store_does_no_io_and_first_use_of_a_dead_endpoint_is_transient() -> None:
    store = CosmosProfileStore(
        f"http://127.0.0.1:{free_port()}/",
        FAKE_KEY,
        "db",
        "profiles",
        retry_total=0,
        connection_timeout=2,
    )
    started = time.monotonic()

    with pytest.raises(TransientError) as caught:
        store.get(account_id(1))
    store.close()

    assert FAKE_KEY not in str(caught.value)
    assert time.monotonic() - started < 30


def test_open_profile_store_builds_a_cosmos_store_without_connecting() -> None:
    settings = ProfileStoreSettings.model_validate(
        {
            "kind": ProfileStoreKind.COSMOS,
            "cosmos_endpoint": "https://example-account.documents.azure.com:443/",
            "cosmos_key": FAKE_KEY,
        }
    )

    store = open_profile_store(settings)

    assert isinstance(store, CosmosProfileStore)
    store.close()
