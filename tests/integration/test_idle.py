"""An idle worker leaves its store and the broker alone, on a real broker:
the relay's kept broker probe stops fetching between looks."""
import asyncio
from aiokafka import AIOKafkaProducer

from services.bus.consumed import fingerprint
from services.bus.relay import BrokerWatch


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
