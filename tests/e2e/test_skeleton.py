"""The walking skeleton on the real embedded broker, each service its own process.

A complaint is "decided" when routing stores one decision for it; a subscriber
sees that as one distinct event id on `complaints.decisions` (a republish may
deliver it twice, never as a second decision)."""
from __future__ import annotations

import asyncio
import random
import uuid

import httpx
import pytest
from aiokafka import AIOKafkaProducer

from services.bus.codec import default_codec
from services.bus.reader import read_all_sync
from tests import factories
from tests.harness import DECISIONS, Processes, distinct_events, post_all, wait_until


@pytest.fixture
def system(bus, tmp_path):
    processes = Processes(bus.bootstrap_servers, tmp_path / "data").start()
    yield processes
    processes.stop()


def decided_and_mediated(bootstrap: str, ids: list[str]):
    decisions = distinct_events(bootstrap, "complaints.decisions")
    mediation = distinct_events(bootstrap, "mediation.events")
    decided = {cid for cid in ids if sum(decisions[cid][t] for t in DECISIONS) >= 1}
    return decisions, mediation, decided


def assert_exactly_once(bootstrap: str, ids: list[str]) -> None:
    decisions, mediation, decided = decided_and_mediated(bootstrap, ids)
    for cid in ids:
        counts = decisions[cid]
        assert sum(counts[t] for t in DECISIONS) == 1, (cid, counts)
        accepted = counts["ComplaintAccepted"]
        assert mediation[cid]["MediationOpened"] == accepted, (cid, counts, mediation[cid])


def test_2000_complaints_each_decided_once_and_mediated_once_with_routing_killed_midstream(system, bus):
    rng = random.Random(2000)
    bodies = [factories.varied(i, rng) for i in range(2000)]
    killed = False

    async def kill_routing_midway(done: int):
        nonlocal killed
        if done == 800 and not killed:
            killed = True
            system.workers["routing"].kill()
            system.restart("routing")

    ids = asyncio.run(post_all(system.url, bodies, on_progress=kill_routing_midway))
    assert killed and len(set(ids)) == 2000

    def all_decided():
        _, mediation, decided = decided_and_mediated(bus.bootstrap_servers, ids)
        accepted = sum(1 for cid in ids if mediation[cid]["MediationOpened"])
        return len(decided) == 2000 and accepted >= 1 and decided
    wait_until(all_decided, 240, interval=2, message="every complaint decided")
    # Whatever is still in flight settles; then exactly once, none missing.
    wait_until(lambda: _mediation_settled(bus.bootstrap_servers, ids), 120, interval=2, message="mediation caught up")
    assert_exactly_once(bus.bootstrap_servers, ids)

    decisions, _, _ = decided_and_mediated(bus.bootstrap_servers, ids)
    kinds = {t for cid in ids for t in decisions[cid] if decisions[cid][t]}
    assert {"ComplaintAccepted", "ComplaintRejected", "ComplaintReferred"} <= kinds

    verify = system.cli("audit", "verify", check=False)
    assert verify.returncode == 0, verify.stderr


def _mediation_settled(bootstrap, ids):
    decisions, mediation, _ = decided_and_mediated(bootstrap, ids)
    return all(mediation[cid]["MediationOpened"] == decisions[cid]["ComplaintAccepted"] for cid in ids)


def test_status_follows_a_complaint_into_mediation(system):
    [cid] = asyncio.run(post_all(system.url, [factories.complaint(1)]))
    # Decisions and mediation events arrive on different topics, in either
    # order: the view converges on both.
    status = wait_until(lambda: (s := httpx.get(f"{system.url}/complaints/{cid}").json())["status"] == "IN_MEDIATION"
                        and s["decision_due"] and s, 60, message="IN_MEDIATION with its decision")
    assert status["agency_id"] == "AMR-110108"
    assert status["mediation_due"] > status["decision_due"] > status["received_at"]
    assert "consumer" not in status and "facts" not in status
    assert httpx.get(f"{system.url}/complaints/TS-NOPE").status_code == 404


def statuses(system, ids: list[str]) -> dict[str, str]:
    """What `tousu status` shows for the first two, and what the API answers for every one."""
    shown = {cid: system.cli("status", cid, "--json", "--url", system.url).stdout for cid in ids[:2]}
    return {**shown, **{f"GET {cid}": httpx.get(f"{system.url}/complaints/{cid}", timeout=10).text for cid in ids}}


