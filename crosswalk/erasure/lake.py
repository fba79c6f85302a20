"""Erasing a person from the lake: the raw zone's event batches, the Account snapshots and
the dead letters.

Which batches can hold the person: every batch written with an erasure key has a sidecar
(`{batch}.persons`) listing the short keyed hashes of every e-mail and D2C user id in it.
An erasure lists `raw/` (names only), reads the sidecars (a few hundred bytes each, in
parallel), and reads and rewrites only the batches whose sidecar lists one of the person's
hashes; a batch without a sidecar (written before there was a key) is read whole. Account
snapshots are found by name (`{account id}-{modstamp}.json`) for the accounts the person
belonged to; dead letters are few and read whole.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any

from crosswalk.erasure.keys import Person, index_key, index_keys, mentions, normalise
from crosswalk.lake.base import Lake
from crosswalk.lake.raw import PERSONS, decode_lines, encode_lines, write_person_index

ERASED = "[erased]"
_READERS = 8  # parallel sidecar reads (Blob round trips; a folder does not mind)


@dataclass
class LakeErasure:
    """What an erasure did in the lake: counts only, never what was removed."""

    batches_listed: int = 0
    indexes_read: int = 0
    batches_read: int = 0
    batches_rewritten: int = 0
    events_removed: int = 0
    events_scrubbed: int = 0
    bytes_read: int = 0
    bytes_rewritten: int = 0
    snapshots_rewritten: int = 0
    dead_letters_removed: int = 0
    unindexed_batches: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["unindexed_batches"] = len(self.unindexed_batches)
        return out


def scrub(value: Any, wanted: set[str]) -> Any:
    """A copy without the person: list items that mention them dropped, other strings that
    are or contain their identifiers replaced by `[erased]`."""
    if isinstance(value, dict):
        return {k: scrub(v, wanted) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub(item, wanted) for item in value if not _is_theirs(item, wanted)]
    if isinstance(value, str):
        if normalise(value) in wanted:
            return ERASED
        for needle in wanted:
            if needle in value.lower():
                value = re.sub(re.escape(needle), ERASED, value, flags=re.IGNORECASE)
        return value
    return value


def _is_theirs(item: Any, wanted: set[str]) -> bool:
    """A record that holds their address or id as a value; one that only names them in text
    (someone else's note about them) keeps its place and loses the address."""
    return isinstance(item, dict) and mentions(item, wanted, in_text=False)


def erase_raw(
    lake: Lake, person: Person, key: bytes | None, accounts: Iterable[str] = ()
) -> LakeErasure:
    """Rewrite every raw batch and snapshot that holds the person, without them."""
    wanted = person.values()
    result = LakeErasure()
    if not wanted:
        return result
    paths = lake.list("raw/")
    names = set(paths)
    batches = [p for p in paths if p.endswith(".jsonl")]
    result.batches_listed = len(batches)
    hashes = {index_key(key, value) for value in wanted} if key else set()
    indexed = [b for b in batches if key and b + PERSONS in names]
    result.unindexed_batches = [b for b in batches if not (key and b + PERSONS in names)]

    def may_hold(batch: str) -> bool:
        listed = json.loads(lake.get_bytes(batch + PERSONS))
        return bool(hashes.intersection(listed))

    with ThreadPoolExecutor(_READERS) as pool:
        flags = list(pool.map(may_hold, indexed))
    result.indexes_read = len(indexed)
    candidates = [b for b, hit in zip(indexed, flags, strict=True) if hit]
    for batch in [*candidates, *result.unindexed_batches]:
        _rewrite_batch(lake, batch, wanted, key, result)
    for snapshot in _snapshots(paths, accounts):
        document = lake.get_json(snapshot)
        if mentions(document, wanted) or _contains(document, wanted):
            lake.put_json(snapshot, scrub(document, wanted))
            result.snapshots_rewritten += 1
    return result


def _rewrite_batch(
    lake: Lake, batch: str, wanted: set[str], key: bytes | None, result: LakeErasure
) -> None:
    data = lake.get_bytes(batch)
    result.batches_read += 1
    result.bytes_read += len(data)
    lines = decode_lines(data, batch)
    kept, removed, scrubbed = [], 0, 0
    for line in lines:
        if mentions(line, wanted, in_text=False):
            removed += 1  # their event: it goes whole
        elif mentions(line, wanted):
            kept.append(scrub(line, wanted))  # another record's text names them
            scrubbed += 1
        else:
            kept.append(line)
    if not removed and not scrubbed:
        return  # a false match of the short hash: nothing of theirs here
    result.events_removed += removed
    result.events_scrubbed += scrubbed
    result.batches_rewritten += 1
    if not kept:
        lake.delete(batch)
        lake.delete(batch + PERSONS)
        return
    body = encode_lines(kept)
    if key is not None:
        write_person_index(lake, batch, index_keys(key, kept))
    lake.put_bytes(batch, body, content_type="application/x-ndjson")
    result.bytes_rewritten += len(body)


def _snapshots(paths: list[str], accounts: Iterable[str]) -> list[str]:
    prefixes = tuple(a[:15] for a in accounts)
    if not prefixes:
        return []
    return [
        p
        for p in paths
        if p.startswith("raw/salesforce/account/")
        and p.endswith(".json")
        and p.rsplit("/", 1)[-1].startswith(prefixes)
    ]


def _contains(document: Any, wanted: set[str]) -> bool:
    text = json.dumps(document).lower()
    return any(needle in text for needle in wanted)


def erase_dead_letters(lake: Lake, person: Person) -> int:
    """Delete the dead letters that hold the person (the event is theirs), and take their
    address out of the others' text; returns how many were deleted."""
    wanted = person.values()
    removed = 0
    for path in lake.list("deadletter/"):
        try:
            letter = lake.get_json(path)
        except Exception:
            continue
        if mentions(letter, wanted, in_text=False):
            lake.delete(path)  # their event
            removed += 1
        elif mentions(letter, wanted) or _contains(letter, wanted):
            lake.put_json(path, scrub(letter, wanted))  # someone else's, naming them in text
    return removed
