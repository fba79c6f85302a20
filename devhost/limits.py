"""Payload limits the real backends enforce, with their own messages.

* Custom status: the extension serialises it with a 16 KB limit counted in UTF-16 (the
  encoding of Azure Storage strings) and throws `ArgumentException` from `SetCustomStatus`
  (MessagePayloadDataConverter.Serialize, DurableOrchestrationContext.SetCustomStatus); the
  out-of-proc shim sets the status before it schedules any action, so the orchestration fails
  as "Orchestrator function 'X' failed: <message>" and nothing of that episode is scheduled.
  The size is whole kilobytes rounded down, so 16 KB + 1023 bytes still passes.
* Message size: opt-in (`DEVHOST_MAX_MESSAGE_BYTES`), for backends that refuse large messages
  instead of moving them to blobs as Azure Storage does.
"""

from __future__ import annotations

import json
from typing import Any

CUSTOM_STATUS_MAX_KB = 16


class PayloadTooLarge(ValueError):
    """A payload over a backend limit; the message is the one the backend gives."""


def utf16_kb(text: str) -> int:
    return int(len(text.encode("utf-16-le")) / 1024.0)


def check_custom_status(value: Any) -> str:
    """The custom status as stored (compact JSON), or PayloadTooLarge over 16 KB of UTF-16."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    size = utf16_kb(text)
    if size > CUSTOM_STATUS_MAX_KB:
        raise PayloadTooLarge(
            f"The UTF-16 size of the JSON-serialized payload must not exceed "
            f"{CUSTOM_STATUS_MAX_KB:,} KB. The current payload size is {size:,} KB."
        )
    return text


def check_message(payload: Any, max_bytes: int) -> None:
    """PayloadTooLarge when `payload` (an action's input, as sent) exceeds `max_bytes`."""
    if max_bytes <= 0 or payload is None:
        return
    text = payload if isinstance(payload, str) else json.dumps(payload)
    size = len(text.encode())
    if size > max_bytes:
        raise PayloadTooLarge(
            f"The message is {size:,} bytes; the task hub accepts at most {max_bytes:,} bytes "
            "per message (DEVHOST_MAX_MESSAGE_BYTES)."
        )
