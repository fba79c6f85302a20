"""Erasing one person from a raw zone of N events (default 1,000,000) on the folder lake.

The lake holds N D2C `customer.updated` events in batches of 500 (the landing's default),
spread over 30 days of hour folders, written with an erasure key so every batch has its person
index sidecar; one person's 5 events are scattered among them. The erasure lists `raw/`, reads
every sidecar (in parallel), then reads and rewrites only the batches whose sidecar lists one
of the person's keyed hashes. Printed: time, batches and bytes read and rewritten, and the
same erasure without the index (every batch read whole) in the same run, as the ratio.
Writing the lake is not timed. Run: .venv/bin/python bench/erasure.py [N]
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from crosswalk.erasure.keys import Person  # noqa: E402
from crosswalk.erasure.lake import erase_raw  # noqa: E402
from crosswalk.lake.folder import FolderLake  # noqa: E402
from crosswalk.lake.raw import RawEvent, RawZone  # noqa: E402

KEY = b"bench-erasure-key-0123456789abcdef"
BATCH = 500
START = datetime(2026, 1, 1, tzinfo=UTC)
HOURS = 30 * 24
TARGET = Person(email="erase.me@acme.example", d2c_user_id="usr_EraseMe000001")


def _event(n: int, hour: int, *, target: bool = False) -> RawEvent:
    email, user = (
        (TARGET.email, TARGET.d2c_user_id)
        if target
        else (f"buyer{n}@shop{n % 997}.example", f"usr_B{n:011d}")
    )
    return RawEvent(
        system="d2c",
        entity="customer",
        id=f"evt-{n}",
        type="customer.updated",
        time=START + timedelta(hours=hour, seconds=n % 3600),
        data={
            "customer": {
                "id": f"cus_C{n:011d}",
                "name": f"Shop {n}",
                "marketing_consent": n % 2 == 0,
            },
            "user": {"id": user, "email": email, "first_name": "Sam", "last_name": f"Buyer {n}"},
            "changed_fields": ["marketing_consent"],
        },
    )


def _fill(lake: FolderLake, n: int) -> None:
    zone = RawZone(lake, index_key=KEY)
    targets = {n * k // 5 + 7 for k in range(5)}
    per_hour = max(1, n // HOURS)
    batch: list[RawEvent] = []
    for i in range(n):
        batch.append(_event(i, min(i // per_hour, HOURS - 1), target=i in targets))
        if len(batch) == BATCH or (i + 1) % per_hour == 0:
            zone.write(batch)
            batch = []
    if batch:
        zone.write(batch)


def _size(root: Path) -> int:
    return sum(f.stat().st_size for f in root.rglob("*") if f.is_file())


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    with tempfile.TemporaryDirectory() as tmp:
        indexed_root, plain_root = Path(tmp) / "indexed", Path(tmp) / "plain"
        started = time.perf_counter()
        _fill(FolderLake(indexed_root), n)
        print(f"wrote {n} events in {time.perf_counter() - started:.1f} s,"
              f" {_size(indexed_root) / 1e6:.0f} MB", flush=True)  # fmt: skip
        shutil.copytree(indexed_root, plain_root)  # the same lake for the unindexed run

        started = time.perf_counter()
        indexed = erase_raw(FolderLake(indexed_root), TARGET, KEY)
        indexed_s = time.perf_counter() - started

        started = time.perf_counter()
        full = erase_raw(FolderLake(plain_root), TARGET, None)  # no key: every batch read
        full_s = time.perf_counter() - started

    assert indexed.events_removed == full.events_removed == 5, (indexed, full)
    load = os.getloadavg()[0]
    print(
        f"erasure of one person from {n} raw events ({indexed.batches_listed} batches):"
        f" {indexed_s:.1f} s, {indexed.indexes_read} indexes read, {indexed.batches_read} batches"
        f" ({indexed.bytes_read / 1e6:.2f} MB) read, {indexed.batches_rewritten} rewritten"
        f" ({indexed.bytes_rewritten / 1e6:.2f} MB); without the index {full_s:.1f} s"
        f" ({full.bytes_read / 1e6:.0f} MB read): {full_s / indexed_s:.1f}x;"
        f" load average {load:.2f}"
    )


if __name__ == "__main__":
    main()
