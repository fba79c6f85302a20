"""The gate every flow passes before it links or writes a person: were they erased?"""

from __future__ import annotations

from crosswalk.erasure.keys import normalise, tombstone
from crosswalk.services import services


def erased_values(values: list[str | None]) -> set[str]:
    """Which of these e-mails / D2C user ids belong to erased people (none without a key)."""
    key = services().settings.erasure.key_bytes()
    normal = {n for v in values if v and (n := normalise(v))}
    if key is None or not normal:
        return set()
    by_hash = {tombstone(key, value): value for value in normal}
    return {by_hash[h] for h in services().profiles.tombstoned(sorted(by_hash))}
