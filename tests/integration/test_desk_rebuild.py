"""The desk rebuilt from the topics on the real broker, on SQLite and
PostgreSQL: the same listings as the desk that read them live, and the
journal of who did what kept."""
from __future__ import annotations

import asyncio
from datetime import timedelta

from aiokafka import AIOKafkaProducer

from services.auth import Principal
from services.bus.broker import create_topics
from services.bus.settings import store_settings
from services.desk import queries
from services.desk.application import Desk
from services.desk.rebuild import rebuild
from tests.desk_feed import START, Feed, feed

SHANGHAI = "AMR-310000"


async def produce(bootstrap: str, messages) -> None:
    await create_topics(bootstrap)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5, enable_idempotence=False)
    await producer.start()
    try:
        for m in messages:
            await producer.send_and_wait(m.topic, m.value, key=m.key, headers=list(m.headers.items()))
    finally:
        await producer.stop()


def listing(desk) -> list[dict]:
    return queries.complaints(desk, Principal(SHANGHAI, "SUPERVISOR"), {}, "deadline", None, 1000).items


def test_a_rebuild_from_the_topics_lists_what_the_live_desk_listed(bus, store_env):
    f = Feed()
    messages = [m for i in range(40) for m in f.complaint(f"c{i:02d}", ("AMR-310115", "AMR-310104")[i % 2],
                                                          START + timedelta(hours=i), seed=i)]
    messages.append(f.message("MediationAgreed", complaint_id="c07", amount_recovered_fen=300))
    messages.append(f.message("ComplaintReferred", complaint_id="c08", from_agency_id="AMR-310104",
                              to_agency_id="CA-310000"))
    asyncio.run(produce(bus.bootstrap_servers, messages))
    live = Desk(env=store_settings(store_env).for_service("desk"))
    feed(live, messages)
    before = listing(live)
    live.journal.record(Principal("AMR-310115", "CASE_WORKER", "李明"), "POST", "/complaints/c07/mediation/agreement", 200)
    live.close()

    assert rebuild(bus.bootstrap_servers, {**store_env, "KAFKA_BOOTSTRAP_SERVERS": bus.bootstrap_servers}) == len(messages)
    rebuilt = Desk(env=store_settings(store_env).for_service("desk"))
    assert listing(rebuilt) == before
    assert [a["person"] for a in rebuilt.journal.of("c07")] == ["李明"]
    rebuilt.close()
