"""Waiting on a Kafka client for at most so long.

asyncio.wait_for cancels what it waits on and then waits for it to end; a
client call that swallows the cancellation while it retries a broker that is
gone never ends, and wait_for with it. Here the call is left to itself instead."""
from __future__ import annotations

import asyncio


class TookTooLong(TimeoutError):
    pass


async def within(seconds: float, awaitable):
    task = asyncio.ensure_future(awaitable)
    done, _ = await asyncio.wait({task}, timeout=seconds)
    if not done:
        task.cancel()
        # Retrieved when it ends, so no "exception never retrieved" at teardown.
        task.add_done_callback(lambda t: t.cancelled() or t.exception())
        raise TookTooLong(f"no answer within {seconds:g}s")
    if task.cancelled():
        # Cancelled from inside the client (closing under it), not by our caller.
        raise TookTooLong("the call was cancelled by the client")
    return task.result()
