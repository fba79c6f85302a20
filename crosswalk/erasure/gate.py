"""The gate every flow passes before it links or writes a person: were they erased?"""

from __future__ import annotations

from crosswalk.erasure.keys import contact_tombstone, normalise, tombstone
from crosswalk.models import UnifiedProfile
from crosswalk.services import services


def erased_values(values: list[str | None]) -> set[str]:
    """Which of these e-mails / D2C user ids belong to erased people (none without a key)."""
    key = services().settings.erasure.key_bytes()
    normal = {n for v in values if v and (n := normalise(v))}
    if key is None or not normal:
        return set()
    by_hash = {tombstone(key, value): value for value in normal}
    return {by_hash[h] for h in services().profiles.tombstoned(sorted(by_hash))}


def without_erased(profile: UnifiedProfile) -> UnifiedProfile:
    """The profile without people who were erased: no flow brings them back. One tombstone
    read for every e-mail, D2C user id and Contact id of its people."""
    key = services().settings.erasure.key_bytes()
    if key is None or not profile.contacts:
        return profile
    hashes: dict[str, int] = {}
    for n, person in enumerate(profile.contacts):
        for value in (person.email, person.d2c_user_id):
            if value and (normal := normalise(value)):
                hashes[tombstone(key, normal)] = n
        if person.sf_contact_id:
            hashes[contact_tombstone(key, person.sf_contact_id)] = n
    if not hashes:
        return profile
    erased = {hashes[h] for h in services().profiles.tombstoned(sorted(hashes))}
    if not erased:
        return profile
    kept = [p for n, p in enumerate(profile.contacts) if n not in erased]
    return profile.model_copy(update={"contacts": kept})
