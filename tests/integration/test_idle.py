"""An idle worker leaves its store and the broker alone, on a real broker:
work that follows the log (the desk's tables) runs once something was stored,
not on a clock; the relay's kept broker probe stops fetching between looks;
a relay with nothing to send writes its position seldom."""
import asyncio
import os
import time

from aiokafka import AIOKafkaProducer

from services.bus.codec import default_codec
from services.bus.consumed import fingerprint
from services.bus import relay as relay_module
from services.bus.relay import RELAY_TRACKING, BrokerWatch, Relay, republish
from services.bus.runtime import ServiceRunner
from services.bus.settings import bus_settings, store_settings
from services.desk.spec import SPEC
from services.routing.application import Routing
from tests.integration.test_relay import receive
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
            # Before it has written anything, a relay has nothing to lose, and asks nothing.
            assert await watch.lost({}, {}) is None and watch._admin is None and watch._probe is None
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


def test_a_relay_that_sends_nothing_records_its_position_seldom_and_resumes_from_it(bus, tmp_path, monkeypatch):
    """A read model's relay (nothing to publish bar dead letters) read every page
    and wrote its position after each: a store write per batch for nothing."""
    monkeypatch.setattr(relay_module, "RECORD_NOTHING_SECONDS", 60.0)  # however slow the machine
    app = Routing(env=store_settings({"TOUSU_DATA_DIR": str(tmp_path)}).for_service("routing"))
    writes: list[int] = []
    reads: list[int] = []

    def nothing(event, aggregate):
        return []

    async def run_relay(batches: int) -> Relay:
        relay = Relay("routing", app, nothing, default_codec(), bus.bootstrap_servers, audited=False)
        record, notifications = relay._record, relay._notifications
        relay._record = lambda position, *rest: (writes.append(position), record(position, *rest))[1]
        relay._notifications = lambda after, stop=None: (reads.append(after), notifications(after, stop))[1]
        await relay.start()
        try:
            for batch in range(batches):
                receive(app, batch * 10, 10)
                relay.wake()
                newest = app.recorder.max_notification_id()
                await until(lambda: relay.position >= newest, 10, "the relay reading the batch", 0.01)
        finally:
            await relay.stop()
        return relay

    try:
        asyncio.run(run_relay(4))
        assert len(writes) == 1, writes  # after the first page only: the next three sent nothing either
        recorded = app.process_recorder.max_tracking_id(RELAY_TRACKING)
        assert recorded == writes[0] < app.recorder.max_notification_id()
        # A restart reads again from the recorded position, not from the start, and goes on.
        reads.clear()
        restarted = asyncio.run(run_relay(1))
        assert reads[0] == recorded
        assert restarted.position == app.recorder.max_notification_id()
    finally:
        app.close()


def test_a_read_models_relay_reads_only_its_dead_letters_and_still_sends_them(bus, tmp_path):
    """Of the events a read model stores, its relay decodes only the dead
    letters, the one thing it publishes, and still reaches the log's end."""
    from services.statistics.spec import SPEC as STATISTICS
    from services.bus.reader import read_all_sync

    env = {**os.environ, "TOUSU_DATA_DIR": str(tmp_path)}
    garbage = ("complaints.received", b"TS-GARBAGE", b"not avro at all",
               [("event_id", b"garbage-1"), ("source", b"intake"), ("position", b"1")])

    async def scenario():
        runner = ServiceRunner(STATISTICS, bus_settings(bus.bootstrap_servers), store_settings(env))
        decoded = []
        messages_for = runner.relay.messages_for
        runner.relay.messages_for = lambda n, h: (decoded.append(n.topic), messages_for(n, h))[1]
        await runner.start()
        try:
            await produce(bus.bootstrap_servers, [*Workload(5, seed=3).messages(), garbage])
            await until(lambda: runner.processed.dead == 1, 30, "the garbage dead-lettered", 0.05)
            stored = runner.app.recorder.max_notification_id()
            await until(lambda: runner.relay.position >= stored, 10, "the relay at the log's end", 0.05)
            assert stored > 10 and decoded == list(relay_module.DEAD_LETTER_TOPICS)
        finally:
            await runner.stop()

    asyncio.run(scenario())
    codec = default_codec()
    letters = [codec.decode(m.value)[1] for m in read_all_sync(bus.bootstrap_servers, "deadletter")]
    assert [(letter["service"], letter["original"]) for letter in letters] == [("statistics", b"not avro at all")]

    # `tousu republish statistics` sends the same letter again, and, a read
    # model keeping no chain, nothing to audit.log.
    app = STATISTICS.build(env=store_settings(env).for_service("statistics"))
    try:
        count = asyncio.run(republish("statistics", app, STATISTICS.outbound(app), codec, bus.bootstrap_servers,
                                      audited=STATISTICS.audited))
        assert count == 1  # the one dead letter: all a read model publishes
    finally:
        app.close()
    again = [codec.decode(m.value)[1] for m in read_all_sync(bus.bootstrap_servers, "deadletter")]
    assert len(again) == 2 and again[0]["event_id"] == again[1]["event_id"]
    audited = {codec.decode(m.value)[1]["service"] for m in read_all_sync(bus.bootstrap_servers, "audit.log")}
    assert "statistics" not in audited
