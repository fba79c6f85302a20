"""Putting lookup entries right where they disagree with the profiles, in one implementation
for both callers: `python -m crosswalk.profiles.repair` (every profile, from the configured
store; prints how many entries changed) and reconciliation, which repairs the profiles
written since its window began (`repair_written_since`, a page of the change feed a call).

Run the command once after upgrading a Cosmos DB container written before lookup entries (or
a kind of them) existed: its profiles are found by Account id only until then. SQLite files
fill theirs on opening. A profile whose entries already agree changes nothing.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from crosswalk.profiles.base import ProfileStore

PAGE = 500  # profiles per reconciliation call: a bounded activity however large the window


@dataclass(frozen=True, slots=True)
class Repaired:
    """What one pass did: profiles looked at, entries changed, and where the feed goes on."""

    profiles: int
    entries_changed: int
    cursor: str | None = None
    more: bool = False


def repair_accounts(store: ProfileStore, accounts: Iterable[str]) -> Repaired:
    """Make each account's lookup entries agree with its stored profile (or its absence)."""
    seen = changed = 0
    for account in accounts:
        changed += store.repair_lookups(account)
        seen += 1
    return Repaired(profiles=seen, entries_changed=changed)


def repair_written_since(
    store: ProfileStore, since: datetime, *, cursor: str | None = None, limit: int = PAGE
) -> Repaired:
    """One page of the profiles written at or after `since` (the change feed), repaired;
    pass the returned cursor back while `more` says the feed goes on."""
    page = store.changes(since=since, cursor=cursor, limit=limit)
    done = repair_accounts(store, [p.sf_account_id for p in page.profiles])
    return Repaired(done.profiles, done.entries_changed, cursor=page.cursor, more=page.more)


def main() -> int:
    from crosswalk.profiles import open_profile_store
    from crosswalk.settings import ProfileStoreSettings

    store = open_profile_store(ProfileStoreSettings())
    try:
        done = repair_accounts(store, sorted(store.versions()))
    finally:
        store.close()
    json.dump({"profiles": done.profiles, "entries_changed": done.entries_changed}, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
