"""Fixtures for the sandbox tests: a running sandbox, a simple-salesforce client, a webhook."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sbkit import Webhook, sf_client
from simple_salesforce import Salesforce

import sandbox


@pytest.fixture
def sb() -> Iterator[sandbox.Sandbox]:
    with sandbox.run(seed=0) as running:
        yield running


@pytest.fixture
def sf(sb: sandbox.Sandbox) -> Iterator[Salesforce]:
    client = sf_client(sb, "crosswalk")
    yield client
    client.session.close()


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    hook = Webhook().start()
    yield hook
    hook.stop()
