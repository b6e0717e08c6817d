"""Where a consumer starts reading: the offsets its own store keeps, checked
against the broker's log, never the broker's group offsets.

A broker that lost its data (the embedded one restarted, a cluster rebuilt, a
topic recreated) holds a log that no longer matches the store: the message at
the anchor or at the last handled offset is missing or another one. (The end
offset a broker reports is no proof: the embedded broker reports the base
offset of its last batch plus one.) Such a partition is read again from its start; the store's
event ids make the re-read harmless. A log whose start moved past the stored
offset (retention deleted messages before they were read) is said so, loudly.
"""
from __future__ import annotations

import asyncio
import logging

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import OffsetOutOfRangeError

from .consumed import TP, ConsumedStore, fingerprint
from .settings import kafka_security

log = logging.getLogger(__name__)


class Positioner:
    def __init__(self, service: str, bootstrap_servers: str, consumed: ConsumedStore):
        self.service = service
        self.bootstrap_servers = bootstrap_servers
        self.consumed = consumed
        self.resets = 0

    async def positions(self, tps: set[TP]) -> dict[TP, int]:
        """The offset to read each partition from, resetting the store's mark
        of any partition whose log is not the one it remembers."""
        if not tps:
            return {}
        loop = asyncio.get_running_loop()
        marks = await loop.run_in_executor(None, self.consumed.marks)
        probe = AIOKafkaConsumer(bootstrap_servers=self.bootstrap_servers, enable_auto_commit=False,
                                 auto_offset_reset="none", fetch_max_wait_ms=100,
                                 request_timeout_ms=10_000, **kafka_security())
        await probe.start()
        try:
            keys = [TopicPartition(*tp) for tp in sorted(tps)]
            starts = await probe.beginning_offsets(keys)
            chosen = {}
            for key in keys:
                tp = (key.topic, key.partition)
                start = starts[key]
                offset, why = await self._decide(probe, key, marks.get(tp), start)
                if why:
                    self.resets += 1
                    log.warning("%s: %s/%s %s; reading it again from offset %s",
                                self.service, tp[0], tp[1], why, start)
                    await loop.run_in_executor(None, self.consumed.restart_at, tp, start)
                chosen[tp] = offset
            return chosen
        finally:
            await probe.stop()

    async def _decide(self, probe, key, mark, start: int) -> tuple[int, str | None]:
        if mark is None:
            return start, None
        for offset, expected in ((mark.anchor_offset, mark.anchor_fingerprint),
                                 (mark.next_offset - 1, mark.last_fingerprint)):
            if offset is None or expected is None or offset < start:
                continue
            found = await self._fingerprint_at(probe, key, offset)
            if found is None:
                return start, f"has no message at offset {offset}, which this service read (the broker lost data)"
            if found != expected:
                return start, f"holds another message at offset {offset} (the topic was recreated)"
        if mark.next_offset < start:
            return start, (f"starts at offset {start}: messages {mark.next_offset}..{start - 1} were deleted "
                           "before this service read them")
        return mark.next_offset, None

    @staticmethod
    async def _fingerprint_at(probe, key, offset: int) -> str | None:
        probe.assign([key])
        probe.seek(key, offset)
        try:
            batch = await probe.getmany(key, timeout_ms=2_000, max_records=1)
        except OffsetOutOfRangeError:
            return None
        records = batch.get(key, [])
        return fingerprint(records[0].value or b"") if records and records[0].offset == offset else None
