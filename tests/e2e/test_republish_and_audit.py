"""What the services do when the broker loses their data and when the audit
log is tampered with, on one system for the module (tests/e2e/conftest.py):
the wipe first, since the services restore the broker by themselves; the
audit test last, since it stops the system to rewrite the chain."""
from __future__ import annotations

import asyncio
import random
import time
from concurrent.futures import ThreadPoolExecutor

from aiokafka import AIOKafkaProducer
import pytest

from services.bus.codec import default_codec
from services.bus.reader import read_all_sync
from tests import factories, launcher
from tests.harness import (
    HTTP,
    assert_exactly_once,
    decided_and_mediated,
    post_all,
    settled,
    wait_until,
)

pytestmark = pytest.mark.slow


def statuses(system, ids: list[str]) -> dict[str, str]:
    """What `tousu status` shows for the first two, and what the API answers for every one."""
    shown = {cid: system.cli("status", cid, "--json", "--url", system.url).stdout for cid in ids[:2]}
    return {**shown, **{f"GET {cid}": HTTP.get(f"{system.url}/complaints/{cid}", timeout=10).text for cid in ids}}


def test_wiped_broker_republished_gives_the_same_state_without_duplicates(system, broker):
    bus = broker
    bodies = [factories.varied(i, random.Random(i)) for i in range(150)]
    ids = asyncio.run(post_all(system.url, bodies))
    # One read of both topics: waiting on two reads let a complaint decided
    # between them pass without its mediation, which the snapshot then lacked.
    before_decisions, before_mediation = wait_until(lambda: settled(bus.bootstrap_servers, ids), 120,
                                                    interval=1, message="all decided and mediated")
    # The status view follows the topics a moment later: compare once it has caught up.
    wait_until(lambda: not any(system.status(cid)["status"] in ("RECEIVED", "TRANSFERRED", "ACCEPTED")
                               for cid in ids[:20]), 30, interval=0.5, message="the status view caught up")
    before_status = statuses(system, ids[:20])

    # The services restore a broker that lost their data by themselves; an
    # operator republishing at the same time only adds duplicates.
    bus.wipe()
    with ThreadPoolExecutor(4) as operators:  # one terminal per service
        services = ("intake", "routing", "mediation", "enforcement")
        for service, result in zip(services, operators.map(lambda s: system.cli("republish", s), services)):
            # Said once, on one line (no progress lines where no one watches a terminal).
            [said] = result.stderr.strip().splitlines()
            assert said.startswith(f"{service}: republished "), said

    def differences() -> dict:
        """(topic, complaint) -> (counts before the wipe, counts now), for each that differs."""
        now = decided_and_mediated(bus.bootstrap_servers, ids)[:2]
        return {(topic, cid): (dict(then.get(cid, {})), dict(later.get(cid, {})))
                for topic, then, later in zip(("decisions", "mediation"), (before_decisions, before_mediation), now)
                for cid in set(then) | set(later) if then.get(cid, {}) != later.get(cid, {})}

    try:
        wait_until(lambda: not differences(), 60, interval=1,
                   message="the same decisions and mediations as before the wipe")
    except AssertionError as timeout:
        raise AssertionError(f"{timeout}; what differs: {differences()}") from None
    # Consumers saw every republished event again and changed nothing.
    time.sleep(3)
    assert not differences()
    assert_exactly_once(bus.bootstrap_servers, ids)
    assert statuses(system, ids[:20]) == before_status
    assert system.cli("audit", "verify", check=False).returncode == 0


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


def test_audit_verify_names_the_record_that_was_altered_and_the_first_stored_event_without_its_record(system,
                                                                                                      broker,
                                                                                                      tmp_path):
    # Last in the module: it stops the system.
    bus = broker
    ids = asyncio.run(post_all(system.url, [factories.complaint(i) for i in range(20)]))
    wait_until(lambda: settled(bus.bootstrap_servers, ids), 60, message="decided")
    assert system.cli("audit", "verify", check=False).returncode == 0
    # Where no store is reachable (a regulator outside), it says it checked the topic alone.
    outside = {k: v for k, v in system.env.items() if k != "PERSISTENCE_MODULE"}
    alone = launcher.run(["audit", "verify"], {**outside, "TOUSU_DATA_DIR": str(tmp_path / "elsewhere")})
    assert alone.returncode == 0 and "only the topic was checked" in alone.stderr, alone.stderr
    system.stop()  # nothing else may write to the chain while it is rewritten
    assert system.cli("audit", "verify", check=False).returncode == 0
    codec = default_codec()
    records = [codec.decode(m.value)[1] for m in read_all_sync(bus.bootstrap_servers, "audit.log")]

    victim = next(r for r in records[5:] if r["service"] == "routing")
    # After the wipe a record may be on the topic twice: every copy is altered.
    altered = [dict(r, complaint_id="TS-FORGED") if (r["service"], r["seq"]) == ("routing", victim["seq"]) else r
               for r in records]
    asyncio.run(rewrite_audit_log(bus.bootstrap_servers, altered))
    result = system.cli("audit", "verify", check=False)
    assert result.returncode == 1
    assert f"routing seq {victim['seq']}" in result.stderr and "altered" in result.stderr

    last_routing = max(r["seq"] for r in records if r["service"] == "routing")
    # The chain on the topic alone stays intact if its newest records are lost...
    kept = [r for r in records if not (r["service"] == "routing" and r["seq"] == last_routing)]
    asyncio.run(rewrite_audit_log(bus.bootstrap_servers, kept))
    assert system.cli("audit", "verify", "--topic-only", check=False).returncode == 0
    # ...but not against the store, which still holds that event.
    result = system.cli("audit", "verify", check=False)
    assert result.returncode == 1
    assert f"GAP routing: stored event {last_routing}" in result.stderr

    # A record forged onto the chain's end, hashed by the published formula: the
    # topic alone cannot tell, the store can.
    from services.bus.audit import chain_hash
    last = max((r for r in records if r["service"] == "mediation"), key=lambda r: r["seq"])
    forged = {**last, "seq": last["seq"] + 1, "event_type": "MediationCase.Agreed", "prev_hash": last["hash"],
              "event_id": "00000000-0000-0000-0000-000000000001"}
    forged["hash"] = chain_hash(forged)
    asyncio.run(rewrite_audit_log(bus.bootstrap_servers, records + [forged]))
    assert system.cli("audit", "verify", "--topic-only", check=False).returncode == 0
    result = system.cli("audit", "verify", check=False)
    assert result.returncode == 1
    assert f"FORGED mediation seq {forged['seq']} (MediationCase.Agreed)" in result.stderr, result.stderr
    # One altered to describe another event than the one stored, rehashed along the rest of its chain.
    # One copy of each (the topic may hold a record twice after a republish).
    chain = sorted({r["seq"]: r for r in records if r["service"] == "mediation"}.values(), key=lambda r: r["seq"])
    rewritten, prev = [], chain[0]["prev_hash"]
    for r in chain:
        r = {**r, "prev_hash": prev, **({"payload_sha256": "0" * 64} if r is chain[1] else {})}
        r["hash"] = prev = chain_hash(r)
        rewritten.append(r)
    others = [r for r in records if r["service"] != "mediation"]
    asyncio.run(rewrite_audit_log(bus.bootstrap_servers, others + rewritten))
    result = system.cli("audit", "verify", check=False)
    assert result.returncode == 1 and f"FORGED mediation seq {chain[1]['seq']}" in result.stderr, result.stderr
