"""A forged message cannot silence a partition: one from a service that does not
write the topic is a dead letter; one with a huge position is handled, counted
and logged, and every real message after it still has its effect."""
from __future__ import annotations

import asyncio
import logging
import os
from datetime import datetime, timezone

from aiokafka import AIOKafkaProducer

from services.bus.codec import default_codec
from services.ids import derive_id
from services.routing.domainmodel import Complaint
from services.system import System
from tests.examples import EXAMPLES
from tests.integration.test_exactly_once import until


def received(cid: str, source: str, position: int):
    event_id = str(derive_id(source, position, cid))
    record = dict(EXAMPLES["ComplaintReceived"], complaint_id=cid, event_id=event_id,
                  occurred_at=datetime.now(timezone.utc))
    headers = [("event_id", event_id.encode()), ("event_type", b"ComplaintReceived"),
               ("source", source.encode()), ("position", str(position).encode())]
    return default_codec().encode("ComplaintReceived", record), headers


def test_forged_sources_and_positions_neither_pass_nor_silence(bus, tmp_path, caplog):
    env = {**os.environ, "TOUSU_DATA_DIR": str(tmp_path), "KAFKA_BOOTSTRAP_SERVERS": bus.bootstrap_servers}
    # One key: every message lands on one partition, the forgeries first.
    messages = [received("TS-FORGED-SOURCE", "mediation", 5), received("TS-HUGE-POSITION", "intake", 10 ** 12)]
    messages += [received(f"TS-REAL-{i}", "intake", i) for i in range(1, 21)]

    async def scenario():
        system = System(("routing",), env=env)
        await system.start()
        runner = system.runners["routing"]
        try:
            producer = AIOKafkaProducer(bootstrap_servers=bus.bootstrap_servers)
            await producer.start()
            for value, headers in messages:
                await producer.send_and_wait("complaints.received", value, key=b"one-partition", headers=headers)
            await producer.stop()
            await until(lambda: runner.processed.handled + runner.processed.dead >= 22)
            decided = {cid for cid in [f"TS-REAL-{i}" for i in range(1, 21)] + ["TS-HUGE-POSITION", "TS-FORGED-SOURCE"]
                       if runner.app.find(Complaint.create_id(cid)) is not None}
            return runner.processed, decided
        finally:
            await system.stop()

    with caplog.at_level(logging.WARNING):
        processed, decided = asyncio.run(scenario())
    assert "TS-FORGED-SOURCE" not in decided and processed.dead == 1
    assert {f"TS-REAL-{i}" for i in range(1, 21)} <= decided
    assert processed.jumps == 1
    assert any("position jump on intake/complaints.received" in r.getMessage() and "1000000000000" in r.getMessage()
               for r in caplog.records)
