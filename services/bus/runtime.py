"""Running one service: its application, a faust agent over its input topics,
the relay, and its timers. `start()`/`stop()` let a test or `tousu up` run
several services in one process; `tousu worker SERVICE` runs one alone."""
from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import dataclasses
import functools
import logging
import time
from dataclasses import dataclass, field
from typing import Callable, Mapping

import faust
from faust import tables as faust_tables
from faust.transport.drivers import aiokafka as faust_kafka
from faust.types import TP
from eventsourcing.persistence import IntegrityError

from services.agencies.directory import Directory

from .bounded import within
from .clock import Clock
from .codec import Codec, default_codec
from .consumer import BatchProcessor, BatchResult, Handler
from . import topics as registry
from .messages import Decoded, Inbound
from .leadership import Leadership
from .positions import Positioner
from .relay import Outbound, Relay
from .settings import BusSettings, StoreSettings, faust_credentials
from .store import ServiceApplication, UnitOfWork

log = logging.getLogger(__name__)

FAUST_STOP_SECONDS = 4.0
# An after_stores timer runs at least this often, stored or not.
AFTER_STORES_AT_LEAST_EVERY_S = 30.0
# A member still joining its group cannot leave it until the broker answers the
# join, which a broker holds until the group settles (requests on a connection
# are answered in order): a stop would only wait for that.
JOINING_STOP_SECONDS = 0.5


@dataclass
class Timer:
    every_s: float
    run: Callable[[], object]
    name: str
    # Runs once the service has stored what it read, every_s after (one run for
    # all stored meanwhile), and otherwise every AFTER_STORES_AT_LEAST_EVERY_S:
    # work that follows the log, with nothing to do while nothing comes.
    after_stores: bool = False


# What an application does with one record it reads: (application, unit of work, record).
Reaction = Callable[[ServiceApplication, UnitOfWork, Decoded], None]


def every_record_of(topics: tuple[str, ...], reaction: Reaction) -> dict[str, Reaction]:
    """For a reader of whole topics (a read model): each of their record types, to one reaction."""
    return {record_type: reaction for name in topics for record_type in registry.topic(name).record_types}


@dataclass
class ServiceSpec:
    """What a service declares about itself."""

    name: str
    # The record types it reacts to and its reaction to each: its input topics,
    # its access grants and its AsyncAPI operations all follow from this table.
    reactions: Mapping[str, Reaction]
    application: Callable[..., ServiceApplication]
    outbound: Callable[[ServiceApplication], Outbound]
    timers: Callable[[ServiceApplication, Clock], list[Timer]] = field(default=lambda app, clock: [])
    # A read model derived from other services' events, rebuilt at will, keeps
    # no chain of its own on audit.log.
    audited: bool = True
    # The application is given the agency directory (reference data no service owns).
    directory: bool = False

    def build(self, env=None, clock: Clock | None = None) -> ServiceApplication:
        references = {"directory": Directory.load()} if self.directory else {}
        return self.application(env=env, clock=clock, **references)

    @property
    def inputs(self) -> tuple[str, ...]:
        """The topics that carry what it reacts to, in the table's order."""
        return tuple(dict.fromkeys(topic.name for record_type in self.reactions
                                   for topic in registry.topics_carrying(record_type)))

    def handler(self, app: ServiceApplication) -> Handler:
        """Records it has no reaction to pass by: a topic carries more types than one reader needs."""
        reactions = self.reactions

        def handle(uow: UnitOfWork, item: Decoded) -> None:
            reaction = reactions.get(item.record_type)
            if reaction is not None:
                reaction(app, uow, item)
        return handle


def faust_broker_url(bootstrap_servers: str) -> str:
    return ";".join(f"kafka://{server.strip()}" for server in bootstrap_servers.split(","))


