"""CosmosProfileStore under throttling (429) and "retry with" (449), injected for real.

The Cosmos API server does not throttle, so the launcher answers chosen requests with a fault
before they reach it (tests/cosmos.py `Faults`): the SDK and the store see real HTTP answers
with the headers Cosmos DB sends (`x-ms-retry-after-ms`).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from crosswalk.errors import RateLimited, TransientError
from crosswalk.profiles.cosmos import CosmosProfileStore
from tests.cosmos import CosmosEndpoint, Faults

from .factories import account_id, profile

pytestmark = pytest.mark.cosmos


@pytest.fixture
def faults(cosmos_endpoint: CosmosEndpoint) -> Iterator[Faults]:
    if cosmos_endpoint.faults_url is None or cosmos_endpoint.ca_bundle is None:
        pytest.skip("fault injection needs our cosmosdb-server launcher, not an external emulator")
    injector = Faults(cosmos_endpoint.faults_url, cosmos_endpoint.ca_bundle)
    injector.clear()
    yield injector
    injector.clear()
    injector.close()


def _store(endpoint: CosmosEndpoint, container: str, **options: object) -> CosmosProfileStore:
    return CosmosProfileStore(
        endpoint.url,
        endpoint.key,
        "crosswalk-fault-tests",
        container,
        create_if_missing=True,
        **endpoint.client_options(),
        **options,
    )


@pytest.fixture
def container() -> str:
    return f"profiles-{uuid.uuid4().hex[:12]}"


def test_a_short_throttle_is_absorbed_by_the_sdk_and_the_write_lands(
    cosmos_endpoint: CosmosEndpoint, faults: Faults, container: str
) -> None:
    store = _store(cosmos_endpoint, container)
    store.get(account_id(1))  # connect first, so the fault meets the write itself
    before = faults.injected()
    faults.add(status=429, method="POST", path=f"/colls/{container}/docs/?$", retry_after_ms=5)

    written = store.upsert(profile(1, name="Throttled once"))

    assert faults.injected() == before + 1
    assert store.get(account_id(1)) == written
    store.close()


def test_throttling_beyond_the_sdk_retries_is_rate_limited_with_cosmos_wait(
    cosmos_endpoint: CosmosEndpoint, faults: Faults, container: str
) -> None:
    store = _store(cosmos_endpoint, container, retry_throttle_total=1)
    store.get(account_id(1))
    faults.add(status=429, method="POST", path=f"/colls/{container}/docs/?$", count=5,
               retry_after_ms=20)  # fmt: skip

    with pytest.raises(RateLimited) as caught:
        store.upsert(profile(1))

    assert caught.value.retry_after == pytest.approx(0.02)
    assert caught.value.status == 429
    faults.clear()
    assert store.get(account_id(1)) is None  # nothing was written
    store.close()


def test_retry_with_449_is_transient_and_the_next_attempt_succeeds(
    cosmos_endpoint: CosmosEndpoint, faults: Faults, container: str
) -> None:
    store = _store(cosmos_endpoint, container)
    current = store.upsert(profile(1))
    faults.add(status=449, method="PUT", path=f"/colls/{container}/docs/")

    with pytest.raises(TransientError) as caught:
        store.upsert(profile(1, name="Renamed"), if_match=current.etag)
    retried = store.upsert(profile(1, name="Renamed"), if_match=current.etag)

    assert caught.value.status == 449
    assert store.get(account_id(1)) == retried
    store.close()


def test_a_throttled_point_read_is_rate_limited_not_mistaken_for_a_missing_profile(
    cosmos_endpoint: CosmosEndpoint, faults: Faults, container: str
) -> None:
    store = _store(cosmos_endpoint, container, retry_throttle_total=1)
    store.upsert(profile(1))
    faults.add(status=429, method="GET", path=f"/colls/{container}/docs/", count=5,
               retry_after_ms=1)  # fmt: skip

    with pytest.raises(RateLimited):
        store.get(account_id(1))
    store.close()
