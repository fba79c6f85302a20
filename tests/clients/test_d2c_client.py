"""The D2C client against the sandbox over real HTTP: idempotency, ETags, error taxonomy."""

from __future__ import annotations

import uuid

import pytest

import sandbox
from crosswalk.clients.d2c import CustomerExists, D2CClient
from crosswalk.d2c_models import CustomerCreate, UserInvite
from crosswalk.errors import InvalidData, NotFound, PreconditionFailed, TransientError
from crosswalk.settings import D2CSettings


@pytest.fixture(scope="module")
def sb():
    with sandbox.run(seed=0) as running:
        yield running


@pytest.fixture
def client(sb) -> D2CClient:
    return D2CClient(D2CSettings.model_validate({"base_url": sb.d2c_url, "token": sb.d2c_token}))


def _customer(ref: str | None = None) -> CustomerCreate:
    return CustomerCreate(kind="business", name="Acme GmbH", external_ref=ref or _ref())


def _ref() -> str:
    return f"001{uuid.uuid4().hex[:15]}"


def test_replaying_an_idempotency_key_returns_the_first_customer(client, sb):
    body, key = _customer(), str(uuid.uuid4())

    first = client.create_customer(body, idempotency_key=key)
    again = client.create_customer(body, idempotency_key=key)

    assert again.id == first.id
    assert len([c for c in sb.d2c_customers() if c["external_ref"] == body.external_ref]) == 1


def test_a_second_customer_for_the_same_reference_is_refused_naming_the_first(client):
    ref = _ref()
    first = client.create_customer(_customer(ref), idempotency_key=str(uuid.uuid4()))

    with pytest.raises(CustomerExists) as caught:
        client.create_customer(_customer(ref), idempotency_key=str(uuid.uuid4()))

    assert caught.value.existing_id == first.id
    assert not caught.value.retryable


def test_a_stale_etag_is_a_precondition_failure(client):
    customer = client.create_customer(_customer(), idempotency_key=str(uuid.uuid4()))
    client.update_customer(customer.id, {"phone": "+1 555 0100"}, etag=customer.etag)

    with pytest.raises(PreconditionFailed):
        client.update_customer(customer.id, {"phone": "+1 555 0199"}, etag=customer.etag)


def test_lookup_fetches_many_references_in_one_call(client, sb):
    refs = [_ref() for _ in range(5)]
    for ref in refs:
        client.create_customer(_customer(ref), idempotency_key=str(uuid.uuid4()))
    before = sb.stats()["d2c"]["total"]

    found = client.lookup([*refs, _ref()])

    assert set(found) == set(refs)
    assert sb.stats()["d2c"]["total"] - before == 1


def test_an_invalid_invite_names_the_field(client):
    customer = client.create_customer(_customer(), idempotency_key=str(uuid.uuid4()))
    invite = UserInvite.model_construct(email="not-an-email", role="buyer")

    with pytest.raises(InvalidData) as caught:
        client.invite_user(customer.id, invite, idempotency_key=str(uuid.uuid4()))

    assert caught.value.field == "email"


def test_unknown_customer_is_not_found(client):
    with pytest.raises(NotFound):
        client.get_customer("cus_doesnotexist1")


def test_unavailable_and_dropped_connections_are_transient(client, sb):
    sb.faults("d2c", path=r"/v1/customers/", status=503, fail_next=1)
    with pytest.raises(TransientError):
        client.get_customer("cus_doesnotexist1")

    sb.faults("d2c", path=r"/v1/customers/", drop=True, fail_next=1)
    with pytest.raises(TransientError):
        client.get_customer("cus_doesnotexist1")
