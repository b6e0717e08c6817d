"""Reading a topic from outside any consumer group: from the beginning or the
end, to the end as it stood when reading began, or following it."""
from __future__ import annotations

import asyncio
from typing import AsyncIterator

from aiokafka import AIOKafkaConsumer, TopicPartition

from .messages import Inbound
from .settings import kafka_security


async def read_topic(bootstrap_servers: str, topic: str, *, from_beginning: bool = True,
                     follow: bool = False, idle_timeout: float = 2.0) -> AsyncIterator[Inbound]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap_servers, enable_auto_commit=False, **kafka_security(),
                                group_id=None, fetch_max_bytes=8 * 1024 * 1024,
                                max_partition_fetch_bytes=4 * 1024 * 1024)
    await consumer.start()
    try:
        partitions = consumer.partitions_for_topic(topic)
        if partitions is None:
            await consumer._client.force_metadata_update()  # noqa: SLF001 - aiokafka has no public refresh
            partitions = consumer.partitions_for_topic(topic) or set()
        tps = [TopicPartition(topic, p) for p in sorted(partitions)]
        if not tps:
            return
        consumer.assign(tps)
        if from_beginning:
            await consumer.seek_to_beginning(*tps)
        else:
            await consumer.seek_to_end(*tps)
        end = await consumer.end_offsets(tps)
        while True:
            if not follow and await _at_end(consumer, tps, end):
                return
            batch = await consumer.getmany(*tps, timeout_ms=int(idle_timeout * 1000) if not follow else 1000)
            for tp, records in batch.items():
                for r in records:
                    yield Inbound(r.topic, r.partition, r.offset, r.key, r.value,
                                  {k: bytes(v) for k, v in (r.headers or ())})
    finally:
        await consumer.stop()


async def _at_end(consumer, tps, end) -> bool:
    for tp in tps:
        if await consumer.position(tp) < end[tp]:
            return False
    return True


async def read_all(bootstrap_servers: str, topic: str) -> list[Inbound]:
    return [m async for m in read_topic(bootstrap_servers, topic)]


def read_all_sync(bootstrap_servers: str, topic: str) -> list[Inbound]:
    return asyncio.run(read_all(bootstrap_servers, topic))
