"""The relay: follows a service's notification log and publishes, in log order,
the integration events each stored domain event maps to, plus its audit record.

The published position is stored only after the broker acknowledged; after a
crash the relay republishes from there, and consumers skip what they tracked."""
from __future__ import annotations

import asyncio
import concurrent.futures
import logging
from collections import OrderedDict
from datetime import datetime, timezone
from typing import Callable

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import MessageSizeTooLargeError
from eventsourcing.persistence import IntegrityError, InterfaceError, Notification, OperationalError, Tracking
from eventsourcing.utils import get_topic, retry

from services.ids import derive_id

from . import correlation, topics as registry
from .audit import GENESIS, audit_record
from .broker import create_topics
from .bounded import TookTooLong, within
from .checkpoints import ChainCheckpoint, PublishedOffsets
from .codec import Codec
from .deadletters import DeadLetter, unb64
from .consumed import fingerprint
from .leadership import Leadership, StoreNotifications
from .positions import MISSING, fingerprints_at
from .messages import Outgoing
from .settings import kafka_security
from .store import ServiceApplication

log = logging.getLogger(__name__)

RELAY_TRACKING = "relay"
PAGE = 500
# How often an idle relay checks that the broker still holds what it wrote
# (some milliseconds of CPU each time: the largest part of an idle worker's).
WATCH_SECONDS = 3.0
# How often a leader checks that it still leads, busy or idle, and a worker
# that does not lead tries to.
LEAD_POLL_SECONDS = 1.0
# A page the broker has not acknowledged by then is sent again with a new producer.
SEND_SECONDS = 15.0
# An idle relay looks at its store this often even unwoken: every writer wakes
# it (this process's, and on PostgreSQL every worker's through NOTIFY), so this
# is only a safety net.
IDLE_POLL_SECONDS = 5.0
# Pages that sent nothing (a read model's, bar its dead letters) are recorded as
# published at most this often: reading them again after a restart sends
# nothing either, and a store write for each cost a read model a fifth of its CPU.
RECORD_NOTHING_SECONDS = 5.0

# Maps a stored domain event, and its aggregate as that event left it, to the
# integration events subscribers see.
Outbound = Callable[[object, object], list[Outgoing]]


DEAD_LETTER_TOPICS = (get_topic(DeadLetter.Recorded),)
# The largest message the relay's producer sends (compose sets the broker's message.max.bytes to it).
MAX_MESSAGE_BYTES = 2 * 1024 * 1024
# What sending a stored event again cannot mend: it cannot be encoded, or it is
# larger than the broker takes (said as a ValueError by _message).
UNPUBLISHABLE = (ValueError, TypeError, OverflowError)


def NO_OUTBOUND(event, aggregate) -> list[Outgoing]:
    """A read model's: it publishes nothing but its dead letters, so its relay
    reads only those from its log (and no audit chain: see Relay.audited)."""
    return []


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


