"""A worker whose frames cannot be read is treated as a dead one, never left hanging."""

from __future__ import annotations

import asyncio
import sys

import pytest

from devhost.workers import WorkerError, _WorkerProcess

# Answers start-up, then sends a frame whose body is not UTF-8 JSON (a frame split by a short
# write looks like this: another frame's header lands inside the first one's body).
_GARBLED_WORKER = r"""
import struct, sys, time
out = sys.stdout.buffer
ready = b'{"id":0,"ok":true,"functions":[]}'
bad = b'{"id":1,"ok":true,"result":"\xd0\x00\x00\x00o{"}'
out.write(struct.pack("!I", len(ready)) + ready + struct.pack("!I", len(bad)) + bad)
out.flush()
time.sleep(60)
"""


async def _call_a_garbled_worker() -> tuple[_WorkerProcess, BaseException | None]:
    worker = _WorkerProcess(app_dir=".", env={})
    worker.proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        _GARBLED_WORKER,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    worker.ready = asyncio.get_running_loop().create_future()
    pending: asyncio.Future[dict] = asyncio.get_running_loop().create_future()
    worker.pending[1] = pending
    worker.reader_task = asyncio.ensure_future(worker._read())
    await worker.ready
    try:
        await asyncio.wait_for(pending, timeout=10)
    except WorkerError as exc:
        return worker, exc
    return worker, None


def test_a_worker_that_sends_an_unreadable_frame_is_stopped_and_its_calls_fail(
    caplog: pytest.LogCaptureFixture,
) -> None:
    worker, error = asyncio.run(_call_a_garbled_worker())

    assert isinstance(error, WorkerError)  # the pool retries on a fresh worker, as for a crash
    assert not worker.alive
    assert "unreadable frame" in caplog.text