class ServiceRunner:
    def __init__(self, spec: ServiceSpec, bus: BusSettings, store: StoreSettings,
                 clock: Clock | None = None, codec: Codec | None = None):
        self.spec = spec
        self.bus = bus
        self.clock = clock or Clock.from_env()
        self.codec = codec or default_codec()
        env = store.for_service(spec.name)
        self.app: ServiceApplication = spec.build(env=env, clock=self.clock)
        self.store_dir = store.data_dir
        self.store_dir.mkdir(parents=True, exist_ok=True)
        self.relay = Relay(spec.name, self.app, spec.outbound(self.app), self.codec, bus.bootstrap_servers,
                           audited=spec.audited, leadership=Leadership(spec.name, env))
        self.processor = BatchProcessor(self.app, spec.handler(self.app), self.codec)
        self.positioner = Positioner(spec.name, bus.bootstrap_servers, self.app.process_recorder.consumed)
        self.executor = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix=f"{spec.name}-store")
        # HTTP commands and timers: several at once, and all done before the store closes.
        self.commands = concurrent.futures.ThreadPoolExecutor(4, thread_name_prefix=f"{spec.name}-commands")
        self.faust_app: faust.App | None = None
        self._timer_tasks: list[asyncio.Task] = []
        self._stopping = False
        self._stored_wakes: list[asyncio.Event] = []
        self.processed = BatchResult()
        # (since when, why) a consumed batch cannot be stored; None while batches are.
        self.storing_failure: tuple[float, str] | None = None

    @property
    def name(self) -> str:
        return self.spec.name

    async def open(self) -> None:
        """The store and its relay: enough for HTTP commands to be taken."""
        if self.relay.producer is None:
            await self.relay.start()

    async def start(self) -> None:
        await self.open()
        # A group join takes seconds; HTTP may already be serving meanwhile.
        if self.spec.inputs:
            self.faust_app = self._build_faust_app()
            await self.faust_app.start()
        for timer in self.spec.timers(self.app, self.clock):
            self._timer_tasks.append(asyncio.create_task(self._run_timer(timer), name=timer.name))
        if self.faust_app is not None:
            self._timer_tasks.append(asyncio.create_task(self._guard_progress(), name=f"{self.name}-progress"))

    async def stop(self) -> None:
        self._stopping = True
        for task in self._timer_tasks:
            task.cancel()
        if self.faust_app is not None:
            joined = bool(self.assigned())
            try:
                # Leaving the group and committing need the broker; without one
                # there is nothing to wait for (the store holds the offsets).
                await within(FAUST_STOP_SECONDS if joined else JOINING_STOP_SECONDS, self.faust_app.stop())
            except Exception:
                if joined:
                    log.warning("%s: the consumer did not leave its group in time (broker unreachable?)", self.name)
        await self.relay.stop()
        await self.positioner.close()
        # A cancelled timer or request may still be running in its thread.
        await asyncio.get_running_loop().run_in_executor(None, self.commands.shutdown, True)
        await asyncio.get_running_loop().run_in_executor(None, self.executor.shutdown, True)
        self.app.close()

    @property
    def consumer(self):
        """faust's consumer of this worker's inputs (None before it starts, or without inputs)."""
        return getattr(self.faust_app, "_consumer", None) if self.faust_app else None

    def assigned(self) -> set:
        """The partitions this worker's consumer holds (none while it joins its group)."""
        try:
            return set(self.consumer.assignment()) if self.consumer is not None else set()
        except Exception:
            return set()

    def _build_faust_app(self) -> faust.App:
        app = _StorePositionedApp(
            f"tousu-{self.name}",
            broker=faust_broker_url(self.bus.bootstrap_servers),
            web_enabled=False,
            broker_session_timeout=self.bus.session_timeout_s,
            broker_heartbeat_interval=self.bus.heartbeat_interval_s,
            broker_rebalance_timeout=self.bus.rebalance_timeout_s,
            # Reading resumes from the offsets the store keeps; the group's
            # commits are for lag tools outside, which can trail a few seconds.
            # (faust looks for a stuck partition at 2.5 times this, too.)
            broker_commit_interval=5.0,
            # Topics come from the registry; faust must never create them with
            # its own partition counts.
            topic_allow_declare=False,
            topic_disable_leader=True,
            consumer_auto_offset_reset="earliest",
            producer_max_request_size=2 * 1024 * 1024,
            consumer_max_fetch_size=4 * 1024 * 1024,
            datadir=str(self.store_dir / f"faust-{self.name}"),
            broker_credentials=faust_credentials(),
            loghandlers=[],
            Stream=_BatchingStream,
            TableManager=_NoTablesManager,
            monitor=_QuietMonitor(),
        )
        app.positioner = self.positioner
        app.fetch_pace = FetchPace(self.bus.active_fetch_wait_ms(self.name),
                                   (self.bus.fetch_quiet_wait_ms, self.bus.fetch_quiet_after_s),
                                   (self.bus.fetch_idle_wait_ms, self.bus.fetch_idle_after_s))
        topic = app.topic(*self.spec.inputs, key_type=bytes, value_type=bytes,
                          key_serializer="raw", value_serializer="raw", allow_empty=True)

        async def inbound(stream):
            # faust acks a taken batch once this body moves on, so the body must
            # not move on before the batch is stored.
            async for events in stream.batches(self.bus.batch_size, self.bus.batch_within_s):
                try:
                    await self.process([_inbound(e) for e in events])
                except asyncio.CancelledError:
                    # Cut short while the worker stops (faust revokes the partitions
                    # before it marks its agents stopping, and takes that for a
                    # crash): what was not stored is read again after the restart.
                    if self._stopping:
                        return
                    raise

        app.agent(topic, name=f"tousu-{self.name}.inbound")(inbound)
        return app

    async def process(self, messages: list[Inbound]) -> BatchResult:
        result = await self._store(messages)
        for refused in result.refused:
            run = [m for m in messages if (m.topic, m.partition) == refused.tp]
            await self._catch_up(refused, run)
        return result

    async def _store_read(self, tp, expected: int, messages: list[Inbound]) -> BatchResult:
        """Store messages read from the broker from `expected` on. Offsets the log
        does not hold (the read started there and found the next one further on)
        hold nothing to handle: the partition goes on where its messages do."""
        messages = sorted({m.offset: m for m in messages}.values(), key=lambda m: m.offset)
        if messages and messages[0].offset > expected:
            log.warning("%s: %s/%s has no messages at offsets %s..%s; going on at %s", self.name, *tp,
                        expected, messages[0].offset - 1, messages[0].offset)
            await asyncio.get_running_loop().run_in_executor(
                None, self.app.process_recorder.consumed.restart_at, tp, messages[0].offset)
        return await self._store(messages)

    async def _guard_progress(self, every_s: float = 5.0) -> None:
        """The consumer must never leave a message unread: a partition whose
        log holds messages past the store's offset and that made no progress
        since the last look (the consumer dropped them, e.g. as read before a
        seek) is read from the broker directly and stored."""
        seen: dict[tuple[str, int], int] = {}
        while True:
            await asyncio.sleep(every_s)
            try:
                assigned = {(tp.topic, tp.partition) for tp in self.faust_app.consumer.assignment()}
                if not assigned:
                    continue
                marks = await asyncio.get_running_loop().run_in_executor(
                    None, self.app.process_recorder.consumed.marks)
                ends = await self.positioner.ends(assigned)
                for tp in sorted(assigned):
                    stored = marks[tp].next_offset if tp in marks else None
                    if stored is None or ends.get(tp, 0) <= stored or seen.get(tp) != stored:
                        seen[tp] = stored
                        continue
                    log.warning("%s: %s/%s stands at offset %s while its log goes on to %s; reading them "
                                "from the broker", self.name, *tp, stored, ends[tp])
                    await self._store_read(tp, stored, await self.positioner.read(tp, stored, ends[tp]))
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("%s: could not check the consumer's progress (%r)", self.name, exc)

    async def _catch_up(self, refused, run: list[Inbound], rounds: int = 3) -> None:
        """A run the store refused. Above the stored offset: the messages between
        were skipped by the consumer (fetched before a seek, or from before a
        broker was replaced), so they are read from the broker directly and
        stored before the run, in order. Below it, holding other messages:
        another log, checked and read again from its start."""
        for _ in range(rounds):
            if refused.got < refused.expected:
                await self._seek_back(refused)
                return
            log.warning("%s: %s; reading offsets %s..%s from the broker", self.name, refused,
                        refused.expected, refused.got - 1)
            try:
                gap = await self.positioner.read(refused.tp, refused.expected, refused.got)
            except Exception as exc:
                log.warning("%s: could not read %s/%s yet (%r)", self.name, *refused.tp, exc)
                gap = []
            if not gap:
                # The log does not have them (any more): check it, and seek.
                await self._seek_back(refused)
                return
            again = await self._store_read(refused.tp, refused.expected, gap + run)
            if not again.refused:
                return
            refused = again.refused[0]

    async def _seek_back(self, refused) -> None:
        tp = TP(*refused.tp)
        if self.faust_app is None or tp not in self.faust_app.consumer.assignment():
            return  # another worker took the partition over; it reads from the store's offset
        log.warning("%s: %s; checking its log and seeking back", self.name, refused)
        try:
            target = (await self.positioner.positions({refused.tp}))[refused.tp]
            await self.faust_app.consumer.seek(tp, target)
        except Exception as exc:
            # The next refused batch asks again; the store is never written out of place meanwhile.
            log.warning("%s: could not seek %s/%s back yet (%r)", self.name, *refused.tp, exc)

    async def _store(self, messages: list[Inbound]) -> BatchResult:
        backoff, conflicts, failed_since = 0.1, 0, None
        while True:
            future = self.executor.submit(self.processor.process, messages)
            try:
                result = await asyncio.wrap_future(future)
            except asyncio.CancelledError:
                # Stopping while the store write runs: let it finish before the
                # store closes. Unstored, the batch is simply read again: the
                # store's offsets, not the broker's, say where reading resumes.
                await asyncio.gather(asyncio.wrap_future(future), return_exceptions=True)
                raise
            except IntegrityError as conflict:
                # Most often two workers of a service storing the same aggregate
                # at once (each reads other topics' partitions): the batch tried
                # again reads what the other stored. Expected, not a fault; one
                # that comes back every time is, and is said as such.
                conflicts += 1
                if conflicts <= 3:
                    log.info("%s: a write conflicted with one stored meanwhile (%s); storing the batch again",
                             self.name, str(conflict).splitlines()[0][:200])
                else:
                    log.exception("%s: the batch conflicts with what is stored, %s times now; retrying, never "
                                  "skipping", self.name, conflicts)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
                continue
            except Exception as exc:
                log.exception("%s could not store a batch; retrying, never skipping", self.name)
                # Said by /readyz: nothing after this batch is consumed until it is stored.
                failed_since = failed_since or asyncio.get_running_loop().time()
                self.storing_failure = (failed_since, repr(exc)[:300])
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
                continue
            self.storing_failure = None
            self.processed.add(dataclasses.replace(result, refused=[]))
            self.relay.wake()
            for stored in self._stored_wakes:
                stored.set()
            return result

    async def run_in_store(self, fn, *args):
        """Run a command against the store off the event loop, then wake the relay."""
        # With the caller's context: the request id goes onto what is stored.
        call = functools.partial(contextvars.copy_context().run, fn, *args)
        result = await asyncio.get_running_loop().run_in_executor(self.commands, call)
        self.relay.wake()
        return result

    async def _run_timer(self, timer: Timer) -> None:
        stored = asyncio.Event()
        if timer.after_stores:
            self._stored_wakes.append(stored)
        while True:
            if timer.after_stores:
                # Also now and then with nothing stored here: another worker of
                # the service may have stored it (a shared store), or a run failed.
                try:
                    await asyncio.wait_for(stored.wait(), AFTER_STORES_AT_LEAST_EVERY_S)
                except asyncio.TimeoutError:
                    pass
                stored.clear()
            await asyncio.sleep(timer.every_s)
            if not self.relay.leading:
                continue  # timers run once per service: on the worker that leads
            try:
                await self.run_in_store(timer.run)
            except Exception:
                log.exception("%s timer %s failed; it runs again", self.name, timer.name)


