"""Salesforce record Ids: 15 case-sensitive characters plus a 3-character case checksum."""

from __future__ import annotations

import re

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_SUFFIX = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
_ID_RE = re.compile(r"^[0-9A-Za-z]{15}(?:[0-9A-Za-z]{3})?$")
POD = "dL"  # the 2-character instance part of every generated Id


_UPPER_BITS = str.maketrans(
    {c: ("1" if "A" <= c <= "Z" else "0") for c in ALPHABET}  # upper case -> bit set
)


def checksum(id15: str) -> str:
    """The 3 suffix characters: one per 5-char chunk, bit j set when char j is upper case."""
    bits = id15.translate(_UPPER_BITS)
    return (
        _SUFFIX[int(bits[4::-1], 2)]
        + _SUFFIX[int(bits[9:4:-1], 2)]
        + _SUFFIX[int(bits[14:9:-1], 2)]
    )


def to18(value: str) -> str | None:
    """The canonical 18-character form of a 15- or 18-character Id, or None if malformed."""
    if not isinstance(value, str) or not _ID_RE.match(value):
        return None
    base = value[:15]
    return base + checksum(base)


def make_id(prefix: str, counter: int) -> str:
    """Id number ``counter`` of a key prefix; the counter is fixed-width so Ids sort by age."""
    digits = []
    n = counter
    for _ in range(9):
        n, r = divmod(n, 62)
        digits.append(ALPHABET[r])
    base = prefix + POD + "0" + "".join(reversed(digits))
    return base + checksum(base)


class IdFactory:
    """Hands out increasing Ids per key prefix; restartable for a deterministic reset."""

    def __init__(self, start: int = 1_000_000) -> None:
        self._start = start
        self._next: dict[str, int] = {}

    def new(self, prefix: str) -> str:
        n = self._next.get(prefix, self._start)
        self._next[prefix] = n + 1
        return make_id(prefix, n)

    def reset(self) -> None:
        self._next.clear()

    def state(self) -> dict[str, int]:
        return dict(self._next)

    def restore(self, state: dict[str, int]) -> None:
        self._next = dict(state)
