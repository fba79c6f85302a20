"""Sandbox speed: seed N Accounts, then page through them the way reconciliation does.

Reconciliation asks for 2,000 Accounts a page, ``WHERE SystemModstamp > <watermark> ORDER BY
SystemModstamp, Id LIMIT 2000``, and moves the watermark to the last row. Prints the seed
time and per-page latency p50/max over a full walk. Run: .venv/bin/python
bench/sandbox_soql.py [N] (default 50000). The last line is the one-line result.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sandbox

FIELDS = "Id, Name, Type, BillingCountry, Credit_Limit__c, Tax_Id__c, SystemModstamp"


def main(n: int) -> None:
    start = time.perf_counter()
    with sandbox.run(seed=n) as sb:
        seeded = time.perf_counter() - start
        session = requests.Session()
        session.verify, session.trust_env = sb.ca_bundle, False
        session.headers["Authorization"] = f"Bearer {sb.salesforce_token()}"
        url = f"{sb.salesforce_url}/services/data/v{sb.api_version}/query/"
        watermark, last_id = "2000-01-01T00:00:00Z", ""
        pages: list[float] = []
        rows = 0
        while True:
            q = (
                f"SELECT {FIELDS} FROM Account WHERE SystemModstamp > {watermark} "
                f"OR (SystemModstamp = {watermark} AND Id > '{last_id or '001000000000000'}') "
                "ORDER BY SystemModstamp, Id LIMIT 2000"
            )
            t = time.perf_counter()
            r = session.get(url, params={"q": q})
            pages.append(time.perf_counter() - t)
            r.raise_for_status()
            records = r.json()["records"]
            rows += len(records)
            if len(records) < 2000:
                break
            stamp = records[-1]["SystemModstamp"]
            watermark = stamp[:23] + "Z"  # 2024-01-01T00:00:00.000+0000 -> ...000Z
            last_id = records[-1]["Id"]
        session.close()
    print(f"seeded {n} accounts in {seeded:.2f} s; walked {rows} rows in {len(pages)} pages")
    print(
        f"sandbox_soql: seed {n} = {seeded:.2f} s, page of 2000 p50 "
        f"{statistics.median(pages) * 1000:.0f} ms, max {max(pages) * 1000:.0f} ms"
    )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 50_000)
