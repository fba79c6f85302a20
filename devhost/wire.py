"""Length-prefixed frames between the host and its worker subprocesses.

A frame is a 4-byte big-endian length, then compact JSON. An orchestration's or entity's
`context` is already JSON text (the whole history, for an orchestration), so it is not
escaped again as a JSON string inside the frame: it follows the JSON after a newline, which
compact JSON never contains.
"""

from __future__ import annotations

import json
import struct
from typing import Any, BinaryIO

_HEADER = struct.Struct("!I")
RAW = "context"  # the one field carried as is


def encode(message: dict[str, Any]) -> bytes:
    raw = message.get(RAW)
    if isinstance(raw, str):
        meta = {key: value for key, value in message.items() if key != RAW}
        body = _compact(meta) + b"\n" + raw.encode("utf-8", "surrogatepass")
    else:
        body = _compact(message)
    return _HEADER.pack(len(body)) + body


def write_all(out: BinaryIO, data: bytes) -> None:
    """Write every byte to an unbuffered file. A raw write may take only part of its bytes
    (a pipe write interrupted by a signal, or by a debugger's ptrace stop, returns the count
    written so far); the rest written later by another call would split a frame in two."""
    view = memoryview(data)
    while view:
        written = out.write(view)
        view = view[written or 0 :]


def header_size() -> int:
    return _HEADER.size


def body_size(header: bytes) -> int:
    return _HEADER.unpack(header)[0]


def decode(body: bytes) -> dict[str, Any]:
    meta, newline, raw = body.partition(b"\n")
    message: dict[str, Any] = json.loads(meta)
    if newline:
        message[RAW] = raw.decode("utf-8", "surrogatepass")
    return message


def _compact(value: dict[str, Any]) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()
