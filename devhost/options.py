"""Settings that make devhost behave as Azure may, where Azure's behaviour varies.

Azure's answers depend on the backend and on load: a terminate can land late, a table query
page can be short, client signals can arrive out of order. devhost is predictable by
default; these settings (app settings, i.e. the environment or local.settings.json `Values`)
let a test play the less convenient cases Azure allows.

* `DEVHOST_TERMINATE_DELAY_SECONDS` (default 0): a terminate is delivered this many
  virtual-clock seconds after it is accepted, as on Azure Storage when the control queue is
  polled slowly (up to 30 s idle, more after scale to zero).
* `DEVHOST_SHORT_PAGES` (false): instance and entity queries start with an empty page that
  carries a token, then return at most a third of `top` per page, as Azure Table storage may.
* `DEVHOST_REORDER_CLIENT_SIGNALS` (false): signals from clients (HTTP API, SDK client) reach
  an entity in reverse order within a batch; Azure orders only what one orchestration sends.
* `DEVHOST_REWIND_SUPPORTED` (true): `false` plays a storage provider without rewind (500
  `NotImplementedException`, as the extension's base DurabilityProvider answers).
* `DEVHOST_MAX_MESSAGE_BYTES` (0 = none): an activity, sub-orchestration or entity input
  larger than this (UTF-8 bytes) fails the orchestration, for backends that refuse large
  messages instead of moving them to blobs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes")


@dataclass(frozen=True, slots=True)
class HostOptions:
    terminate_delay: float = 0.0
    short_pages: bool = False
    reorder_client_signals: bool = False
    max_message_bytes: int = 0
    rewind_supported: bool = True

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> HostOptions:
        """Read the settings; a malformed number stops start-up naming the setting."""
        try:
            delay = float(env.get("DEVHOST_TERMINATE_DELAY_SECONDS") or 0)
        except ValueError:
            raise ValueError("DEVHOST_TERMINATE_DELAY_SECONDS must be a number") from None
        try:
            limit = int(env.get("DEVHOST_MAX_MESSAGE_BYTES") or 0)
        except ValueError:
            raise ValueError("DEVHOST_MAX_MESSAGE_BYTES must be a whole number") from None
        if delay < 0 or limit < 0:
            raise ValueError("DEVHOST_TERMINATE_DELAY_SECONDS and DEVHOST_MAX_MESSAGE_BYTES >= 0")
        return cls(
            terminate_delay=delay,
            short_pages=_flag(env.get("DEVHOST_SHORT_PAGES")),
            reorder_client_signals=_flag(env.get("DEVHOST_REORDER_CLIENT_SIGNALS")),
            max_message_bytes=limit,
            rewind_supported=(env.get("DEVHOST_REWIND_SUPPORTED") or "true").strip().lower()
            not in ("0", "false", "no"),
        )
