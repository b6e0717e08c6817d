"""The walking skeleton on the real embedded broker, each service its own process,
one system for the module. A wiped broker and a tampered audit log are in
test_republish_and_audit.py.

A complaint is "decided" when routing stores one decision for it; a subscriber
sees that as one distinct event id on `complaints.decisions` (a republish may
deliver it twice, never as a second decision)."""
from __future__ import annotations

import asyncio
import random
import uuid

from aiokafka import AIOKafkaProducer
import pytest

from services.bus.codec import default_codec
from services.bus.reader import read_all_sync
from tests import factories
from tests.harness import assert_exactly_once, decided_and_mediated, post_all, settled, wait_until

pytestmark = pytest.mark.slow


# Enough that routing is killed with hundreds posted and hundreds still to come.
COUNT = 1000


def test_a_thousand_complaints_each_decided_once_and_mediated_once_with_routing_killed_midstream(system, broker):
    bus = broker
    rng = random.Random(2000)
    bodies = [factories.varied(i, rng) for i in range(COUNT)]
    killed = False

    async def kill_routing_midway(done: int):
        nonlocal killed
        if done == COUNT * 2 // 5 and not killed:
            killed = True
            system.workers["routing"].kill()
            system.restart("routing")

    ids = asyncio.run(post_all(system.url, bodies, on_progress=kill_routing_midway))
    assert killed and len(set(ids)) == COUNT

    def all_decided():
        _, mediation, decided = decided_and_mediated(bus.bootstrap_servers, ids)
        accepted = sum(1 for cid in ids if mediation[cid]["MediationOpened"])
        return len(decided) == COUNT and accepted >= 1 and decided
    wait_until(all_decided, 240, interval=2, message="every complaint decided")
    # Whatever is still in flight settles; then exactly once, none missing.
    wait_until(lambda: settled(bus.bootstrap_servers, ids), 120, interval=2, message="mediation caught up")
    assert_exactly_once(bus.bootstrap_servers, ids)

    decisions, _, _ = decided_and_mediated(bus.bootstrap_servers, ids)
    kinds = {t for cid in ids for t in decisions[cid] if decisions[cid][t]}
    assert {"ComplaintAccepted", "ComplaintRejected", "ComplaintReferred"} <= kinds

    verify = system.cli("audit", "verify", check=False)
    assert verify.returncode == 0, verify.stderr


def test_random_bytes_become_dead_letters_and_valid_complaints_around_them_are_decided(system, broker):
    bus = broker
    rng = random.Random(100)
    garbage = [bytes(rng.randrange(256) for _ in range(rng.randrange(1, 200))) for _ in range(100)]

    async def interleave():
        producer = AIOKafkaProducer(bootstrap_servers=bus.bootstrap_servers)
        await producer.start()
        ids = []
        try:
            for i in range(10):
                ids += await post_all(system.url, [factories.complaint(1000 + i)], concurrency=1)
                for blob in garbage[i * 10:(i + 1) * 10]:
                    await producer.send_and_wait("complaints.received", blob, key=str(uuid.uuid4()).encode())
        finally:
            await producer.stop()
        return ids

    ids = asyncio.run(interleave())
    codec = default_codec()

    def letters():
        records = [codec.decode(m.value)[1] for m in read_all_sync(bus.bootstrap_servers, "deadletter")]
        by_service = {}
        for r in records:
            by_service.setdefault(r["service"], set()).add(r["event_id"])
        return by_service
    found = wait_until(lambda: (l := letters()).get("routing") and len(l["routing"]) >= 100 and l, 90,
                       message="100 dead letters from routing")
    assert len(found["routing"]) == 100
    originals = {codec.decode(m.value)[1]["original"] for m in read_all_sync(bus.bootstrap_servers, "deadletter")}
    assert originals == set(garbage)
    wait_until(lambda: len(decided_and_mediated(bus.bootstrap_servers, ids)[2]) == 10, 60,
               message="the valid complaints decided")
