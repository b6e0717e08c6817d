"""The relay on the real broker: a restart continues the audit chain from the
checkpoint kept beside the event store (SQLite and PostgreSQL) without reading
the log from the first event, and stopping never closes the store under a read."""
from __future__ import annotations

import asyncio
import time

from services.bus import audit
from services.bus.checkpoints import ChainCheckpoint
from services.bus.codec import default_codec
from services.bus.reader import read_all
from services.bus.relay import Relay
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