def test_wiped_broker_republished_gives_the_same_state_without_duplicates(system, bus):
    bodies = [factories.varied(i, random.Random(i)) for i in range(150)]
    ids = asyncio.run(post_all(system.url, bodies))
    wait_until(lambda: _mediation_settled(bus.bootstrap_servers, ids) and
               len(decided_and_mediated(bus.bootstrap_servers, ids)[2]) == 150, 120, interval=1,
               message="all decided and mediated")
    before_decisions, before_mediation, _ = decided_and_mediated(bus.bootstrap_servers, ids)
    # The status view follows the topics a moment later: compare once it has caught up.
    wait_until(lambda: not any(httpx.get(f"{system.url}/complaints/{cid}", timeout=10).json()["status"]
                               in ("RECEIVED", "TRANSFERRED", "ACCEPTED") for cid in ids[:20]), 30, interval=0.5,
               message="the status view caught up")
    before_status = statuses(system, ids[:20])

    # The services restore a broker that lost their data by themselves; an
    # operator republishing at the same time only adds duplicates.
    bus.wipe()
    for service in ("intake", "routing", "mediation", "enforcement"):
        result = system.cli("republish", service)
        assert "republished" in result.stderr

    wait_until(lambda: decided_and_mediated(bus.bootstrap_servers, ids)[:2] == (before_decisions, before_mediation),
               60, interval=1, message="the same decisions and mediations as before the wipe")
    # Consumers saw every republished event again and changed nothing.
    import time
    time.sleep(3)
    assert decided_and_mediated(bus.bootstrap_servers, ids)[:2] == (before_decisions, before_mediation)
    assert_exactly_once(bus.bootstrap_servers, ids)
    assert statuses(system, ids[:20]) == before_status
    assert system.cli("audit", "verify", check=False).returncode == 0


def test_random_bytes_become_dead_letters_and_valid_complaints_around_them_are_decided(system, bus):
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


async def rewrite_audit_log(bootstrap: str, records: list[dict]) -> None:
    """Replace the whole audit topic with these records, as a tamperer would."""
    from aiokafka.admin import AIOKafkaAdminClient

    from services.bus.broker import create_topics
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    await admin.delete_topics(["audit.log"])
    await admin.close()
    await asyncio.sleep(1)
    await create_topics(bootstrap, ["audit.log"])
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    codec = default_codec()
    for r in records:
        await producer.send("audit.log", codec.encode("AuditRecord", r), key=r["service"].encode())
    await producer.stop()


def test_audit_verify_fails_naming_the_record_that_was_altered(system, bus):
    ids = asyncio.run(post_all(system.url, [factories.complaint(i) for i in range(20)]))
    wait_until(lambda: _mediation_settled(bus.bootstrap_servers, ids) and
               len(decided_and_mediated(bus.bootstrap_servers, ids)[2]) == 20, 60, message="decided")
    assert system.cli("audit", "verify", check=False).returncode == 0
    codec = default_codec()
    records = [codec.decode(m.value)[1] for m in read_all_sync(bus.bootstrap_servers, "audit.log")]
    victim = next(r for r in records[5:] if r["service"] == "routing")
    altered = [dict(r, complaint_id="TS-FORGED") if r is victim else r for r in records]

    system.stop()  # nothing else may write to the chain while it is rewritten
    asyncio.run(rewrite_audit_log(bus.bootstrap_servers, altered))
    result = system.cli("audit", "verify", check=False)
    assert result.returncode == 1
    assert f"routing seq {victim['seq']}" in result.stderr and "altered" in result.stderr


def test_audit_verify_names_the_first_stored_event_without_its_record(system, bus):
    ids = asyncio.run(post_all(system.url, [factories.complaint(i) for i in range(5)]))
    wait_until(lambda: _mediation_settled(bus.bootstrap_servers, ids) and
               len(decided_and_mediated(bus.bootstrap_servers, ids)[2]) == 5, 60, message="decided")
    system.stop()
    assert system.cli("audit", "verify", check=False).returncode == 0
    codec = default_codec()
    records = [codec.decode(m.value)[1] for m in read_all_sync(bus.bootstrap_servers, "audit.log")]
    last_routing = max(r["seq"] for r in records if r["service"] == "routing")
    # The chain on the topic alone stays intact if its newest records are lost...
    kept = [r for r in records if not (r["service"] == "routing" and r["seq"] == last_routing)]

    asyncio.run(rewrite_audit_log(bus.bootstrap_servers, kept))
    assert system.cli("audit", "verify", "--topic-only", check=False).returncode == 0
    # ...but not against the store, which still holds that event.
    result = system.cli("audit", "verify", check=False)
    assert result.returncode == 1
    assert f"GAP routing: stored event {last_routing}" in result.stderr
