"""The relay: follows a service's notification log and publishes, in log order,
the integration events each stored domain event maps to, plus its audit record.

The published position is stored only after the broker acknowledged; after a
crash the relay republishes from there, and consumers skip what they tracked."""
from __future__ import annotations

import asyncio
import concurrent.futures
import logging
from collections import OrderedDict
from typing import Callable

from aiokafka import AIOKafkaProducer
from eventsourcing.persistence import Notification, Tracking

from . import topics as registry
from .audit import GENESIS, audit_record
from .broker import create_topics
from .checkpoints import ChainCheckpoint
from .codec import Codec
from .deadletters import DeadLetter, unb64
from .messages import Outgoing
from .settings import kafka_security
from .store import ServiceApplication, derive_id

log = logging.getLogger(__name__)

RELAY_TRACKING = "relay"
PAGE = 500

# Maps a stored domain event, and its aggregate as that event left it, to the
# integration events subscribers see.
Outbound = Callable[[object, object], list[Outgoing]]


class AggregateStates:
    """Aggregates as of the event being relayed, kept current by applying each
    event in log order; the repository answers only on a cache miss."""

    def __init__(self, app: ServiceApplication, size: int = 20_000):
        self.app = app
        self.size = size
        self.cache: OrderedDict = OrderedDict()

    def after(self, event):
        key = event.originator_id
        aggregate = self.cache.pop(key, None)
        try:
            if event.originator_version == 1:
                aggregate = event.mutate(None)
            elif aggregate is not None and aggregate.version == event.originator_version - 1:
                aggregate = event.mutate(aggregate)
            else:
                aggregate = self.app.repository.get(key, version=event.originator_version)
        except Exception:
            aggregate = self.app.repository.get(key, version=event.originator_version)
        self.cache[key] = aggregate
        if len(self.cache) > self.size:
            self.cache.popitem(last=False)
        return aggregate


def dead_letter_outgoing(service: str, event) -> list[Outgoing]:
    if not isinstance(event, DeadLetter.Recorded):
        return []
    return [Outgoing("deadletter", event.complaint_id or event.topic, "DeadLetter", {
        "complaint_id": event.complaint_id, "service": service, "topic": event.topic,
        "partition": event.partition, "offset": event.offset, "error": event.error,
        "key": unb64(event.key_b64), "original": unb64(event.original_b64)})]


