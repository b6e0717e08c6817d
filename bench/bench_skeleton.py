"""Throughput of the walking skeleton against raw Kafka on the same broker, in one run.

    python bench/bench_skeleton.py [N]

1. raw: aiokafka produces N encoded ComplaintReceived messages and one consumer
   reads them back (the floor any design on this broker pays);
2. end to end: the same N messages go to `complaints.received` and routing and
   mediation run in this process until N decisions are stored and every accepted
   complaint has its mediation case opened.
Prints both rates and their ratio (end to end / raw)."""
from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from datetime import datetime, timezone

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from services.bus.broker import EmbeddedBroker, create_topics  # noqa: E402
from services.bus.codec import default_codec  # noqa: E402
from tests.examples import EXAMPLES  # noqa: E402


def messages(n: int) -> list[tuple[bytes, bytes, list]]:
    codec = default_codec()
    now = datetime.now(timezone.utc)
    out = []
    for i in range(n):
        cid = f"TS-BENCH-{i:08d}"
        record = dict(EXAMPLES["ComplaintReceived"], complaint_id=cid, event_id=f"e{i}", occurred_at=now,
                      aware_date=now.date(), prior_handling=[])
        headers = [("event_id", f"e{i}".encode()), ("event_type", b"ComplaintReceived"),
                   ("source", b"intake"), ("position", str(i + 1).encode())]
        out.append((cid.encode(), codec.encode("ComplaintReceived", record), headers))
    return out


async def produce(bootstrap: str, topic: str, batch) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5, enable_idempotence=False)
    await producer.start()
    futures = [await producer.send(topic, value, key=key, headers=headers) for key, value, headers in batch]
    await asyncio.gather(*futures)
    await producer.stop()


async def raw(bootstrap: str, batch) -> float:
    await create_topics(bootstrap, ["complaints.received"])
    consumer = AIOKafkaConsumer("complaints.received", bootstrap_servers=bootstrap, group_id="bench-raw",
                                auto_offset_reset="earliest", session_timeout_ms=4000, heartbeat_interval_ms=1000)
    await consumer.start()
    start = time.perf_counter()
    await produce(bootstrap, "complaints.received", batch)
    seen = 0
    while seen < len(batch):
        got = await consumer.getmany(timeout_ms=500)
        seen += sum(len(v) for v in got.values())
    elapsed = time.perf_counter() - start
    await consumer.stop()
    return len(batch) / elapsed


async def end_to_end(bootstrap: str, batch, data_dir: str) -> float:
    from services.system import System

    system = System(("routing", "mediation"), env={**os.environ, "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
                                                    "TOUSU_DATA_DIR": data_dir})
    await system.start()
    routing, mediation = system.runners["routing"], system.runners["mediation"]
    try:
        start = time.perf_counter()
        await produce(bootstrap, "complaints.received", batch)
        from services.mediation.domainmodel import MediationCase
        from services.routing.domainmodel import Complaint

        n = len(batch)
        while True:
            # Cheap progress signals while running; the exact counts are checked once at the end.
            settled = (routing.processed.handled >= n and mediation.processed.handled >= n
                       and mediation.relay.position == (mediation.app.recorder.max_notification_id() or 0))
            if settled:
                elapsed = time.perf_counter() - start
                break
            if os.environ.get("BENCH_VERBOSE"):
                print(f"{time.perf_counter() - start:6.1f}s routing handled {routing.processed.handled} "
                      f"mediation handled {mediation.processed.handled}", file=sys.stderr)
            await asyncio.sleep(0.05)
            if time.perf_counter() - start > 600:
                raise TimeoutError("end to end did not finish in 10 minutes")
        received, accepted = count(routing.app, Complaint.Received), count(routing.app, Complaint.Accepted)
        opened = count(mediation.app, MediationCase.Opened)
        assert received == n and opened == accepted, (received, accepted, opened)
        return n / elapsed
    finally:
        await system.stop()


def count(app, event_class) -> int:
    from eventsourcing.utils import get_topic

    total, after = 0, 0
    while page := app.recorder.select_notifications(after, 10_000, topics=[get_topic(event_class)],
                                                    inclusive_of_start=False):
        total, after = total + len(page), page[-1].id
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("n", type=int, nargs="?", default=5000, help="messages (5000)")
    args = parser.parse_args()
    n = args.n
    batch = messages(n)
    with EmbeddedBroker() as broker:
        raw_rate = asyncio.run(raw(broker.bootstrap_servers, batch))
    with EmbeddedBroker() as broker, tempfile.TemporaryDirectory() as data:
        asyncio.run(create_topics(broker.bootstrap_servers))
        e2e_rate = asyncio.run(end_to_end(broker.bootstrap_servers, batch, data))
    print(f"raw aiokafka produce+consume: {raw_rate:9.0f} messages/s")
    print(f"end to end (received -> decided -> mediation opened, SQLite): {e2e_rate:9.0f} complaints/s")
    print(f"ratio end-to-end / raw: {e2e_rate / raw_rate:.3f}")


if __name__ == "__main__":
    main()
