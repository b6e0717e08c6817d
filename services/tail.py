"""`tousu tail`: the last records of a topic (or all of them), then optionally
what comes, read outside any consumer group so that no one's progress moves."""
from __future__ import annotations

from typing import AsyncIterator

from aiokafka import AIOKafkaConsumer, TopicPartition

from services.bus import topics as registry
from services.bus.messages import Inbound
from services.bus.settings import kafka_security


class NoSuchTopic(LookupError):
    pass


def known(topic: str) -> None:
    """Refuse a topic the registry does not name, saying which ones it does."""
    try:
        registry.topic(topic)
    except registry.UnknownTopic:
        names = ", ".join(t.name for t in registry.REGISTRY)
        raise NoSuchTopic(f"no topic {topic!r}: one of {names}, or referrals.AGENCY_ID") from None
    if topic.startswith(registry.REFERRAL_PREFIX) and topic not in registry.BY_NAME:
        from services.agencies.directory import Directory

        agency_id = topic[len(registry.REFERRAL_PREFIX):]
        if not Directory.load().exists(agency_id):
            raise NoSuchTopic(f"no topic {topic!r}: {agency_id} is not an agency of the directory")


class NotYetWritten(LookupError):
    """A topic of the registry that nothing was written to yet: no records, not an error."""


async def records(bootstrap: str, topic: str, last: int | None, follow: bool) -> AsyncIterator[Inbound]:
    """The last `last` records of the topic across its partitions (all when
    None), oldest first, then, when following, every new one."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None,
                                auto_offset_reset="earliest",
                                fetch_max_bytes=8 * 1024 * 1024, max_partition_fetch_bytes=4 * 1024 * 1024,
                                **kafka_security())
    try:
        await consumer.start()
        # Listing every topic asks about none by name: the embedded broker would
        # create a topic it is asked about.
        if topic not in await consumer.topics():
            raise NotYetWritten(f"{topic} has no records yet (nothing was written to it)")
        tps = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
        start = await consumer.beginning_offsets(tps)
        end = await consumer.end_offsets(tps)
        # Offsets first, then assign and seek at once: an assignment left to the
        # reset policy while offsets are asked for can move a position under us.
        consumer.assign(tps)
        for tp in tps:
            consumer.seek(tp, start[tp] if last is None else max(start[tp], end[tp] - last))
        backlog = []
        # The embedded broker may report a partition's end one short of its last
        # record (a batch of several): read to the reported end, then on until
        # nothing more comes.
        while True:
            behind = [tp for tp in tps if await consumer.position(tp) < end[tp]]
            batch = await consumer.getmany(*tps, timeout_ms=1000 if behind else 300)
            if not batch and not behind:
                break
            for records_ in batch.values():
                backlog.extend(records_)
        # Across partitions, "last" means latest written.
        backlog.sort(key=lambda r: (r.timestamp, r.partition, r.offset))
        for record in backlog if last is None else backlog[len(backlog) - last:]:  # last=0: none
            yield _inbound(record)
        while follow:
            batch = await consumer.getmany(*tps, timeout_ms=1000)
            for records_ in batch.values():
                for r in records_:
                    yield _inbound(r)
    finally:
        await consumer.stop()


def _inbound(r) -> Inbound:
    return Inbound(r.topic, r.partition, r.offset, r.key, r.value, {k: bytes(v) for k, v in (r.headers or ())})