def cloudevents(event_id: str, record_type: str, service: str, occurred_at) -> list[tuple[str, bytes]]:
    """The CloudEvents Kafka protocol binding (binary mode) beside our own
    headers, for subscribers whose tooling reads CloudEvents: the value is the
    Avro single-object encoding of the record type named by ce_type."""
    when = occurred_at if isinstance(occurred_at, datetime) else datetime.fromtimestamp(occurred_at / 1000, timezone.utc)
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return [("ce_specversion", b"1.0"), ("ce_id", event_id.encode()), ("ce_type", record_type.encode()),
            ("ce_source", f"/tousu/{service}".encode()),
            ("ce_time", when.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z").encode()),
            ("content-type", b"application/avro")]


def published_position(app: ServiceApplication) -> int:
    """The position the service's relay has published to, as its store says,
    whichever worker leads."""
    return app.process_recorder.max_tracking_id(RELAY_TRACKING) or 0


class BrokerLost(Exception):
    """The broker's log is not the one this relay wrote: it lost data."""


class Unpublishable(Exception):
    """A stored event no broker will take: it cannot be encoded."""


class NotLeading(Exception):
    """Another worker of the service publishes."""


class Relay:
    def __init__(self, service: str, app: ServiceApplication, outbound: Outbound,
                 codec: Codec, bootstrap_servers: str, audited: bool = True,
                 leadership: Leadership | None = None):
        self.service = service
        # Of several workers of a service, only the leader publishes.
        self.leadership = leadership or Leadership(service, {})
        self.leading = False
        self.audited = audited
        self.app = app
        self.outbound = outbound
        # A page of such a relay holds only the dead letters among the events
        # stored, however many: decoding each to find there is nothing to send
        # cost a read model a tenth of its CPU.
        self.dead_letters_only = outbound is NO_OUTBOUND and not audited
        self.codec = codec
        self.bootstrap_servers = bootstrap_servers
        self.producer: AIOKafkaProducer | None = None
        self.known_topics: set[str] = set()
        self.last_hash = GENESIS
        self.position = 0
        # The highest position stored as published: a restoration publishes
        # below it without recording, and records again once past it.
        self.recorded = 0
        self._recorded_at = float("-inf")
        self.restoring_to: int | None = None
        self.restorations = 0
        # Since when (loop time) publishing fails, and why; None while it goes on.
        self.failing_since: float | None = None
        self.failure = ""
        # The highest offset the broker acknowledged on each partition written,
        # and the lowest of the last page that wrote there (see BrokerWatch).
        self.acked: dict[tuple[str, int], int] = {}
        self.floors: dict[tuple[str, int], int] = {}
        # The fingerprint of the message at each floor: on a topic other relays
        # write too, their restored records can lift its end above our floor.
        self.prints: dict[tuple[str, int], str] = {}
        self.states = AggregateStates(app)
        self.checkpoint = ChainCheckpoint(app)
        self.offsets = PublishedOffsets(app)
        # How far a restoration of the history has come (position, chain hash),
        # kept while one runs: the worker leading next takes it up from there.
        self.restored = ChainCheckpoint(app, name="restoring")
        self.watch = BrokerWatch(service, bootstrap_servers)
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None
        self._listener: StoreNotifications | None = None
        # Why the broker is known to have lost this relay's data, until restored.
        self._lost: str | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        # Its own thread for store reads: cancelling the relay does not stop a
        # read already running, so stop() waits for it before the store may close.
        self._reader = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix=f"relay-{service}")

    def wake(self) -> None:
        self._wake.set()

    def _wake_from_thread(self) -> None:
        self._loop.call_soon_threadsafe(self._wake.set)

    async def start_producer(self) -> None:
        self.producer = AIOKafkaProducer(
            # No linger: a page is handed over whole, so it leaves as one batch
            # anyway, and waiting for more only delayed every hop.
            bootstrap_servers=self.bootstrap_servers, acks="all", linger_ms=0,
            # The embedded broker cannot do idempotent producers; duplicates are
            # harmless because consumers deduplicate by event id.
            enable_idempotence=False, max_request_size=MAX_MESSAGE_BYTES, **kafka_security())
        await self.producer.start()

    async def start(self) -> None:
        await self.start_producer()
        # Every topic exists, with the registry's settings, before anything is sent.
        await create_topics(self.bootstrap_servers)
        self.known_topics = {t.name for t in registry.REGISTRY}
        self._loop = asyncio.get_running_loop()
        channel = getattr(self.app.recorder, "channel_name", None)
        if self.leadership.shared and channel:
            self._listener = StoreNotifications(self.leadership.env, channel, self._wake_from_thread)
            self._listener.start()
        if await self.in_store(self.leadership.acquire):
            await self._lead()
        self._task = asyncio.create_task(self._run(), name=f"relay-{self.service}")

    async def _lead(self) -> None:
        """Take up publishing where the store says it stands (another worker
        may have led until now)."""
        self.position = self.recorded = await self.in_store(published_position, self.app)
        restoring = await self.in_store(self.restored.load)
        self.restoring_to = None
        if restoring is not None and restoring[0] < self.recorded:
            # The worker that led before died while restoring a broker that had
            # lost the history: what it had not restored yet is restored now.
            self.position, self.last_hash = restoring
            self.restoring_to = self.recorded
            log.warning("relay %s: taking up the restoration of the history at position %s (of %s)",
                        self.service, self.position, self.restoring_to)
        else:
            if restoring is not None:
                await self.in_store(self.restored.clear)  # one that came through: nothing to take up
            if self.audited:
                self.last_hash = await self.in_store(self._hash_at, self.position)
        self.floors, self.prints = await self.in_store(self.offsets.load)
        self.acked = {}
        self.leading = True
        if self.leadership.shared:
            log.warning("relay %s: this worker leads: it publishes from position %s and runs the timers",
                        self.service, self.position)
        # Restored, if the broker lost what this relay wrote, on the first step.
        self._lost = await self.watch.lost(self.floors, self.prints)

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
            try:
                # Unsent messages are sent again after a restart; never wait on a dead broker.
                await within(3, self.producer.stop())
            except Exception:
                pass
        await self.watch.close()
        if self._listener is not None:
            self._listener.stop()
        # Handing the lead on at once rather than when the connection times out.
        await self.in_store(self.leadership.release)
        self.leading = False
        await asyncio.get_running_loop().run_in_executor(None, self._reader.shutdown, True)

    def _notifications(self, after: int, stop: int | None = None) -> list[Notification]:
        return list(self.app.recorder.select_notifications(
            after, PAGE, stop=stop, inclusive_of_start=False))

    def _page(self, after: int, stop: int | None = None) -> tuple[list[Notification], int]:
        """The next page to relay after `after`, and the position it reaches."""
        if not self.dead_letters_only:
            page = self._notifications(after, stop)
            return page, (page[-1].id if page else after)
        end = self.app.recorder.max_notification_id() or 0
        if stop is not None:
            end = min(end, stop)
        if end <= after:
            return [], after
        page = list(self.app.recorder.select_notifications(
            after, PAGE, stop=end, topics=DEAD_LETTER_TOPICS, inclusive_of_start=False))
        return page, (page[-1].id if len(page) == PAGE else end)

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
            actor_role=getattr(event, "by_role", None), actor_person=correlation.person_of(event))

    def messages_for(self, notification: Notification, prev_hash: str) -> tuple[list[tuple[str, bytes, bytes, list]], str]:
        event = self.app.mapper.to_domain_event(notification)
        out = []
        aggregate = self.states.after(event)
        outgoing = dead_letter_outgoing(self.service, event) or self.outbound(event, aggregate)
        rid = correlation.of_event(event)
        for item in outgoing:
            event_id = str(derive_id(self.service, notification.id, item.topic, item.record_type))
            record = {"event_id": event_id, "occurred_at": event.timestamp, **item.record}
            out.append(self._message(item.topic, item.key, item.record_type, record, event_id, notification.id,
                                     rid))
        if not self.audited:
            return out, prev_hash
        audit = self._audit(notification, event, aggregate, prev_hash)
        out.append(self._message("audit.log", self.service, "AuditRecord", audit, audit["event_id"], notification.id,
                                 rid))
        return out, audit["hash"]

    def _message(self, topic, key, record_type, record, event_id, position, rid: str | None = None):
        headers = [("event_id", event_id.encode()), ("event_type", record_type.encode()),
                   ("source", self.service.encode()), ("position", str(position).encode()),
                   *cloudevents(event_id, record_type, self.service, record["occurred_at"])]
        if rid:
            headers.append((correlation.REQUEST_ID, rid.encode()))
        value, key = self.codec.encode(record_type, record), key.encode("utf-8")
        # Found here, before any of its page is sent: the producer would refuse it
        # with the page half queued, and every retry would send that half again.
        size = len(value) + len(key) + sum(len(k) + len(v) for k, v in headers)
        if size > MAX_MESSAGE_BYTES - 64 * 1024:
            raise ValueError(f"{record_type} of {size} bytes is larger than the broker takes "
                             f"({MAX_MESSAGE_BYTES} bytes)")
        return topic, key, value, headers

    async def publish(self, after: int, stop: int | None = None, *, record_position: bool,
                      prev_hash: str) -> tuple[int, int, str]:
        """Publish one page of notifications after `after`; returns
        (count, last position, last hash). Raises BrokerLost when the broker
        acknowledges at an offset below one it acknowledged before."""
        page, last = await self.in_store(self._page, after, stop)
        if last == after:
            return 0, after, prev_hash
        batch = []
        for index, notification in enumerate(page):
            try:
                messages, next_hash = self.messages_for(notification, prev_hash)
            except UNPUBLISHABLE as exc:
                if index == 0:
                    raise Unpublishable(f"the event stored at position {notification.id}: {exc!r}") from exc
                # What comes before it goes out; the next page begins with it.
                page, last = page[:index], page[index - 1].id
                break
            batch.extend(messages)
            prev_hash = next_hash
        await self._ensure_topics({m[0] for m in batch})
        try:
            acks = await within(SEND_SECONDS, self._send(batch))
        except TookTooLong:
            # Seen with a broker replaced under a page in flight: the client waits
            # on metadata for ever. A new producer sends the page again (consumers
            # deduplicate by event id).
            await self._new_producer()
            raise
        self._check_acks(acks, [value for _, _, value, _ in batch])
        now = asyncio.get_running_loop().time()
        # While restoring, every page: how far it came is what a next leader takes up.
        if record_position and (batch or self.restoring_to is not None
                                or now - self._recorded_at >= RECORD_NOTHING_SECONDS):
            await self.in_store(self._record, last, prev_hash, dict(self.floors), dict(self.prints))
            self._recorded_at = now
        return len(page), last, prev_hash

    async def _send(self, batch) -> list:
        futures = [await self.producer.send(topic, value, key=key, headers=headers)
                   for topic, key, value, headers in batch]
        return await asyncio.gather(*futures)

    async def _new_producer(self) -> None:
        old, self.producer = self.producer, None
        try:
            await within(3, old.stop())
        except Exception:
            pass
        await self.start_producer()

    def _check_acks(self, acks, values: list[bytes]) -> None:
        lowest: dict[tuple[str, int], int] = {}
        for ack, value in zip(acks, values):
            tp = (ack.topic, ack.partition)
            if ack.offset < lowest.get(tp, ack.offset + 1):
                lowest[tp] = ack.offset
                self.prints[tp] = fingerprint(value)
        # A log only grows: an offset at or below one acknowledged before is another log.
        shrunk = [f"{t}/{p} acknowledged offset {o} after {self.acked[(t, p)]}"
                  for (t, p), o in lowest.items() if (t, p) in self.acked and o <= self.acked[(t, p)]]
        for ack in acks:
            tp = (ack.topic, ack.partition)
            self.acked[tp] = max(ack.offset, self.acked.get(tp, -1))
        self.floors.update(lowest)
        if shrunk:
            raise BrokerLost(shrunk[0])

    def _begin_restoring(self) -> None:
        """The floors of the lost log forgotten and the restoration's start kept,
        in one transaction: a worker leading after a crash in between restores."""
        datastore = getattr(self.app.process_recorder, "datastore", None)
        if datastore is None:  # a store with no SQL (unit tests' popo)
            self.offsets.clear()
            return
        with datastore.transaction(commit=True) as cursor:
            self.offsets.clear(cursor)
            self.restored.save(0, GENESIS, cursor)

    def _record(self, position: int, chain_hash: str, acked: dict, prints: dict) -> None:
        """The position, the floors and the chain's checkpoint, in one transaction:
        one commit (an fsync, or a round trip and a WAL flush) a page, not three."""
        advancing = position > self.recorded  # else restoring what was published before the broker lost it
        recorder = self.app.process_recorder
        try:
            if getattr(recorder, "datastore", None) is None:  # a store with no SQL (unit tests' popo)
                if advancing:
                    recorder.insert_tracking(Tracking(RELAY_TRACKING, position))
                self.offsets.save(acked, prints)
            else:
                self._record_in_one_commit(advancing, position, chain_hash, acked, prints)
        except IntegrityError:
            raise NotLeading(f"the published position is already past {position}") from None
        if advancing:
            self.recorded = position

    # As the library retries its own tracking insert: a connection that drops
    # for a moment need not send the page again.
    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def _record_in_one_commit(self, advancing: bool, position: int, chain_hash: str, acked: dict,
                              prints: dict) -> None:
        recorder = self.app.process_recorder
        with recorder.datastore.transaction(commit=True) as cursor:
            if advancing:
                recorder._insert_tracking(cursor, Tracking(RELAY_TRACKING, position))
            self.offsets.save(acked, prints, cursor)
            if advancing and self.audited:
                self.checkpoint.save(position, chain_hash, cursor)
            if self.restoring_to is not None:
                if position >= self.restoring_to:
                    self.restored.clear(cursor)
                else:
                    self.restored.save(position, chain_hash, cursor)

    async def _ensure_topics(self, names: set[str]) -> None:
        new = sorted(names - self.known_topics)
        if new:
            # Repair: a reader may have reached a missing inbox first and had
            # the broker auto-create it with its own partition count.
            await self._repair_topics(new)
            self.known_topics.update(new)

    async def _repair_topics(self, names: list[str] | None = None) -> None:
        """The topics (all of the registry's by default) as the registry has
        them, and the producer told. Without fresh metadata it keeps sending to
        stale leaders until its request timeout, or to a partition the broker
        had auto-created and the repair removed (the audit log with 4): it then
        finds that partition gone and restores again, for ever."""
        await create_topics(self.bootstrap_servers, names, repair=True)
        await self.producer.client.force_metadata_update()

    async def _restore(self, reason: str) -> None:
        """The broker lost what this relay published: create every topic again
        with the registry's settings and publish the whole history, in order,
        with the same bytes (consumers deduplicate by event id)."""
        # Topics first: if the broker falters here, the next step tries again.
        await self._repair_topics()
        self.restorations += 1
        self.restoring_to = max(self.position, self.recorded)
        what = ("its dead letters again (read from %s stored events)" if self.dead_letters_only
                else "the history again (%s events)")
        log.warning("relay %s: the broker lost data (%s); created the topics, publishing " + what,
                    self.service, reason, self.restoring_to)
        self.known_topics = {t.name for t in registry.REGISTRY}
        self.acked, self.floors, self.prints = {}, {}, {}
        await self.in_store(self._begin_restoring)
        self.position, self.last_hash = 0, GENESIS

    async def _run(self) -> None:
        """Publish for as long as the relay runs: no failure ends it. A broker
        that lost data is restored (again, until that succeeds)."""
        loop = asyncio.get_running_loop()
        self._failing, self._backoff = False, 0.1
        self._watched = self._led = loop.time()
        while True:
            try:
                await self._step()
            except asyncio.CancelledError:
                if asyncio.current_task().cancelling():
                    raise  # the relay is being stopped
                # A Kafka client future cancelled under us (a client closed meanwhile): not our stop.
                log.warning("relay %s: a broker call was cancelled; going on", self.service)
                await asyncio.sleep(self._backoff)
            except NotLeading as why:
                log.warning("relay %s: another worker leads (%s)", self.service, why)
                self._follow()
            except Exception as exc:
                # One line when publishing stops, one when it resumes; not one per retry.
                if not self._failing:
                    if isinstance(exc, (Unpublishable, MessageSizeTooLargeError)):
                        # No broker will take it: the service publishes nothing after it until mended.
                        what = (exc if isinstance(exc, Unpublishable)
                                else f"one after position {self.position}: {exc!r}")
                        log.error("relay %s: %s cannot be published; it stays stored, and nothing after it is "
                                  "published until it is mended", self.service, str(what)[:400])
                    else:
                        log.warning("relay %s: cannot publish at position %s (%s); retrying until the broker "
                                    "answers", self.service, self.position, repr(exc)[:300])
                    self._failing, self.failing_since = True, loop.time()
                    self.failure = repr(exc)[:300]
                await asyncio.sleep(self._backoff)
                self._backoff = min(self._backoff * 2, 5.0)
                if self.leading and self._lost is None:
                    self._lost = await self.watch.lost(self.floors, self.prints)

    async def _step(self) -> None:
        loop = asyncio.get_running_loop()
        if not self.leading:
            if not await self.in_store(self.leadership.acquire):
                await asyncio.sleep(LEAD_POLL_SECONDS)
                return
            await self._lead()
        if self._lost is not None:
            await self._restore(self._lost)
            self._lost = None
        if not await self._still_leads():
            return
        # Cleared before the store is read: a write from now on wakes the wait below.
        self._wake.clear()
        try:
            count, self.position, self.last_hash = await self.publish(
                self.position, record_position=True, prev_hash=self.last_hash)
        except BrokerLost as lost:
            self._lost = str(lost)
            return
        if self._failing:
            log.warning("relay %s: publishing again from position %s", self.service, self.position)
        self._failing, self._backoff, self.failing_since = False, 0.1, None
        if self.restoring_to is not None and self.position >= self.restoring_to:
            log.warning("relay %s: history restored up to position %s", self.service, self.position)
            self.restoring_to = None
        if count:
            return
        # Idle: until a writer wakes it or the safety net comes round, the
        # store is not read; the broker and the lead are checked meanwhile.
        polled = loop.time()
        while not self._wake.is_set():
            now = loop.time()
            if now - polled >= IDLE_POLL_SECONDS:
                return
            if now - self._watched >= WATCH_SECONDS:
                self._watched = now
                self._lost = await self.watch.lost(self.floors, self.prints)
                if self._lost is not None:
                    return
            if not await self._still_leads():
                return
            due = [polled + IDLE_POLL_SECONDS, self._watched + WATCH_SECONDS]
            if self.leadership.shared:
                due.append(self._led + LEAD_POLL_SECONDS)
            try:
                await asyncio.wait_for(self._wake.wait(), max(min(due) - loop.time(), 0.0))
            except asyncio.TimeoutError:
                pass

    async def _still_leads(self) -> bool:
        """Busy or idle, every LEAD_POLL_SECONDS: a leader whose lock connection
        closed stops at once (another worker may lead by now)."""
        loop = asyncio.get_running_loop()
        if not self.leadership.shared or loop.time() - self._led < LEAD_POLL_SECONDS:
            return True
        self._led = loop.time()
        if await self.in_store(self.leadership.holds):
            return True
        log.warning("relay %s: lost the lead (its store connection closed, or its heartbeat was long due)",
                    self.service)
        self._follow()
        return False

    def _follow(self) -> None:
        """Another worker publishes now: what failed here is not this worker's to report."""
        self.leading = False
        self._failing, self.failing_since = False, None


