"""Personal data masked in support views unless the caller's role may see it.

Masking walks whole JSON trees (profiles, history inputs and results, error texts), so a new
field holding an email is masked without anyone remembering to list it: emails are found by
pattern in every string; phones and street addresses by field name.
"""

from __future__ import annotations

import re
from typing import Any

EMAIL = re.compile(r"([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@([A-Za-z0-9.-]+\.[A-Za-z]{2,})")
PHONE_KEYS = frozenset({"phone", "mobilephone", "mobile_phone", "fax"})
ADDRESS_KEYS = frozenset(
    {
        "street",
        "line1",
        "line2",
        "billingstreet",
        "shippingstreet",
        "mailingstreet",
        "postalcode",
        "postal_code",
        "billingpostalcode",
        "mailingpostalcode",
        "latitude",
        "longitude",
    }
)
MASK = "***"
STAFF_KEYS = frozenset({"actor", "approver", "principal"})
"""Support staff's own identities: who acted is the point of an audit, not personal data."""


def mask_email(text: str) -> str:
    """`kim.lee@acme.example` -> `k***@acme.example`: enough to tell two people apart."""
    return EMAIL.sub(lambda m: f"{m.group(1)}{MASK}@{m.group(2)}", text)


def mask_phone(value: Any) -> Any:
    if not isinstance(value, str) or not value:
        return value
    digits = [ch for ch in value if ch.isdigit()]
    return f"{MASK}{''.join(digits[-2:])}" if digits else MASK


def mask(value: Any) -> Any:
    """A masked copy of any JSON-like value; the original is left untouched."""
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            folded = str(key).lower()
            if folded in STAFF_KEYS:
                out[key] = item
            elif folded in PHONE_KEYS:
                out[key] = mask_phone(item)
            elif folded in ADDRESS_KEYS and item not in (None, ""):
                out[key] = MASK
            else:
                out[key] = mask(item)
        return out
    if isinstance(value, list):
        return [mask(item) for item in value]
    if isinstance(value, str):
        return mask_email(value)
    return value
