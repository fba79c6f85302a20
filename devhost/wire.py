"""Length-prefixed JSON frames between the host and its worker subprocesses."""

from __future__ import annotations

import json
import struct
from typing import Any

_HEADER = struct.Struct("!I")


def encode(message: dict[str, Any]) -> bytes:
    """One frame: 4-byte big-endian length, then compact JSON."""
    body = json.dumps(message, separators=(",", ":")).encode()
    return _HEADER.pack(len(body)) + body


def header_size() -> int:
    return _HEADER.size


def body_size(header: bytes) -> int:
    return _HEADER.unpack(header)[0]


def decode(body: bytes) -> dict[str, Any]:
    return json.loads(body)