class BrokerWatch:
    """Tells whether the broker still holds what a relay wrote: every topic it
    wrote to exists, and no partition ends at or below the first offset of the
    last page written there. (Not the last offset: the embedded broker reports
    as a partition's end the base offset of its last batch plus one.) A broker
    that cannot be reached has lost nothing we know of."""

    def __init__(self, service: str, bootstrap_servers: str):
        self.service = service
        self.bootstrap_servers = bootstrap_servers
        self._admin: AIOKafkaAdminClient | None = None
        self._probe: AIOKafkaConsumer | None = None
        self.reachable = True

    async def lost(self, floors: dict[tuple[str, int], int], prints: dict[tuple[str, int], str]) -> str | None:
        if not floors:
            return None  # nothing written yet (a read model's relay, mostly): nothing to lose
        try:
            return await within(10, self._lost(floors, prints))
        except Exception as exc:
            if self.reachable:
                log.warning("relay %s: the broker does not answer (%s)", self.service, exc.__class__.__name__)
                self.reachable = False
            await self.close()
            return None

    async def _lost(self, floors, prints) -> str | None:
        if self._admin is None:
            self._admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap_servers,
                                              request_timeout_ms=5_000, **kafka_security())
            await self._admin.start()
            self._probe = AIOKafkaConsumer(bootstrap_servers=self.bootstrap_servers, enable_auto_commit=False,
                                           auto_offset_reset="none", fetch_max_wait_ms=100,
                                           # Kept between looks with its partitions paused:
                                           # its fetcher need not look round 5 times a second.
                                           consumer_timeout_ms=2_000,
                                           max_partition_fetch_bytes=4 * 1024 * 1024,
                                           request_timeout_ms=5_000, **kafka_security())
            await self._probe.start()
        present = set(await self._admin.list_topics())
        if not self.reachable:
            log.warning("relay %s: the broker answers again", self.service)
            self.reachable = True
        gone = sorted({topic for topic, _ in floors} - present)
        if gone:
            return f"topic {gone[0]} is gone"
        described = await self._admin.describe_topics(sorted({topic for topic, _ in floors}))
        counts = {d["topic"]: len(d["partitions"]) for d in described}
        for topic, partition in sorted(floors):
            if partition >= counts.get(topic, 0):
                return f"partition {topic}/{partition} is gone (the topic was created again)"
        # Only topics that exist: asking for the end of a missing one creates it on some brokers.
        ends = await self._probe.end_offsets([TopicPartition(t, p) for t, p in floors])
        for (topic, partition), offset in sorted(floors.items()):
            end = ends.get(TopicPartition(topic, partition))
            if end is not None and end <= offset:
                return f"{topic}/{partition} ends at offset {end}, at or below offset {offset} where its last page began"
        shared = {tp: floors[tp] for tp in floors if tp in prints and len(registry.topic(tp[0]).writers) > 1}
        keys = {tp: TopicPartition(*tp) for tp in shared}
        for tp, found in (await fingerprints_at(self._probe, keys, shared)).items():
            if found == MISSING or (found is not None and found != prints[tp]):
                return f"{tp[0]}/{tp[1]} holds another message at offset {shared[tp]} than the one it wrote there"
        return None

    async def close(self) -> None:
        for client in (self._probe, self._admin):
            if client is not None:
                try:
                    await within(3, client.stop() if client is self._probe else client.close())
                except Exception:
                    pass
        self._admin = self._probe = None