class Relay:
    def __init__(self, service: str, app: ServiceApplication, outbound: Outbound,
                 codec: Codec, bootstrap_servers: str, audited: bool = True):
        self.service = service
        self.audited = audited
        self.app = app
        self.outbound = outbound
        self.codec = codec
        self.bootstrap_servers = bootstrap_servers
        self.producer: AIOKafkaProducer | None = None
        self.known_topics = {t.name for t in registry.REGISTRY}
        self.last_hash = GENESIS
        self.position = 0
        self.states = AggregateStates(app)
        self.checkpoint = ChainCheckpoint(app)
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None
        # Its own thread for store reads: cancelling the relay does not stop a
        # read already running, so stop() waits for it before the store may close.
        self._reader = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix=f"relay-{service}")

    def wake(self) -> None:
        self._wake.set()

    async def start_producer(self) -> None:
        self.producer = AIOKafkaProducer(
            bootstrap_servers=self.bootstrap_servers, acks="all", linger_ms=5,
            # The embedded broker cannot do idempotent producers; duplicates are
            # harmless because consumers track positions.
            enable_idempotence=False, max_request_size=2 * 1024 * 1024, **kafka_security())
        await self.producer.start()

    async def start(self) -> None:
        await self.start_producer()
        self.position = await self.in_store(self._published_position)
        if self.audited:
            self.last_hash = await self.in_store(self._hash_at, self.position)
        self._task = asyncio.create_task(self._run(), name=f"relay-{self.service}")

    async def in_store(self, fn, *args):
        return await asyncio.get_running_loop().run_in_executor(self._reader, fn, *args)

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            try:
                await self._task
            except (asyncio.CancelledError, Exception):
                pass
        if self.producer:
            await self.producer.stop()
        await asyncio.get_running_loop().run_in_executor(None, self._reader.shutdown, True)

    def _published_position(self) -> int:
        return self.app.process_recorder.max_tracking_id(RELAY_TRACKING) or 0

    def _notifications(self, after: int, stop: int | None = None) -> list[Notification]:
        return list(self.app.recorder.select_notifications(
            after, PAGE, stop=stop, inclusive_of_start=False))

    def _hash_at(self, position: int) -> str:
        """The chain hash of the record at `position`: from the kept checkpoint
        when it is at or below it, else from the first event, onwards from the log."""
        kept = self.checkpoint.load()
        last, after = (kept[1], kept[0]) if kept and kept[0] <= position else (GENESIS, 0)
        while after < position:
            page = self._notifications(after, stop=position)
            if not page:
                break
            for notification in page:
                event = self.app.mapper.to_domain_event(notification)
                last = self._audit(notification, event, self.states.after(event), last)["hash"]
            after = page[-1].id
        return last

    def _audit(self, notification: Notification, event, aggregate, prev_hash: str) -> dict:
        return audit_record(
            service=self.service, seq=notification.id,
            event_id=str(derive_id(self.service, "audit", notification.id)),
            event_type=type(event).__qualname__, aggregate_id=str(notification.originator_id),
            aggregate_version=notification.originator_version, occurred_at=event.timestamp,
            payload=notification.state,
            complaint_id=getattr(event, "complaint_id", None) or getattr(aggregate, "complaint_id", None),
            prev_hash=prev_hash, actor_agency_id=getattr(event, "by_agency", None),
            actor_role=getattr(event, "by_role", None))

    def messages_for(self, notification: Notification, prev_hash: str) -> tuple[list[tuple[str, bytes, bytes, list]], str]:
        event = self.app.mapper.to_domain_event(notification)
        out = []
        aggregate = self.states.after(event)
        outgoing = dead_letter_outgoing(self.service, event) or self.outbound(event, aggregate)
        for item in outgoing:
            event_id = str(derive_id(self.service, notification.id, item.topic, item.record_type))
            record = {"event_id": event_id, "occurred_at": event.timestamp, **item.record}
            out.append(self._message(item.topic, item.key, item.record_type, record, event_id, notification.id))
        if not self.audited:
            return out, prev_hash
        audit = self._audit(notification, event, aggregate, prev_hash)
        out.append(self._message("audit.log", self.service, "AuditRecord", audit, audit["event_id"], notification.id))
        return out, audit["hash"]

    def _message(self, topic, key, record_type, record, event_id, position):
        headers = [("event_id", event_id.encode()), ("event_type", record_type.encode()),
                   ("source", self.service.encode()), ("position", str(position).encode())]
        return topic, key.encode("utf-8"), self.codec.encode(record_type, record), headers

    async def publish(self, after: int, stop: int | None = None, *, record_position: bool,
                      prev_hash: str) -> tuple[int, int, str]:
        """Publish one page of notifications after `after`; returns
        (count, last position, last hash)."""
        page = await self.in_store(self._notifications, after, stop)
        if not page:
            return 0, after, prev_hash
        batch = []
        for notification in page:
            messages, prev_hash = self.messages_for(notification, prev_hash)
            batch.extend(messages)
        await self._ensure_topics({m[0] for m in batch})
        futures = [await self.producer.send(topic, value, key=key, headers=headers)
                   for topic, key, value, headers in batch]
        await asyncio.gather(*futures)
        last = page[-1].id
        if record_position:
            await self.in_store(self._record, last, prev_hash)
        return len(page), last, prev_hash

    def _record(self, position: int, chain_hash: str) -> None:
        self.app.process_recorder.insert_tracking(Tracking(RELAY_TRACKING, position))
        if self.audited:
            self.checkpoint.save(position, chain_hash)

    async def _ensure_topics(self, names: set[str]) -> None:
        new = sorted(names - self.known_topics)
        if new:
            await create_topics(self.bootstrap_servers, new)
            self.known_topics.update(new)
            # Without fresh metadata the producer keeps sending to stale leaders
            # until its request timeout.
            await self.producer.client.force_metadata_update()

    async def _run(self) -> None:
        backoff = 0.1
        while True:
            try:
                count, self.position, self.last_hash = await self.publish(
                    self.position, record_position=True, prev_hash=self.last_hash)
                backoff = 0.1
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("relay %s failed at position %s; retrying", self.service, self.position)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
                continue
            if count == 0:
                self._wake.clear()
                try:
                    # SQLite has no subscribe(): poll, and let local writers wake us early.
                    await asyncio.wait_for(self._wake.wait(), 0.05)
                except asyncio.TimeoutError:
                    pass


async def republish(service: str, app: ServiceApplication, outbound: Outbound, codec: Codec,
                    bootstrap_servers: str, start: int = 0, progress=None) -> int:
    """Send every notification from `start` (inclusive) again, with the same
    bytes as the first time. The running relay's own position is untouched."""
    relay = Relay(service, app, outbound, codec, bootstrap_servers)
    await relay.start_producer()
    try:
        after = max(start - 1, 0)
        prev_hash = await relay.in_store(relay._hash_at, after)
        total = 0
        while True:
            count, after, prev_hash = await relay.publish(after, record_position=False, prev_hash=prev_hash)
            if count == 0:
                return total
            total += count
            if progress:
                progress(total, after)
    finally:
        await relay.stop()
