"""The relay on the real broker: a restart continues the audit chain from the
checkpoint kept beside the event store (SQLite and PostgreSQL) without reading
the log from the first event, and stopping never closes the store under a read."""
from __future__ import annotations

import asyncio
import time

import pytest

from services.bus import audit
from services.bus.checkpoints import ChainCheckpoint, PublishedOffsets
from services.bus.codec import default_codec
from services.bus.reader import read_all
from services.bus.relay import NotLeading, Relay
from services.bus.settings import store_settings
from services.bus.store import UnitOfWork
from services.routing.application import Routing
from services.routing.integration import integration_events
from tests.examples import EXAMPLES


def receive(app: Routing, first: int, count: int) -> None:
    uow = UnitOfWork(app)
    for i in range(first, first + count):
        app.receive(uow, dict(EXAMPLES["ComplaintReceived"], complaint_id=f"TS-CP-{i}", prior_handling=[],
                              preferred_agency_id=None))
    uow.commit()


async def relay_until_caught_up(app: Routing, bootstrap: str, reads: list[int] | None = None) -> Relay:
    relay = Relay("routing", app, integration_events, default_codec(), bootstrap)
    if reads is not None:
        notifications = relay._notifications
        relay._notifications = lambda after, stop=None: (reads.append(after), notifications(after, stop))[1]
    await relay.start()
    newest = app.recorder.max_notification_id()
    deadline = time.monotonic() + 30
    while relay.position < newest:
        assert time.monotonic() < deadline, "the relay did not catch up"
        await asyncio.sleep(0.05)
    await relay.stop()
    return relay


async def audit_records(bootstrap: str) -> list[dict]:
    codec = default_codec()
    return [codec.decode(m.value)[1] for m in await read_all(bootstrap, "audit.log")]


def test_a_restarted_relay_continues_the_chain_from_its_checkpoint(bus, store_env):
    env = store_settings({**store_env}).for_service("routing")
    app = Routing(env=env)
    try:
        receive(app, 0, 40)
        first = asyncio.run(relay_until_caught_up(app, bus.bootstrap_servers))
        kept = ChainCheckpoint(app).load()
        assert kept == (first.position, first.last_hash)
        records = asyncio.run(audit_records(bus.bootstrap_servers))
        assert records[-1]["seq"] == first.position and records[-1]["hash"] == first.last_hash

        receive(app, 40, 10)
        reads: list[int] = []
        second = asyncio.run(relay_until_caught_up(app, bus.bootstrap_servers, reads))
        assert min(reads) >= kept[0], "the restart read the log from before its checkpoint"
        records = asyncio.run(audit_records(bus.bootstrap_servers))
        verdict = audit.verify(records)
        assert verdict.ok, verdict.problem
        assert verdict.chains["routing"].last_hash == second.last_hash
        assert ChainCheckpoint(app).load() == (second.position, second.last_hash)
    finally:
        app.close()


def test_stopping_waits_for_a_store_read_in_flight_before_the_store_closes(bus, tmp_path):
    """Cancelling the relay does not stop a read already running in its thread;
    closing the store under it crashed the process."""
    from services.bus.runtime import ServiceRunner
    from services.bus.settings import bus_settings
    from services.system import spec

    runner = ServiceRunner(spec("routing"), bus_settings(bus.bootstrap_servers),
                           store_settings({"TOUSU_DATA_DIR": str(tmp_path)}))
    order: list[str] = []
    reading = __import__("threading").Event()

    def slow_read(after, stop=None):
        reading.set()
        time.sleep(0.5)
        order.append("read done")
        return []

    close = runner.app.close
    runner.app.close = lambda: (order.append("store closed"), close())[1]

    async def scenario():
        await runner.open()
        runner.relay._notifications = slow_read
        runner.relay.wake()
        while not reading.is_set():
            await asyncio.sleep(0.01)
        await runner.stop()

    asyncio.run(scenario())
    assert order[-2:] == ["read done", "store closed"]


