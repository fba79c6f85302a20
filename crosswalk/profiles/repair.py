"""`python -m crosswalk.profiles.repair`: put every profile's lookup entries right, from the
configured store (PROFILE_STORE_* settings); prints how many entries changed.

Run it once after upgrading a Cosmos DB container written before lookup entries existed (its
profiles are found by Account id only until then), or whenever support suspects an entry
drifted (a writer that stopped between its steps). SQLite files fill theirs on opening.
"""

from __future__ import annotations

import json
import sys

from crosswalk.profiles import open_profile_store
from crosswalk.settings import ProfileStoreSettings


def main() -> int:
    store = open_profile_store(ProfileStoreSettings())
    try:
        accounts = sorted(store.versions())
        changed = sum(store.repair_lookups(account) for account in accounts)
    finally:
        store.close()
    json.dump({"profiles": len(accounts), "entries_changed": changed}, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
