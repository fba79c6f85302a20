"""What reading Event Grid's dead-letter container costs the support views.

The health page counts the blobs on every call (names only), the Dead letters page reads a
page of them newest hour first, an erasure reads them all. N blobs (one D2C event each, as
Event Grid writes them: `<SUBSCRIPTION>/<yyyy>/<M>/<d>/<H>/<guid>.json`) spread over 30 days
of hours in a folder container; the floor is listing the names alone (`Lake.list`), which
every one of these does first.

Run: .venv/bin/python bench/eventgrid_deadletters.py [N] (default 10000). The last line is
the result.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from crosswalk.lake.eventgrid_deadletters import EventGridDeadLetters  # noqa: E402
from crosswalk.lake.folder import FolderLake  # noqa: E402
from sandbox.eventgrid.deadletter import FolderDestination, blob_name  # noqa: E402


def _event(n: int) -> dict:
    return {
        "id": f"evt-{n}",
        "source": "/d2c/customers",
        "specversion": "1.0",
        "type": "customer.updated",
        "subject": f"customers/cus_{n}",
        "data": {"customer": {"id": f"cus_{n}", "email": f"person{n}@example.com"}},
        "deadletterreason": "MaxDeliveryAttemptsExceeded",
        "deliveryattempts": 30,
        "lastdeliveryoutcome": "Busy",
        "lasthttpstatuscode": 503,
        "publishtime": "2026-03-04T09:00:00+00:00",
        "lastdeliveryattempttime": "2026-03-04T09:00:00+00:00",
    }


def _timed(work) -> tuple[float, object]:
    started = time.perf_counter()
    result = work()
    return time.perf_counter() - started, result


def main(n: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "eventgrid-deadletter"
        folder.mkdir()
        destination = FolderDestination(folder)
        start = datetime(2026, 3, 1, tzinfo=UTC)
        for i in range(n):
            at = start + timedelta(hours=i % (30 * 24))
            destination.write(
                blob_name("crosswalk-d2c", at, uuid.uuid4()), json.dumps([_event(i)]).encode()
            )
        letters = EventGridDeadLetters(FolderLake(folder))

        floor, names = _timed(lambda: letters.store.list(""))
        count_s, count = _timed(letters.count)
        page_s, (page, total) = _timed(lambda: letters.newest(50))
        erase_s, found = _timed(lambda: letters.holding({f"person{n // 2}@example.com"}))

        assert count == total == len(names) == n and len(page) == 50 and len(found) == 1
        print(f"{n} dead-letter blobs over 720 hour folders (folder container)")
        print(f"list names (floor):   {floor * 1000:8.1f} ms")
        print(
            f"count (health):       {count_s * 1000:8.1f} ms  x{count_s / floor:.2f} of the floor"
        )
        print(f"newest 50 (the page): {page_s * 1000:8.1f} ms  x{page_s / floor:.2f} of the floor")
        print(
            f"holding (an erasure): {erase_s * 1000:8.1f} ms  x{erase_s / floor:.2f} of the floor"
        )
        print(
            f"result: {n} blobs: health count {count_s * 1000:.0f} ms, page {page_s * 1000:.0f} ms"
        )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000)