def test_a_relay_restores_once_when_the_audit_log_it_saw_auto_created_is_repaired_to_one_partition(bus, tmp_path):
    """A broker that lost its data auto-creates the audit log with 4 partitions
    for whichever client asks first; a restoring relay deletes it and creates it
    with one. A producer that kept the 4-partition metadata wrote mediation's
    audit records to a partition the topic no longer has (the broker took them),
    saw that partition gone, restored again, and so on every second."""
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic

    from services.bus.runtime import ServiceRunner
    from services.bus.settings import bus_settings
    from services.system import spec
    from tests.inbound import deliver

    runner = ServiceRunner(spec("mediation"), bus_settings(bus.bootstrap_servers),
                           store_settings({"TOUSU_DATA_DIR": str(tmp_path)}))
    relay = runner.relay

    def accept(first: int, count: int) -> None:
        deliver(runner.app, "mediation", *[("ComplaintAccepted", dict(EXAMPLES["ComplaintAccepted"],
                                                                      complaint_id=f"TS-AC-{i}"))
                                           for i in range(first, first + count)])
        relay.wake()

    async def until(predicate, message):
        deadline = time.monotonic() + 30
        while not predicate():
            assert time.monotonic() < deadline, message
            await asyncio.sleep(0.05)

    async def scenario():
        await runner.open()
        try:
            accept(0, 5)
            newest = runner.app.recorder.max_notification_id()
            await until(lambda: relay.position >= newest, "published")
            # Held while the broker loses everything and a client asking for the audit log has it
            # made with 4 partitions, of which this relay's producer learns.
            relay._task.cancel()
            await asyncio.gather(relay._task, return_exceptions=True)
            await asyncio.to_thread(bus.wipe)
            admin = AIOKafkaAdminClient(bootstrap_servers=bus.bootstrap_servers)
            await admin.start()
            await admin.delete_topics(["audit.log"])
            await asyncio.sleep(0.5)
            await admin.create_topics([NewTopic("audit.log", 4, 1)])
            await admin.close()
            await relay.producer.client.force_metadata_update()
            assert len(relay.producer.client.cluster.partitions_for_topic("audit.log")) == 4
            accept(5, 3)
            relay._lost = await relay.watch.lost(relay.floors, relay.prints)
            assert relay._lost, "the broker lost what the relay wrote"
            relay._task = asyncio.create_task(relay._run())
            newest = runner.app.recorder.max_notification_id()
            await until(lambda: relay.restorations >= 1 and relay.restoring_to is None and relay.position >= newest,
                        "restored")
            await asyncio.sleep(3)  # a relay that found its log gone again would be restoring by now
            assert relay.restorations == 1
            return newest
        finally:
            await runner.stop()

    stored = asyncio.run(scenario())
    records = asyncio.run(audit_records(bus.bootstrap_servers))
    verdict = audit.verify(records)
    assert verdict.ok, verdict.problem
    assert verdict.chains["mediation"].records == stored


def test_an_idle_relay_reads_its_store_only_when_woken_and_publishes_a_woken_write_at_once(bus, tmp_path):
    app = Routing(env=store_settings({"TOUSU_DATA_DIR": str(tmp_path)}).for_service("routing"))
    reads: list[int] = []

    async def scenario():
        relay = Relay("routing", app, integration_events, default_codec(), bus.bootstrap_servers)
        notifications = relay._notifications
        relay._notifications = lambda after, stop=None: (reads.append(after), notifications(after, stop))[1]
        await relay.start()
        try:
            await asyncio.sleep(1.5)
            idle_reads = len(reads)
            receive(app, 0, 1)
            woken = time.monotonic()
            relay.wake()  # as every writer of this process does after its commit
            while relay.position < app.recorder.max_notification_id():
                assert time.monotonic() - woken < 1, "a woken relay waited"
                await asyncio.sleep(0.01)
            return idle_reads
        finally:
            await relay.stop()

    try:
        idle_reads = asyncio.run(scenario())
    finally:
        app.close()
    # Once at start, found nothing; no more in 1.5 idle seconds (it was once every half second).
    assert idle_reads == 1, reads


