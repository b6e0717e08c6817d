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
from .messages import Inbound
from .settings import kafka_security

log = logging.getLogger(__name__)


class Positioner:
    def __init__(self, service: str, bootstrap_servers: str, consumed: ConsumedStore):
        self.service = service
        self.bootstrap_servers = bootstrap_servers
        self.consumed = consumed
        self.resets = 0
        self._ends_probe: AIOKafkaConsumer | None = None

    async def positions(self, tps: set[TP]) -> dict[TP, int]:
        """The offset to read each partition from, resetting the store's mark
        of any partition whose log is not the one it remembers."""
        if not tps:
            return {}
        loop = asyncio.get_running_loop()
        marks = await loop.run_in_executor(None, self.consumed.marks)
        probe = AIOKafkaConsumer(bootstrap_servers=self.bootstrap_servers, enable_auto_commit=False,
                                 auto_offset_reset="none", fetch_max_wait_ms=100, request_timeout_ms=10_000,
                                 # As the consumers read: a large message must fit one fetch.
                                 max_partition_fetch_bytes=4 * 1024 * 1024, fetch_max_bytes=8 * 1024 * 1024,
                                 **kafka_security())
        try:
            await probe.start()
            keys = {tp: TopicPartition(*tp) for tp in sorted(tps)}
            starts = await probe.beginning_offsets(list(keys.values()))
            ends = await probe.end_offsets(list(keys.values()))
            # Every partition's anchor and last message in two fetch rounds, not one by one.
            wanted = [{tp: (m.anchor_offset, m.anchor_fingerprint) for tp, m in marks.items() if tp in keys},
                      {tp: (m.next_offset - 1, m.last_fingerprint) for tp, m in marks.items() if tp in keys}]
            found = [await fingerprints_at(probe, keys, {tp: o for tp, (o, f) in w.items()
                                                       if o is not None and f is not None
                                                       and o >= starts[keys[tp]]}) for w in wanted]
            chosen = {}
            for tp, key in keys.items():
                offset, why = _decide(marks.get(tp), starts[key], ends[key], wanted, found, tp)
                if why:
                    self.resets += 1
                    log.warning("%s: %s/%s %s; reading it again from offset %s",
                                self.service, tp[0], tp[1], why, starts[key])
                    await loop.run_in_executor(None, self.consumed.restart_at, tp, starts[key])
                chosen[tp] = offset
            return chosen
        finally:
            await probe.stop()


    async def ends(self, tps: set[TP]) -> dict[TP, int]:
        """Each partition's end offset as the broker reports it (the embedded
        broker's can be short of the truth, never beyond it). One client is
        kept for this between calls: the progress guard asks every few seconds,
        and a client of its own each time cost a connection and a metadata
        round every time, idle or not."""
        try:
            if self._ends_probe is None:
                # Kept before it starts: a start that fails or is cancelled is still closed.
                self._ends_probe = AIOKafkaConsumer(bootstrap_servers=self.bootstrap_servers,
                                                    enable_auto_commit=False, request_timeout_ms=10_000,
                                                    **kafka_security())
                await self._ends_probe.start()
            ends = await self._ends_probe.end_offsets([TopicPartition(*tp) for tp in tps])
        except BaseException:
            await self.close()  # the next call starts afresh: the broker may be another one by then
            raise
        return {(key.topic, key.partition): end for key, end in ends.items()}

    async def close(self) -> None:
        probe, self._ends_probe = self._ends_probe, None
        if probe is not None:
            try:
                await asyncio.wait_for(probe.stop(), 3)
            except Exception:
                pass

    async def read(self, tp: TP, start: int, stop: int, timeout: float = 20.0) -> list[Inbound]:
        """The messages at offsets start..stop-1 of a partition, read past the
        consumer: what it skipped (fetched before a seek, dropped as read) is
        filled in from the broker itself. Fewer if the log no longer has them."""
        from .messages import Inbound

        key = TopicPartition(*tp)
        probe = AIOKafkaConsumer(bootstrap_servers=self.bootstrap_servers, enable_auto_commit=False,
                                 auto_offset_reset="none", fetch_max_wait_ms=100, request_timeout_ms=10_000,
                                 max_partition_fetch_bytes=4 * 1024 * 1024, fetch_max_bytes=8 * 1024 * 1024,
                                 **kafka_security())
        found: list[Inbound] = []
        try:
            await probe.start()
            probe.assign([key])
            probe.seek(key, start)
            deadline = asyncio.get_running_loop().time() + timeout
            from_start = False
            while (not found or found[-1].offset < stop - 1) and asyncio.get_running_loop().time() < deadline:
                try:
                    batch = await probe.getmany(key, timeout_ms=500)
                except OffsetOutOfRangeError:
                    if from_start:
                        break
                    # The embedded broker refuses offsets inside its last batch past
                    # the batch's first: read from the log's start and keep the range.
                    from_start = True
                    await probe.seek_to_beginning(key)
                    continue
                for r in batch.get(key, []):
                    if start <= r.offset < stop:
                        found.append(Inbound(r.topic, r.partition, r.offset, r.key, r.value or b"",
                                             {k: bytes(v) for k, v in (r.headers or ())}))
        finally:
            await probe.stop()
        return found


