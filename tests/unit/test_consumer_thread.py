"""The faust consumer thread told to stop after the event loop that started it
has closed (its stop timed out, and the caller moved on): it finishes stopping
quietly instead of dying on the closed loop."""
import asyncio

import pytest

from services.bus.runtime import _StorePositionedThread


def thread_of(parent_loop):
    thread = object.__new__(_StorePositionedThread)  # only what set_shutdown touches
    thread.parent_loop, thread._shutdown = parent_loop, asyncio.Event()
    return thread


def test_a_thread_whose_parent_loop_closed_first_stops_quietly():
    loop = asyncio.new_event_loop()
    loop.close()
    thread_of(loop).set_shutdown()  # raised RuntimeError('Event loop is closed') in mode's own


def test_a_running_parent_loop_still_hears_that_the_thread_stopped():
    async def scenario():
        thread = thread_of(asyncio.get_running_loop())
        thread.set_shutdown()
        await asyncio.wait_for(thread._shutdown.wait(), 1)
    asyncio.run(scenario())


def test_other_failures_are_not_swallowed():
    class Broken(asyncio.AbstractEventLoop):
        def is_closed(self):
            return False

        def call_soon_threadsafe(self, *args):
            raise RuntimeError("something else")
    with pytest.raises(RuntimeError, match="something else"):
        thread_of(Broken()).set_shutdown()