def test_a_page_is_recorded_in_one_commit_and_a_position_another_leader_passed_stores_nothing(tmp_path):
    app = Routing(env=store_settings({"TOUSU_DATA_DIR": str(tmp_path)}).for_service("routing"))
    try:
        datastore, commits = app.recorder.datastore, []
        transaction = datastore.transaction
        datastore.transaction = lambda *, commit: (commits.append(commit), transaction(commit=commit))[1]
        floor = {("audit.log", 0): 3}
        Relay("routing", app, integration_events, default_codec(), "127.0.0.1:9")._record(
            5, "hash-at-5", floor, {("audit.log", 0): "print-at-3"})
        # The position, the floors and the chain's checkpoint: one commit (one fsync on SQLite).
        assert commits.count(True) == 1, commits
        assert app.process_recorder.max_tracking_id("relay") == 5
        assert ChainCheckpoint(app).load() == (5, "hash-at-5")
        assert PublishedOffsets(app).load() == (floor, {("audit.log", 0): "print-at-3"})

        # A worker that did not know the lead had moved on: it stores none of the three.
        late = Relay("routing", app, integration_events, default_codec(), "127.0.0.1:9")
        with pytest.raises(NotLeading):
            late._record(4, "hash-at-4", {("audit.log", 0): 2}, {("audit.log", 0): "print-at-2"})
        assert app.process_recorder.max_tracking_id("relay") == 5
        assert ChainCheckpoint(app).load() == (5, "hash-at-5")
        assert PublishedOffsets(app).load() == (floor, {("audit.log", 0): "print-at-3"})
    finally:
        app.close()


def test_a_leader_dying_while_it_restores_the_history_leaves_the_rest_to_the_next_one(bus, store_env):
    """The broker lost the history; the relay restoring it published a page
    and died. The next one (another worker, or this one started again) takes
    the restoration up where it stood: nothing of the history stays missing."""
    from services.bus.broker import create_topics

    env = store_settings({**store_env}).for_service("routing")
    app = Routing(env=env)
    try:
        receive(app, 0, 300)  # 600 events: more than a page
        newest = app.recorder.max_notification_id()
        asyncio.run(relay_until_caught_up(app, bus.bootstrap_servers))
        bus.wipe()

        async def restore_one_page_and_die():
            relay = Relay("routing", app, integration_events, default_codec(), bus.bootstrap_servers)
            await relay.start_producer()
            await create_topics(bus.bootstrap_servers)
            await relay._lead()
            assert relay._lost, "the broker lost what the relay wrote"
            await relay._restore(relay._lost)
            count, position, _ = await relay.publish(0, record_position=True, prev_hash=relay.last_hash)
            assert 0 < position < newest
            await relay.producer.stop()  # and nothing more: it is gone
        asyncio.run(restore_one_page_and_die())
        assert ChainCheckpoint(app, name="restoring").load()[0] > 0

        asyncio.run(relay_until_caught_up(app, bus.bootstrap_servers))
        assert ChainCheckpoint(app, name="restoring").load() is None, "the restoration is over"
        codec = default_codec()
        decided = {codec.decode(m.value)[1]["complaint_id"]
                   for m in asyncio.run(read_all(bus.bootstrap_servers, "complaints.decisions"))}
        assert decided == {f"TS-CP-{i}" for i in range(300)}
        verdict = audit.verify(asyncio.run(audit_records(bus.bootstrap_servers)))
        assert verdict.ok and verdict.chains["routing"].records == newest, verdict.problem
    finally:
        app.close()


def test_a_restoration_that_came_through_leaves_nothing_to_take_up(bus, store_env):
    # Its last page unrecorded (a relay whose page sent nothing): the next leader clears it, republishing nothing.
    env = store_settings({**store_env}).for_service("routing")
    app = Routing(env=env)
    try:
        receive(app, 0, 5)
        done = asyncio.run(relay_until_caught_up(app, bus.bootstrap_servers))
        ChainCheckpoint(app, name="restoring").save(done.position, done.last_hash)
        reads: list[int] = []
        again = asyncio.run(relay_until_caught_up(app, bus.bootstrap_servers, reads))
        assert ChainCheckpoint(app, name="restoring").load() is None
        assert again.restoring_to is None and all(after >= done.position for after in reads)
    finally:
        app.close()


