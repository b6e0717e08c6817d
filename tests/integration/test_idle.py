"""An idle worker leaves its store and the broker alone, on a real broker:
work that follows the log (the desk's tables) runs once something was stored,
not on a clock, and the relay's kept broker probe stops fetching between looks."""
import asyncio
import os
import time

from aiokafka import AIOKafkaProducer

from services.bus.consumed import fingerprint
from services.bus.relay import BrokerWatch
from services.bus.runtime import ServiceRunner
from services.bus.settings import bus_settings, store_settings
from services.desk.spec import SPEC
from tests.integration.test_statistics import Workload, produce, until


def test_the_desk_projects_its_tables_after_what_it_stores_and_not_while_idle(bus, tmp_path):
    env = {**os.environ, "TOUSU_DATA_DIR": str(tmp_path)}

    async def scenario():
        runner = ServiceRunner(SPEC, bus_settings(bus.bootstrap_servers), store_settings(env))
        refreshes = []
        refresh = runner.app.refresh
        runner.app.refresh = lambda: (refreshes.append(time.monotonic()), refresh())[1]
        await runner.start()
        try:
            await asyncio.sleep(1.5)
            assert refreshes == [], "the tables were projected with nothing stored"
            await produce(bus.bootstrap_servers, Workload(5, seed=11).messages())
            await until(lambda: runner.processed.handled > 0, 30, "the desk storing what it read", 0.05)
            await until(lambda: refreshes, 3, "the tables projected after the store", 0.05)
            await asyncio.sleep(1.5)  # everything sent was read well before now
            settled = len(refreshes)
            await asyncio.sleep(1.5)
            assert len(refreshes) == settled, "the tables were projected again with nothing new stored"
        finally:
            await runner.stop()

    asyncio.run(scenario())


def test_the_relays_broker_probe_fetches_nothing_between_its_looks(bus):
    async def scenario():
        producer = AIOKafkaProducer(bootstrap_servers=bus.bootstrap_servers, enable_idempotence=False)
        await producer.start()
        try:
            value = b"an audit record"
            sent = await producer.send_and_wait("audit.log", value, key=b"routing")
        finally:
            await producer.stop()
        watch = BrokerWatch("routing", bus.bootstrap_servers)
        tp = ("audit.log", sent.partition)
        try:
            # audit.log has several writers, so the look reads the message at the floor.
            assert await watch.lost({tp: sent.offset}, {tp: fingerprint(value)}) is None
            probe = watch._probe
            assert probe.assignment(), "the look read the floor's message"
            assert probe.paused() == probe.assignment()
            await asyncio.sleep(0.5)
            assert not probe._fetcher._in_flight and not probe._fetcher._records, "it fetched after the look"
            # And the next look finds its message again.
            assert await watch.lost({tp: sent.offset}, {tp: fingerprint(b"another record")}) is not None
        finally:
            await watch.close()

    asyncio.run(scenario())
