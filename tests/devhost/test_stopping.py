"""A host stops whatever its loops were doing at the moment the stop came."""

from __future__ import annotations

import asyncio

from devhost.clock import Clock
from devhost.durable_timers import DurableTimers


async def _timers_woken_and_cancelled_in_one_tick() -> asyncio.Task[None]:
    timers = DurableTimers(
        Clock(), schedule=lambda _: None, idle=lambda: False, time_skipping=False
    )
    timers.add(Clock().now() + 3600, "later")
    task = asyncio.create_task(timers.loop())
    await asyncio.sleep(0.01)  # the loop now waits for its wake event
    timers.add(Clock().now() + 7200, "even-later")  # sets the wake event...
    task.cancel()  # ...and the cancellation arrives in the same tick
    done, _ = await asyncio.wait({task}, timeout=2)
    if not done:
        timers.stop()
        await task
    return task


def test_a_durable_timer_loop_cancelled_as_it_is_woken_still_ends() -> None:
    # asyncio.wait_for on Python 3.11 swallowed such a cancellation and the loop ran on, so the
    # host's stop() waited for it forever and a test stack leaked its sockets.
    task = asyncio.run(_timers_woken_and_cancelled_in_one_tick())

    assert task.cancelled()
