"""Frames between host and worker carry every message as sent, the context unescaped."""

from __future__ import annotations

import io
import json
from typing import Any

from devhost import wire


def _round_trip(message: dict) -> dict:
    frame = wire.encode(message)
    assert wire.body_size(frame[: wire.header_size()]) == len(frame) - wire.header_size()
    return wire.decode(frame[wire.header_size() :])


def test_a_context_travels_as_its_own_json_text_and_comes_back_the_same() -> None:
    context = json.dumps({"history": [{"Input": 'line\nbreak "quoted" ünï \U0001f600'}]})
    message = {"op": "orchestrate", "name": "chain", "context": context, "id": 7}

    frame = wire.encode(message)

    assert context.encode() in frame  # not escaped a second time
    assert _round_trip(message) == message


def test_messages_without_a_text_context_and_odd_text_round_trip() -> None:
    odd = "\ud800 lone surrogate, newline\n, nul \x00"
    for message in (
        {"id": 3, "ok": True, "result": '"Hello\\nTokyo"'},
        {"id": 4, "context": None, "input": odd},
        {"id": 5, "context": odd},
    ):
        assert _round_trip(message) == message


class _ShortWritesPipe(io.RawIOBase):
    """Stands in for a pipe whose raw writes take only part of their bytes each time, as a
    write interrupted by a signal (or a debugger's ptrace stop) does."""

    def __init__(self, most: int) -> None:
        self.most = most
        self.taken = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        chunk = bytes(data[: self.most])
        self.taken += chunk
        return len(chunk)


def test_frames_written_through_short_writes_arrive_whole_and_in_order() -> None:
    frames = b"".join(wire.encode({"id": i, "ok": True, "result": "x" * 300}) for i in (1, 2))
    pipe = _ShortWritesPipe(most=100)

    wire.write_all(pipe, frames)

    assert bytes(pipe.taken) == frames
