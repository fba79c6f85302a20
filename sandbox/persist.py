"""Keep the sandbox's data across restarts of ``python -m sandbox --data DIR``.

devhost keeps its task hub and the app its profile store on disk; if the stand-ins forgot
their records on every restart, the local stack would disagree with itself. One JSON file,
written atomically on shutdown, read on start.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

STATE_FILE = "state.json"
FORMAT = 1


def save(
    path: Path,
    *,
    seed: int,
    salesforce: dict[str, Any],
    d2c: dict[str, Any],
    pubsub: dict[str, Any],
) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(
        json.dumps(
            {
                "format": FORMAT,
                "seed": seed,
                "salesforce": salesforce,
                "d2c": d2c,
                "pubsub": pubsub,
            }
        )
    )
    os.replace(tmp, path)


def load(path: Path) -> dict[str, Any] | None:
    """The saved state, or None when there is none (or it is from another format)."""
    if not path.exists():
        return None
    state = json.loads(path.read_text())
    return state if state.get("format") == FORMAT else None
