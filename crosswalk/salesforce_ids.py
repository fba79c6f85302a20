"""Salesforce record ids: 15-character case-sensitive form and the 18-character safe form."""

from __future__ import annotations

import re

_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
_SHAPE = re.compile(r"^[0-9A-Za-z]{15}(?:[0-9A-Za-z]{3})?$")

KEY_PREFIXES = {"Account": "001", "Contact": "003", "Lead": "00Q", "User": "005"}


def checksum(id15: str) -> str:
    """The three characters Salesforce appends so an id survives case-insensitive handling."""
    suffix = ""
    for start in (0, 5, 10):
        bits = sum(1 << j for j, ch in enumerate(id15[start : start + 5]) if "A" <= ch <= "Z")
        suffix += _ALPHABET[bits]
    return suffix


def to_18(record_id: str) -> str:
    """Validate a 15- or 18-character id and return the 18-character form.

    Raises ValueError naming what is wrong: the shape, or a suffix that does not match.
    """
    if not isinstance(record_id, str) or not _SHAPE.match(record_id):
        raise ValueError("must be a 15 or 18 character Salesforce id")
    id15 = record_id[:15]
    expected = checksum(id15)
    if len(record_id) == 18 and record_id[15:].upper() != expected:
        raise ValueError(
            f"checksum suffix {record_id[15:]!r} does not match (expected {expected!r})"
        )
    return id15 + expected


def has_prefix(record_id: str, sobject: str) -> bool:
    return record_id.startswith(KEY_PREFIXES[sobject])
