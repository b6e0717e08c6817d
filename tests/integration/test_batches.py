"""A consumer stores what one fetch brought as one batch, on a real broker:
no window timer holds a message back, and none is stored alone for want of one."""
import asyncio
import os

from services.bus.runtime import ServiceRunner
from services.bus.settings import bus_settings, store_settings
from services.statistics.spec import SPEC
from tests.integration.test_statistics import Workload, produce, until


def test_a_fetchs_messages_are_stored_together_without_a_window(bus, tmp_path):
    env = {**os.environ, "TOUSU_DATA_DIR": str(tmp_path)}
    settings = bus_settings(bus.bootstrap_servers)
    assert settings.batch_within_s == 0, "a hop waits for its batch window"
    messages = Workload(40, seed=5).messages()

    async def scenario():
        await produce(bus.bootstrap_servers, messages)
        runner = ServiceRunner(SPEC, settings, store_settings(env))
        sizes = []
        process = runner.process
        runner.process = lambda batch: (sizes.append(len(batch)), process(batch))[1]
        await runner.start()
        try:
            await until(lambda: runner.processed.handled + runner.processed.skipped >= len(messages), 60,
                        "every message stored", 0.05)
        finally:
            await runner.stop()
        return sizes

    sizes = asyncio.run(scenario())
    assert sum(sizes) == len(messages)
    # Everything was on the broker before the first fetch: a handful of
    # fetches, one batch each (a partition's share may come a fetch later).
    assert len(sizes) <= len(messages) // 10, f"{len(messages)} messages stored in batches of {sizes}"