async def republish(service: str, app: ServiceApplication, outbound: Outbound, codec: Codec,
                    bootstrap_servers: str, start: int = 0, progress=None, audited: bool = True) -> int:
    """Send every notification from `start` (inclusive) again, with the same
    bytes as the first time. The running relay's own position is untouched.
    `audited` as the service's relay has it: a read model keeps no chain."""
    relay = Relay(service, app, outbound, codec, bootstrap_servers, audited=audited)
    await relay.start_producer()
    try:
        # What it writes exists first, with the registry's settings; inboxes as they come.
        await create_topics(bootstrap_servers, repair=True)
        relay.known_topics = {t.name for t in registry.REGISTRY}
        after = max(start - 1, 0)
        prev_hash = await relay.in_store(relay._hash_at, after)
        total = failures = 0
        while True:
            try:
                count, after, prev_hash = await relay.publish(after, record_position=False, prev_hash=prev_hash)
            except Exception as exc:
                # A page not acknowledged is sent again; a republish never stops half-way
                # on something the broker may still settle (a topic just created).
                failures += 1
                if failures > 30:
                    raise
                log.warning("republish %s: page after position %s not acknowledged (%r); sending it again",
                            service, after, exc)
                relay.acked.clear()
                relay.floors.clear()
                relay.prints.clear()
                await asyncio.sleep(min(0.2 * failures, 2.0))
                continue
            failures = 0
            if count == 0:
                return total
            total += count
            if progress:
                progress(total, after)
    finally:
        await relay.stop()