class _StorePositionedThread(faust_kafka.AIOKafkaConsumerThread):
    """faust seeks to the group's committed offsets after every rebalance and
    whenever its flow restarts; here that means the offsets the store keeps."""

    def _create_worker_consumer(self, transport):
        consumer = super()._create_worker_consumer(transport)
        # faust fixes the fetch wait at 1.5 s. A broker that answers a fetch as
        # soon as data arrives (Apache Kafka) makes that harmless; the embedded
        # one holds a fetch up to about half its wait, each hop's latency there.
        consumer._fetch_max_wait_ms = self.app.fetch_pace.idle_ms
        # aiokafka's fetcher also looks round every 0.2 s with a fetch already
        # waiting at the broker, five wake-ups a second idle: a fetch's answer
        # and each drained partition wake it anyway.
        consumer._consumer_timeout = 2.0
        return consumer

    async def _fetch_records(self, consumer, active_partitions, timeout=None, max_records=None):
        records = await super()._fetch_records(consumer, active_partitions, timeout=timeout,
                                               max_records=max_records)
        # Set before the fetcher sends its next request: draining these records
        # only wakes it, and it runs once this returns.
        if consumer._fetcher is not None:
            consumer._fetcher._fetch_max_wait_ms = self.app.fetch_pace.wait_ms(bool(records))
        return records

    # mode pokes the parent's event loop every 1.1 s from here, idle or not,
    # and logs should that loop itself lag. The thread's own tick
    # (_thread_keepalive) stays: without it a stopping consumer thread could
    # outlive the loop that stopped it.
    async def _keepalive2(self) -> None:
        return None

    def set_shutdown(self) -> None:
        # A stop that timed out (a member still joining its group is given
        # little time) can let the parent's event loop close before this thread
        # is done: then nothing waits to hear that it stopped, and it goes on
        # stopping its own futures rather than dying on the closed loop.
        try:
            super().set_shutdown()
        except RuntimeError:
            if not self.parent_loop.is_closed():
                raise

    async def on_thread_stop(self) -> None:
        coordinator = getattr(self._consumer, "_coordinator", None)
        if coordinator is not None:
            _leave_from_generation_zero(coordinator)
        await super().on_thread_stop()

    async def seek_to_committed(self):
        return await self.call_thread(self._seek_from_store)

    async def _seek_from_store(self):
        consumer = self._ensure_consumer()
        assigned = consumer.assignment()
        offsets = await self.app.positioner.positions({(tp.topic, tp.partition) for tp in assigned})
        for tp in assigned:
            consumer.seek(tp, offsets[(tp.topic, tp.partition)])
        return {tp: offsets[(tp.topic, tp.partition)] for tp in assigned}


