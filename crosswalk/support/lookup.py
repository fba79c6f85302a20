"""Support staff search by whatever they have: a Salesforce Account Id, a D2C customer id or
an email. Each resolves to the Account Id that keys the entity, the instances and the profile.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from crosswalk.models import UnifiedProfile
from crosswalk.salesforce_ids import KEY_PREFIXES, to_18

D2C_CUSTOMER = re.compile(r"^cus_[0-9A-Za-z]{8,32}$")
EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")


class KeyKind(StrEnum):
    ACCOUNT = "salesforce_account_id"
    D2C_CUSTOMER = "d2c_customer_id"
    EMAIL = "email"


class BadKey(ValueError):
    """Not any kind of key support can search by (a 400 naming `key`)."""


class NoRecord(LookupError):
    """A well-formed key that matches nothing Crosswalk knows."""


class Ambiguous(LookupError):
    def __init__(self, account_ids: list[str]) -> None:
        self.account_ids = account_ids
        super().__init__(f"the key matches {len(account_ids)} accounts: {', '.join(account_ids)}")


@dataclass(frozen=True, slots=True)
class Resolved:
    account_id: str
    kind: KeyKind
    profile: UnifiedProfile | None = None
    """The profile the lookup read on the way (None for an Account id), so a caller that
    wants it reads nothing twice."""


def classify(key: str) -> KeyKind:
    key = key.strip()
    if D2C_CUSTOMER.match(key):
        return KeyKind.D2C_CUSTOMER
    if EMAIL.match(key) and len(key) <= 254:
        return KeyKind.EMAIL
    try:
        full = to_18(key)
    except ValueError:
        raise BadKey(
            "must be a Salesforce Account Id (001...), a D2C customer id (cus_...) or an email"
        ) from None
    if not full.startswith(KEY_PREFIXES["Account"]):
        raise BadKey("a Salesforce id here must be an Account Id (starting 001)")
    return KeyKind.ACCOUNT


def resolve(
    key: str,
    *,
    by_d2c_customer: Callable[[str], UnifiedProfile | None],
    by_email: Callable[[str], list[UnifiedProfile]],
    d2c_external_ref: Callable[[str], str | None],
) -> Resolved:
    """Blocking lookups are passed in, so this runs anywhere (tests, threads)."""
    kind = classify(key)
    key = key.strip()
    if kind is KeyKind.ACCOUNT:
        return Resolved(to_18(key), kind)
    if kind is KeyKind.D2C_CUSTOMER:
        profile = by_d2c_customer(key)
        if profile is not None:
            return Resolved(profile.sf_account_id, kind, profile)
        ref = d2c_external_ref(key)  # a customer whose onboarding never wrote a profile
        if ref:
            try:
                return Resolved(to_18(ref), kind)
            except ValueError:
                pass
        raise NoRecord(f"no record for D2C customer {key}")
    found = {p.sf_account_id: p for p in by_email(key)}
    matches = sorted(found)
    if not matches:
        raise NoRecord("no record has that email")
    if len(matches) > 1:
        raise Ambiguous(matches)
    return Resolved(matches[0], kind, found[matches[0]])


def account_of_instance(instance_id: str) -> str | None:
    """`onboard-<AccountId>-<stamp>[-...]` -> the Account Id, or None for other instances."""
    parts = instance_id.split("-")
    if len(parts) >= 3 and parts[0] == "onboard":
        try:
            return to_18(parts[1])
        except ValueError:
            return None
    return None
