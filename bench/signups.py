"""Storefront sign-ups -> Salesforce (flow 3), on devhost + sandbox: N registrations.

Onboards A accounts (default 50) so their email domains are known, gives a fifth of the
sign-ups a Contact that Salesforce already has for their email, then registers N people
(default 500) on the storefront, all at once or paced at RATE/s:
- 50% with the email domain of an onboarded account: a new Contact of that Account;
- 20% with the email of one of that Account's existing Contacts: that Contact is adopted;
- 30% with a free-mail address: a Lead.
It prints, per kind, the time from registration until the D2C customer carries its Salesforce
link, and the Salesforce and D2C API calls per sign-up from the sandbox's own counters; then
checks there are no duplicate Contacts. Run: .venv/bin/python bench/signups.py [N] [A] [RATE].
The last line is the result.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sandbox  # noqa: E402
from devhost.testing import run  # noqa: E402
from scripts.localstack import app_env  # noqa: E402
from tests.e2e.conftest import QUIET_SCHEDULE, Stack  # noqa: E402
from tests.e2e.sync import D2C_EVENTS, SF_EVENTS, calls, plain_accounts, settle  # noqa: E402

KINDS = ("new contact", "adopted contact", "lead")


def _kind(number: int) -> str:
    slot = number % 10
    return KINDS[0] if slot < 5 else KINDS[1] if slot < 7 else KINDS[2]


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[int(share * (len(ordered) - 1))]


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 500
    accounts = int(sys.argv[2]) if len(sys.argv) > 2 else 50
    rate = float(sys.argv[3]) if len(sys.argv) > 3 else 0.0
    with tempfile.TemporaryDirectory() as tmp, sandbox.run(seed=int(accounts * 1.6) + 50) as sb:
        ids = [a["Id"] for a in plain_accounts(Stack(sb=sb, host=None, data=None, env={}))]
        ids = ids[:accounts]
        data = Path(tmp)
        env = app_env(sb, data, **QUIET_SCHEDULE)
        with run(ROOT, env=env) as host:
            stack = Stack(sb=sb, host=host, data=data, env=env)
            sb.set_events_to(salesforce=f"{host.url}{SF_EVENTS}", d2c=f"{host.url}{D2C_EVENTS}")
            with ThreadPoolExecutor(16) as pool:
                started = list(pool.map(lambda a: host.post(f"/api/accounts/{a}/onboard"), ids))
            for response in started:
                assert host.wait_for(response.json()["id"], timeout=600)["output"]
            settle(stack)
            profiles = stack.profiles()
            domains = {a: d for a in ids if (d := profiles.get(a).email_domain)}
            profiles.close()
            matched = list(domains)

            people: list[tuple[str, str]] = []  # (kind, email)
            for number in range(n):
                kind = _kind(number)
                account = matched[number % len(matched)]
                if kind == "lead":
                    email = f"buyer{number}@gmail.com"
                else:
                    email = f"person{number}@{domains[account]}"
                if kind == "adopted contact":
                    sb.salesforce_create(
                        "Contact", {"AccountId": account, "LastName": "Known", "Email": email}
                    )
                people.append((kind, email))
            settle(stack)
            contacts_before = len(sb.salesforce_records("Contact"))

            registered: dict[str, tuple[str, float]] = {}  # customer id -> (kind, time)
            linked: dict[str, float] = {}
            done = threading.Event()

            def watch() -> None:
                while not done.is_set() or len(linked) < len(registered):
                    now = time.perf_counter()
                    for customer in sb.d2c_customers():
                        link = customer.get("salesforce") or {}
                        cid = customer["id"]
                        if cid in registered and cid not in linked and any(link.values()):
                            linked[cid] = now - registered[cid][1]
                    time.sleep(0.01)

            before = calls(stack)
            watcher = threading.Thread(target=watch, daemon=True)
            watcher.start()
            began = time.perf_counter()
            for number, (kind, email) in enumerate(people):
                if rate > 0:
                    time.sleep(max(0.0, began + number / rate - time.perf_counter()))
                customer = sb.d2c_register(email=email, last_name=f"Buyer{number}")
                registered[customer["id"]] = (kind, time.perf_counter())
            done.set()
            watcher.join(timeout=600)
            settle(stack)
            wall = time.perf_counter() - began
            after = calls(stack)
            new_contacts = len(sb.salesforce_records("Contact")) - contacts_before
            leads = len(sb.salesforce_records("Lead"))

    expected_new = sum(1 for kind, _ in people if kind == "new contact")
    pace = f"paced at {rate:g}/s" if rate > 0 else "all at once (a burst)"
    print(f"{n} sign-ups over {accounts} onboarded accounts, {pace}: {len(linked)} linked in")
    print(f"  {wall:.1f} s ({n / wall:.0f} sign-ups/s)")
    for kind in KINDS:
        times = [t for cid, t in linked.items() if registered[cid][0] == kind]
        print(
            f"  {kind:16s} {len(times):4d}  registration -> linked p50 "
            f"{statistics.median(times):.2f} s  p95 {_percentile(times, 0.95):.2f} s"
        )
    sf = (after["salesforce"] - before["salesforce"]) / n
    d2c = (after["d2c"] - before["d2c"]) / n
    print(f"  calls per sign-up: Salesforce {sf:.2f}, D2C {d2c:.2f}")
    print(f"  Contacts created {new_contacts} (expected {expected_new}: none for adopted ones)")
    print(f"  Leads {leads}")
    all_times = list(linked.values())
    print(
        f"signups: n={n} linked={len(linked)} p50 {statistics.median(all_times):.2f} s "
        f"p95 {_percentile(all_times, 0.95):.2f} s {sf:.2f} SF + {d2c:.2f} D2C calls/sign-up; "
        f"duplicate contacts: {new_contacts - expected_new}"
    )


if __name__ == "__main__":
    main()