def _leave_from_generation_zero(coordinator) -> None:
    """A member that stops leaves its group, so that the others take its
    partitions at once rather than after its session times out. aiokafka
    leaves only from generation 1 on (Apache Kafka's first); the embedded
    broker numbers its first generation 0. LeaveGroup carries no generation,
    and by the time aiokafka decides, heartbeats and commits have stopped."""
    leave = coordinator._maybe_leave_group

    async def maybe_leave_group():
        if coordinator.generation == 0 and coordinator.member_id:
            coordinator.generation = 1
        await leave()
    coordinator._maybe_leave_group = maybe_leave_group


class _NoTablesManager(faust_tables.TableManager):
    """faust's table manager waits a second at start for tables to register
    before the consumer may subscribe; a service declares none, and that
    second delayed every start's first message."""

    async def on_start(self) -> None:
        if not self.should_stop:
            await self._update_channels()
            await self.recovery.start()


class _StorePositionedConsumer(faust_kafka.Consumer):
    def _new_consumer_thread(self):
        return _StorePositionedThread(self, loop=self.loop, beacon=self.beacon)


class _StorePositionedTransport(faust_kafka.Transport):
    Consumer = _StorePositionedConsumer


class FetchPace:
    """How long a fetch may wait at the broker: the short wait while messages
    flow (on a broker that holds a fetch up to about half its wait, the
    embedded one, it bounds each hop), a longer one once none came for a
    moment, and the long one once none came for a while, so an idle consumer
    asks once a second rather than a hundred times, and the broker answers
    it as seldom. The first message after a pause may wait up to about half
    the wait then in force at each hop (each consumer slows down on its own);
    the ones that follow it do not. Each later step is (wait ms, after s)."""

    def __init__(self, active_ms: int, *steps: tuple[int, float]):
        self.active_ms = active_ms
        self.steps = sorted(steps, key=lambda step: step[1], reverse=True)
        self._last = float("-inf")

    @property
    def idle_ms(self) -> int:
        """The wait of a consumer that has had nothing yet."""
        return self.steps[0][0] if self.steps else self.active_ms

    def wait_ms(self, got_records: bool, now: float | None = None) -> int:
        now = time.monotonic() if now is None else now
        if got_records:
            self._last = now
        quiet_for = now - self._last
        return next((wait for wait, after in self.steps if quiet_for >= after), self.active_ms)


