"""Keyed hashes of a person: HMAC-SHA256 under `ERASURE_KEY` (Key Vault in Azure).

A tombstone is `HMAC(key, "email:" + folded e-mail)`, `HMAC(key, "user:" + D2C user id)` or,
for a Salesforce Contact the erasure found, `HMAC(key, "contact:" + its 18-character id)`:
without the key nobody can test an address against it (a plain hash of an e-mail can be
guessed), and with it every later event, replay, reconciliation or sign-up can ask "was this
person erased?". The raw zone's batches carry a sidecar listing the short (16 hex) keyed
hashes of every e-mail and D2C user id in them, so an erasure reads the sidecars and only
the batches that can hold the person.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from crosswalk.salesforce_ids import to_18

EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")
USER = re.compile(r"^usr_[0-9A-Za-z]{8,32}$")
IN_TEXT = re.compile(
    r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"
    r"|\busr_[0-9A-Za-z]{8,32}\b"
)
"""An e-mail address or D2C user id inside text: the address's characters stop at spaces,
brackets, quotes and commas, and a sentence's full stop after it is not part of it."""
INDEX_CHARS = 16  # 64 bits of the HMAC: a false match costs one batch read, nothing more


@dataclass(frozen=True, slots=True)
class Person:
    """Whom to erase: an e-mail address, a D2C user id, or both."""

    email: str | None = None
    d2c_user_id: str | None = None

    def values(self) -> set[str]:
        """The normalised identifiers looked for in stored data."""
        found = set()
        if self.email and self.email.strip():
            found.add(self.email.strip().lower())
        if self.d2c_user_id and self.d2c_user_id.strip():
            found.add(self.d2c_user_id.strip())
        return found


def normalise(value: str) -> str | None:
    """An e-mail folded, a D2C user id as is; anything else is not a person key (None)."""
    text = value.strip()
    if USER.match(text):
        return text
    if EMAIL.match(text) and len(text) <= 254:
        return text.lower()
    return None


def tombstone(key: bytes, value: str) -> str:
    """The full keyed hash kept for an erased identifier."""
    normal = normalise(value) or value.strip().lower()
    kind = "user" if USER.match(normal) else "email"
    return hmac.new(key, f"{kind}:{normal}".encode(), hashlib.sha256).hexdigest()


def contact_tombstone(key: bytes, contact_id: str) -> str:
    """The keyed hash kept for an erased person's Salesforce Contact (18 characters): an
    anonymised Contact has no e-mail left to recognise it by, and a refresh of its Account's
    people must still leave it out."""
    return hmac.new(key, f"contact:{to_18(contact_id)}".encode(), hashlib.sha256).hexdigest()


def tombstones(key: bytes, person: Person) -> list[str]:
    return sorted(tombstone(key, value) for value in person.values())


def index_key(key: bytes, normal: str) -> str:
    return hmac.new(key, f"index:{normal}".encode(), hashlib.sha256).hexdigest()[:INDEX_CHARS]


def identifiers(value: Any, *, in_text: bool = True) -> Iterator[str]:
    """Every e-mail (folded) and D2C user id anywhere in a JSON value: in every string of it,
    whatever the field, as the whole value or (`in_text`) inside free text (a Description, a
    note, a reason typed by someone: "call jane@acme.example back")."""
    if isinstance(value, dict):
        for item in value.values():
            yield from identifiers(item, in_text=in_text)
    elif isinstance(value, list):
        for item in value:
            yield from identifiers(item, in_text=in_text)
    elif isinstance(value, str) and len(value) >= 8:
        if "@" not in value and "usr_" not in value:
            return  # most strings hold neither: no pattern is tried on them
        normal = normalise(value) if len(value) <= 254 else None
        if normal is not None:
            yield normal
            if IN_TEXT.fullmatch(value.strip()):
                return  # the whole value is one address or id: nothing else in it
        if not in_text:
            return
        for found in IN_TEXT.finditer(value):
            if (inner := normalise(found.group())) is not None and inner != normal:
                yield inner


def index_keys(key: bytes, lines: Iterable[Any]) -> list[str]:
    """The sorted short keyed hashes of every person identifier in these lines."""
    return sorted({index_key(key, normal) for line in lines for normal in identifiers(line)})


def mentions(value: Any, wanted: set[str], *, in_text: bool = True) -> bool:
    """Whether a JSON value holds one of the normalised identifiers in `wanted` (as a whole
    value only, without `in_text`: a record that is theirs, not one that names them)."""
    return any(normal in wanted for normal in identifiers(value, in_text=in_text))
