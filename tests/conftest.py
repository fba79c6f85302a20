"""Fixtures shared by every layer of tests: realistic payloads and a valid settings mapping."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

PAYLOADS = Path(__file__).parent / "payloads"


def load_payload(name: str) -> dict[str, Any]:
    return json.loads((PAYLOADS / name).read_text())


@pytest.fixture
def account_payload() -> dict[str, Any]:
    """An Account with a Contacts subquery, exactly as the REST API returns it."""
    return copy.deepcopy(load_payload("account_with_contacts.json"))


@pytest.fixture
def minimal_env() -> dict[str, str]:
    """The smallest environment Crosswalk starts with (client-credentials auth)."""
    return {
        "SALESFORCE_LOGIN_URL": "https://acme.my.salesforce.com",
        "SALESFORCE_CLIENT_ID": "3MVG9-dev-client",
        "SALESFORCE_CLIENT_SECRET": "dev-secret-value",
        "D2C_BASE_URL": "http://127.0.0.1:8082",
        "D2C_TOKEN": "d2c-dev-token",
    }


# Session fixtures shared by several test folders.
from tests.azurite import azurite_connection_string  # noqa: E402, F401
from tests.cosmos import cosmos_endpoint  # noqa: E402, F401