class _StorePositionedApp(faust.App):
    positioner: Positioner
    fetch_pace: FetchPace

    def _new_transport(self):
        return _StorePositionedTransport(self.conf.broker_consumer, self)


class _QuietMonitor(faust.Monitor):
    """faust's own statistics (the services keep theirs in Prometheus): no
    sampling every second, idle or not, and no bookkeeping on each message,
    commit and send, but for the one time faust itself reads: when a stream
    last took an event from each partition, which its check for a stuck
    partition compares with the broker's end."""

    @faust.Service.task
    async def _sampler(self) -> None:
        return None

    def on_stream_event_in(self, tp, offset, stream, event):
        self.stream_inbound_time[tp] = time.monotonic()


for _hook, _nothing in vars(faust.Sensor).items():
    if _hook.startswith("on_") and _hook != "on_stream_event_in" and callable(_nothing):
        setattr(_QuietMonitor, _hook, _nothing)
_QuietMonitor.track_tp_end_offset = lambda self, tp, offset: None
_QuietMonitor.on_tp_commit = lambda self, offsets: None


class _BatchingStream(faust.Stream):
    """Batches as take_events does, without its idle cost: take_events wakes
    every `within` seconds even when nothing came (a worker at 5 ms woke 200
    times a second, a few per cent of a core each, doing nothing). Here the
    first event is awaited without a timer; only then does the window run."""

    def batches(self, max_: int, within: float):
        batches = self._batches(max_, within)
        # Closed by the stream when it stops, as its own buffering generators are.
        self._active_agens.add(batches)
        return batches

    async def _batches(self, max_: int, within: float):
        events: list = []
        arrived, full, open_ = asyncio.Event(), asyncio.Event(), asyncio.Event()
        open_.set()

        async def keep(value):
            # Closed while a batch is being handled, and once it holds max_:
            # the drainer then waits, and the broker's messages with it.
            await open_.wait()
            events.append(self.current_event)
            arrived.set()
            if len(events) >= max_:
                full.set()
                open_.clear()
            return value

        acks, self.enable_acks = self.enable_acks, False  # acked below, once handled
        self.add_processor(keep)
        self._enable_passive(aiter(self.channel))
        try:
            while not self.should_stop:
                await self.wait_for_stopped(arrived)
                if within and not full.is_set():
                    await self.wait_for_stopped(full, timeout=within)
                elif not within:
                    # A fetch's messages are already on their way through the
                    # stream: let them in, turn by turn, until a turn adds none.
                    count = -1
                    while count != len(events) and not full.is_set():
                        count = len(events)
                        await asyncio.sleep(0)
                if not events:
                    continue
                open_.clear()
                batch = list(events)
                try:
                    yield batch
                finally:
                    events.clear()
                    arrived.clear()
                    full.clear()
                    for event in batch:
                        await self.ack(event)
                    open_.set()
        finally:
            self.enable_acks = acks
            self._processors.remove(keep)


def _inbound(event) -> Inbound:
    message = event.message
    headers = event.headers or {}
    if not isinstance(headers, dict):
        headers = dict(headers)
    value = event.value if isinstance(event.value, (bytes, bytearray)) else message.value
    return Inbound(message.topic, message.partition, message.offset, message.key,
                   bytes(value or b""), {k: bytes(v) for k, v in headers.items() if v is not None})
