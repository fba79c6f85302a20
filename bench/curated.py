"""The curated zone's Delta table over N profiles (default 50,000) on the folder lake.

Fills a SQLite profile store, then times: the first refresh (every row written), ten
incremental refreshes of 1% changed profiles each, a refresh of an unchanged store,
compaction, and reading the whole table back (compared with the store, row by row).
Run: .venv/bin/python bench/curated.py [N]. The last line is the result.
"""

from __future__ import annotations

import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from crosswalk.lake.curated import ProfileTable  # noqa: E402
from crosswalk.models import ProfileStatus, UnifiedProfile  # noqa: E402
from crosswalk.profiles.sqlite import SqliteProfileStore  # noqa: E402
from crosswalk.salesforce_ids import to_18  # noqa: E402

STATUSES = [ProfileStatus.ACTIVE] * 8 + [ProfileStatus.FAILED, ProfileStatus.DEACTIVATED]
NOW = datetime(2026, 3, 4, 10, 0, tzinfo=UTC)


def _profile(n: int, name: str | None = None) -> UnifiedProfile:
    return UnifiedProfile(
        sf_account_id=to_18(f"001{n:012d}"),
        name=name or f"Account {n}",
        status=STATUSES[n % len(STATUSES)],
        primary_email=f"buyer{n}@company{n % 997}.example",
        email_domain=f"company{n % 997}.example",
        country=["DE", "US", "FR", "GB", None][n % 5],
        last_modstamp=NOW - timedelta(seconds=n),
        updated_at=NOW,
        failure={"step": "invite", "detail": "boom"} if n % 10 == 8 else None,
    )


def _timed(action):  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    result = action()
    return result, time.perf_counter() - started


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 50_000
    with tempfile.TemporaryDirectory() as tmp:
        store = SqliteProfileStore(Path(tmp) / "profiles.sqlite3")
        for i in range(n):
            store.upsert(_profile(i))
        table = ProfileTable(str(Path(tmp) / "curated" / "profiles"))

        first, first_s = _timed(lambda: table.refresh(store, now=NOW))
        print(f"first refresh: {first.upserted} rows in {first_s:.2f} s = {n / first_s:.0f} rows/s")

        changed_each = max(1, n // 100)
        total_s = 0.0
        for round_ in range(10):
            for i in range(round_ * changed_each, (round_ + 1) * changed_each):
                store.upsert(_profile(i, name=f"Renamed {round_} {i}"))
            result, took = _timed(lambda r=round_: table.refresh(store, now=NOW + timedelta(r)))
            assert result.upserted == changed_each, result
            total_s += took
        per_round = total_s / 10
        print(
            f"incremental refresh, {changed_each} of {n} changed: {per_round:.2f} s each"
            f" ({changed_each / per_round:.0f} changed rows/s, whole table {n / per_round:.0f}"
            " rows/s)"
        )

        idle, idle_s = _timed(lambda: table.refresh(store, now=NOW))
        assert idle.upserted == 0 and idle.deleted == 0
        print(f"refresh of an unchanged store: {idle_s:.2f} s, nothing committed")

        files_before = table.files()
        _metrics, compact_s = _timed(table.compact)
        print(f"compaction: {files_before} files -> {table.files()} in {compact_s:.2f} s")

        rows, read_s = _timed(table.read)
        expected = store.get_many(list(store.versions()))
        assert rows == expected, "the table differs from the store"
        print(f"read back {len(rows)} rows in {read_s:.2f} s = {len(rows) / read_s:.0f} rows/s")
        store.close()
    print(
        f"result: {n} profiles; first refresh {n / first_s:.0f} rows/s; 1% incremental"
        f" {per_round:.2f} s; read back {n / read_s:.0f} rows/s; equal to the store"
    )


if __name__ == "__main__":
    main()
