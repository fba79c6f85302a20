"""App settings the way Core Tools reads them: local.settings.json Values, then host.json."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any


def local_values(app_dir: Path) -> dict[str, str]:
    """`Values` of local.settings.json as strings; empty when the file is absent."""
    path = app_dir / "local.settings.json"
    if not path.exists():
        return {}
    values = json.loads(path.read_text()).get("Values") or {}
    return {str(k): "" if v is None else str(v) for k, v in values.items()}


def worker_env(
    app_dir: Path, base: Mapping[str, str], overrides: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The environment function code sees: base env, plus settings that do not override it.

    `overrides` (tests) win over both, as a variable set in the shell would.
    """
    env = dict(base)
    env.update(overrides or {})
    for key, value in local_values(app_dir).items():
        env.setdefault(key, value)
    env["PYTHONUNBUFFERED"] = "1"
    devhost_root = str(Path(__file__).resolve().parent.parent)
    parts = [devhost_root, *[p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]]
    env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(parts))
    return env


def hub_name(app_dir: Path) -> str:
    """extensions.durableTask.hubName from host.json, else the Core Tools default."""
    path = app_dir / "host.json"
    try:
        host: dict[str, Any] = json.loads(path.read_text())
    except (OSError, ValueError):
        return "TestHubName"
    durable = (host.get("extensions") or {}).get("durableTask") or {}
    return str(durable.get("hubName") or "TestHubName")
