"""Which task hub instances held an erased person: the workflows whose input, output, custom
status or history carried them. Onboarding read the Account with its Contacts; an update may
carry the D2C customer as its event had it; a sign-up's input is the person. Their instance
ids start with the Account id or the sign-up's own D2C customer id, so a prefix listing finds
the candidates and each one's status with history tells whether it names them."""

from __future__ import annotations

import json
from typing import Any

TERMINAL = frozenset({"Completed", "Failed", "Terminated", "Canceled"})
"""Finished instances: the only ones purged (Microsoft's instance management guide)."""


def candidate_prefixes(accounts: list[str], signup_customers: list[str]) -> list[str]:
    """Instance id prefixes of the workflows that can have held them."""
    prefixes = [f"{kind}-{account}-" for account in accounts for kind in ("onboard", "update")]
    return prefixes + [f"signup-{customer}-" for customer in signup_customers]


def holds_person(status: dict[str, Any], wanted: set[str]) -> bool:
    """Does this instance's status (input, output, custom status, history with inputs and
    outputs) carry one of the person's normalised identifiers? Inputs are often JSON text
    inside JSON, so the check reads the whole document as folded text."""
    text = json.dumps(status, ensure_ascii=False).lower()
    return any(value.lower() in text for value in wanted)
