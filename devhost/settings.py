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


class HostConfigError(RuntimeError):
    """host.json exists but does not parse; the Functions host does not start either."""


def host_config(app_dir: Path) -> dict[str, Any]:
    """host.json: {} when absent (the host's defaults); a file that does not parse stops
    start-up naming the file and the position, as the host does ("Unable to parse host
    configuration file '...'.").

    Read as strict JSON. The host itself skips comments, but azure-functions-durable reads
    host.json with `json.loads` when the app imports it, so a durable app with comments there
    fails to load on Azure too.
    """
    path = app_dir / "host.json"
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        return {}  # the host runs with its defaults
    try:
        parsed = json.loads(text)
    except ValueError as exc:
        raise HostConfigError(f"Unable to parse host configuration file '{path}'. {exc}") from exc
    if not isinstance(parsed, dict):
        raise HostConfigError(
            f"Unable to parse host configuration file '{path}'. The root must be a JSON object"
        )
    return parsed


def disabled_by_setting(function: str, settings: Mapping[str, str]) -> bool:
    """`AzureWebJobs.<function>.Disabled` (or `AzureWebJobs_<function>_Disabled`, the Linux
    spelling) set to true or 1, read case-insensitively as the WebJobs SDK reads it."""
    names = {
        f"azurewebjobs.{function}.disabled".lower(),
        f"azurewebjobs_{function}_disabled".lower(),
    }
    return any(
        key.lower() in names and value.strip().lower() in ("true", "1")
        for key, value in settings.items()
    )