async def failing_relay(app: Routing, outbound, bootstrap: str) -> Relay:
    """A relay started with `outbound`, once it has failed and gone on trying a while."""
    relay = Relay("routing", app, outbound, default_codec(), bootstrap)
    await relay.start()
    deadline = time.monotonic() + 30
    while relay.failing_since is None:
        assert time.monotonic() < deadline, "the relay never failed"
        await asyncio.sleep(0.05)
    await asyncio.sleep(1.0)
    return relay


def test_an_event_no_broker_takes_stops_publishing_loudly_and_readiness_says_so(bus, tmp_path, caplog,
                                                                                 monkeypatch):
    """Such an event (one that cannot be encoded, or too large) is not skipped:
    it stays stored and the stream waits for it, but an operator must hear of
    it at once, and /readyz must not go on saying ready."""
    import types

    from services import observability

    app = Routing(env={"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(tmp_path / "r.sqlite")})

    def outbound(event, aggregate):
        if getattr(aggregate, "complaint_id", None) == "TS-CP-1":
            raise OverflowError("Python int too large to convert to C long")  # as the Avro encoder says it
        return integration_events(event, aggregate)

    async def run() -> Relay:
        relay = await failing_relay(app, outbound, bus.bootstrap_servers)
        monkeypatch.setattr(observability, "STALLED_SECONDS", 0.0)
        said = observability._publishing_ok(types.SimpleNamespace(relay=relay))
        await relay.stop()
        # A worker that does not lead (any more) publishes nothing, and is not to blame.
        assert not relay.leading and observability._publishing_ok(types.SimpleNamespace(relay=relay)) == "ok"
        return relay, said

    try:
        receive(app, 0, 3)
        stuck = next(n.id for n in app.recorder.select_notifications(0, 100)
                     if b"TS-CP-1" in n.state)
        with caplog.at_level("ERROR", logger="services.bus.relay"):
            relay, said = asyncio.run(run())
        assert relay.position == stuck - 1  # all before it published, nothing after
        assert f"the event stored at position {stuck}: OverflowError" in caplog.text
        assert "cannot be published" in caplog.text
        assert said.startswith("nothing published for") and "OverflowError" in said
    finally:
        app.close()


def test_an_event_larger_than_the_broker_takes_is_named_and_what_is_before_it_goes_out(bus, tmp_path, caplog):
    """Found before any of its page is sent: refused by the producer with the
    page half queued, every retry sent that half again, for ever."""
    from services.bus.messages import Outgoing
    from services.routing.integration import integration_events as routing_events

    app = Routing(env={"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(tmp_path / "r.sqlite")})

    def outbound(event, aggregate):
        out = routing_events(event, aggregate)
        if getattr(aggregate, "complaint_id", None) == "TS-CP-1":
            out.append(Outgoing("deadletter", "TS-CP-1", "DeadLetter", {
                "complaint_id": "TS-CP-1", "service": "routing", "topic": "complaints.received", "partition": 0,
                "offset": 1, "error": "too large", "key": None, "original": b"x" * (3 * 1024 * 1024)}))
        return out

    async def run():
        relay = await failing_relay(app, outbound, bus.bootstrap_servers)
        await relay.stop()
        return relay

    try:
        receive(app, 0, 3)
        with caplog.at_level("ERROR", logger="services.bus.relay"):
            relay = asyncio.run(run())
        assert "larger than the broker takes" in caplog.text and "cannot be published" in caplog.text
        records = asyncio.run(audit_records(bus.bootstrap_servers))
        assert [r["seq"] for r in records if r["service"] == "routing"] == list(range(1, relay.position + 1))
    finally:
        app.close()
