"""Run relay sessions outside the Functions host (support, benchmarks, the kill -9 test):

    python -m crosswalk.relay [--seconds 290] [--sessions 1]

Reads the app's settings from the environment (RELAY_*, SALESFORCE_*, LAKE_*) and prints one
JSON line per channel and session. A catch-up it reports is not started from here: the timer
function starts it, or run `POST /api/reconciliations` with the printed ``since``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import uuid
from collections.abc import Sequence

from crosswalk.relay.session import RelayContext, run_session
from crosswalk.services import services


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m crosswalk.relay", description=__doc__)
    parser.add_argument("--seconds", type=float, default=None, help="per session")
    parser.add_argument("--sessions", type=int, default=1)
    args = parser.parse_args(argv)
    svc = services()
    ctx = RelayContext(
        settings=svc.settings.relay,
        lake=svc.lake,
        pubsub=svc.pubsub,
        publisher=svc.event_grid,
        owner=f"relay-cli-{uuid.uuid4().hex[:12]}",
    )
    for _ in range(args.sessions):
        for report in run_session(ctx, args.seconds):
            print(json.dumps(dataclasses.asdict(report), default=str), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
