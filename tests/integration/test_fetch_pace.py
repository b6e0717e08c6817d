"""A running consumer asks the broker with the short wait while messages come,
a longer one after a pause and the long one once idle: the wiring of FetchPace into the
consumer the services run (faust's aiokafka consumer), on a real broker. The
statistics are read a moment later by people: their short wait is the unhurried one."""
import asyncio
import dataclasses
import os
import time

from services.bus.runtime import ServiceRunner
from services.bus.settings import bus_settings, store_settings
from services.statistics.spec import SPEC
from tests.integration.test_statistics import Workload, caught_up, produce


def test_a_consumer_fetches_with_the_short_wait_while_messages_come_then_slows_down(bus, tmp_path):
    settings = dataclasses.replace(bus_settings(bus.bootstrap_servers), fetch_max_wait_ms=7,
                                   unhurried_fetch_max_wait_ms=9, fetch_quiet_wait_ms=300,
                                   fetch_quiet_after_s=1.0, fetch_idle_wait_ms=900, fetch_idle_after_s=2.5)
    env = {**os.environ, "TOUSU_DATA_DIR": str(tmp_path)}

    async def scenario():
        runner = ServiceRunner(SPEC, settings, store_settings(env))
        await runner.start()
        try:
            fetcher = runner.faust_app.consumer._thread._consumer._fetcher
            waits = []

            async def watch(seconds):
                deadline = time.monotonic() + seconds
                while time.monotonic() < deadline:
                    waits.append(fetcher._fetch_max_wait_ms)
                    await asyncio.sleep(0.05)
            await watch(1.0)
            assert set(waits) == {900}, "idle from the start"
            waits.clear()
            tracked = await produce(bus.bootstrap_servers, Workload(50, seed=3).messages())
            while not caught_up(runner.app, tracked):
                waits.append(fetcher._fetch_max_wait_ms)
                await asyncio.sleep(0.05)
            # It stays short for a second after the last records, so a look now sees it too.
            waits.append(fetcher._fetch_max_wait_ms)
            assert 9 in waits and 7 not in waits, waits
            waits.clear()
            await watch(4.0)
            assert waits[-1] == 900 and 300 in waits, waits
            assert waits.index(300) < waits.index(900) and 9 not in waits[waits.index(300):], waits
        finally:
            await runner.stop()

    asyncio.run(scenario())