MISSING = "missing"


async def fingerprints_at(probe, keys, offsets: dict[TP, int]) -> dict[TP, str | None]:
    """The fingerprint of the message at each offset; MISSING where the log
    has no such offset; None where the broker said nothing in time.
    The probe is left with its partitions paused: a kept probe would otherwise
    go on fetching them in the background, ten times a second, idle or not.
    (Paused rather than unassigned: the same topics next time ask the broker
    for no metadata again.)"""
    try:
        return await _fingerprints_at(probe, keys, offsets)
    finally:
        probe.pause(*probe.assignment())


async def _fingerprints_at(probe, keys, offsets: dict[TP, int]) -> dict[TP, str | None]:
    found: dict[TP, str | None] = {}
    pending = dict(offsets)
    if not pending:
        return found
    probe.assign([keys[tp] for tp in pending])
    for tp, offset in pending.items():
        probe.seek(keys[tp], offset)
    deadline = asyncio.get_running_loop().time() + 5.0
    while pending and asyncio.get_running_loop().time() < deadline:
        try:
            batch = await probe.getmany(*[keys[tp] for tp in pending], timeout_ms=500, max_records=len(pending) * 50)
        except OffsetOutOfRangeError as exc:
            for key in exc.args[0] if exc.args and isinstance(exc.args[0], dict) else []:
                tp = (key.topic, key.partition)
                if tp in pending:
                    found[tp] = MISSING
                    del pending[tp]
            if not (exc.args and isinstance(exc.args[0], dict)):
                # Which partition is not said: look at each alone.
                for tp in list(pending):
                    found[tp] = (await _fingerprints_at(probe, keys, {tp: pending.pop(tp)})).get(tp)
                return found
            if pending:
                probe.assign([keys[tp] for tp in pending])
                for tp, offset in pending.items():
                    probe.seek(keys[tp], offset)
            continue
        for key, records in batch.items():
            tp = (key.topic, key.partition)
            if tp in pending and records:
                first = records[0]
                found[tp] = fingerprint(first.value or b"") if first.offset == pending[tp] else MISSING
                del pending[tp]
    for tp in pending:
        found[tp] = None
    return found


def _decide(mark, start: int, end: int, wanted, found, tp) -> tuple[int, str | None]:
    if mark is None:
        return start, None
    for expected, seen in zip(wanted, found):
        if tp not in seen:
            continue
        offset, fingerprint_kept = expected[tp]
        if seen[tp] is None and end > offset:
            # The broker did not answer in time for a message it says it has:
            # no proof of a loss. Keep the mark; a refused batch asks again.
            continue
        if seen[tp] in (None, MISSING):
            return start, f"has no message at offset {offset}, which this service read (the broker lost data)"
        if seen[tp] != fingerprint_kept:
            return start, f"holds another message at offset {offset} (the topic was recreated)"
    if mark.next_offset < start:
        return start, (f"starts at offset {start}: messages {mark.next_offset}..{start - 1} were deleted "
                       "before this service read them")
    return mark.next_offset, None
