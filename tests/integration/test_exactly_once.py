"""Exactly-once consumption on the real broker, against SQLite and PostgreSQL:
redelivered and republished messages change nothing."""
from __future__ import annotations

import asyncio
import os
import time
from datetime import datetime, timedelta, timezone

from aiokafka import AIOKafkaProducer
import pytest

from services.bus.codec import default_codec
from services.bus.reader import read_all
from services.intake.application import ComplaintNotFound
from services.mediation.domainmodel import MediationCase
from services.system import System
from tests.examples import EXAMPLES

pytestmark = pytest.mark.slow


def accepted(cid: str, position: int) -> tuple[bytes, list]:
    now = datetime.now(timezone.utc)
    record = dict(EXAMPLES["ComplaintAccepted"], complaint_id=cid, event_id=f"e-{cid}", occurred_at=now,
                  decided_at=now, decision_due=now + timedelta(days=9))
    headers = [("event_id", f"e-{cid}".encode()), ("event_type", b"ComplaintAccepted"),
               ("source", b"routing"), ("position", str(position).encode())]
    return default_codec().encode("ComplaintAccepted", record), headers


async def send(bootstrap, messages):
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        for cid, (value, headers) in messages:
            await producer.send_and_wait("complaints.decisions", value, key=cid.encode(), headers=headers)
    finally:
        await producer.stop()


async def until(predicate, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        await asyncio.sleep(0.2)
    raise AssertionError("timed out")


def in_mediation(intake, cid: str) -> bool:
    try:
        return intake.status(cid)["status"] == "IN_MEDIATION"
    except ComplaintNotFound:
        return False  # intake reads the same topics on its own, and may not have come to this one yet


def opened(app) -> int:
    from eventsourcing.utils import get_topic
    return len(app.recorder.select_notifications(0, 100_000, topics=[get_topic(MediationCase.Opened)],
                                                 inclusive_of_start=False))


def test_redelivery_and_republish_have_one_effect(bus, store_env):
    ids = [f"TS-IT-{i:04d}" for i in range(1, 41)]
    messages = [(cid, accepted(cid, position)) for position, cid in enumerate(ids, start=1)]

    async def scenario():
        system = System(("intake", "mediation"), env={**os.environ, **store_env,
                                                      "KAFKA_BOOTSTRAP_SERVERS": bus.bootstrap_servers})
        await system.start()
        mediation, intake = system.runners["mediation"].app, system.runners["intake"].app
        try:
            await send(bus.bootstrap_servers, messages)
            await until(lambda: opened(mediation) == 40)
            # The same messages again (a producer retry, a republish) and an older position.
            await send(bus.bootstrap_servers, messages + [messages[3]])
            await until(lambda: system.runners["mediation"].processed.skipped >= 41)
            assert opened(mediation) == 40
            await until(lambda: all(in_mediation(intake, cid) for cid in ids))
            assert intake.status(ids[0])["agency_id"] == "AMR-310115"
            assert intake.status(ids[0])["mediation_due"] is not None
            await until(lambda: system.runners["mediation"].relay.position >= 40)
        finally:
            await system.stop()
        mediation_events = await read_all(bus.bootstrap_servers, "mediation.events")
        opened_events = {default_codec().decode(m.value)[1]["complaint_id"] for m in mediation_events}
        assert opened_events == set(ids) and len(mediation_events) == 40

    asyncio.run(scenario())


def test_a_restart_resumes_from_the_stored_positions(bus, store_env):
    env = {**os.environ, **store_env, "KAFKA_BOOTSTRAP_SERVERS": bus.bootstrap_servers}
    first = [(f"TS-R-{i}", accepted(f"TS-R-{i}", i)) for i in range(1, 21)]
    second = [(f"TS-R-{i}", accepted(f"TS-R-{i}", i)) for i in range(21, 31)]

    async def run(messages, expected):
        system = System(("mediation",), env=env)
        await system.start()
        try:
            await send(bus.bootstrap_servers, messages)
            await until(lambda: opened(system.runners["mediation"].app) == expected)
            await until(lambda: system.runners["mediation"].relay.position >= expected)
        finally:
            await system.stop()

    asyncio.run(run(first, 20))
    asyncio.run(run(first + second, 30))
    events = asyncio.run(read_all(bus.bootstrap_servers, "mediation.events"))
    assert len(events) == 30
