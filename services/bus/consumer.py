"""Exactly-once effects over an at-least-once bus.

A batch of messages is split by partition; each partition's run is stored in
one unit of work together with what it consumed (the next offset, and the id of
every event handled: see consumed.py) and each source's tracking position. An
event whose id the store has seen had its effect already and is skipped,
whatever its position or the order it arrives in. Messages below the stored
offset were consumed already; a run that starts above it would skip messages
unread, so it is refused (OutOfPosition) and the partition is sought back.

Undecodable input, a record on the wrong topic, a message from a service that
does not write that topic, and input a handler refuses all become dead letters,
stored in the same way, and consumption goes on. A failure to write the store
is raised: the caller retries the batch and never skips ahead.
"""
from __future__ import annotations

import logging
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Callable

from eventsourcing.persistence import PersistenceError, Tracking

from . import correlation, topics as registry
from .codec import Codec, CodecError
from .consumed import Consumed, OutOfPosition, fingerprint
from .deadletters import DeadLetter, b64
from .messages import Decoded, Inbound
from .store import ServiceApplication, UnitOfWork

log = logging.getLogger(__name__)

Handler = Callable[[UnitOfWork, Decoded], None]

# A position this far above the source's tracked one is worth a look: a forged
# header, or a source whose store was replaced.
POSITION_JUMP = 1_000_000


@dataclass
class BatchResult:
    handled: int = 0
    skipped: int = 0
    dead: int = 0
    jumps: int = 0
    # Runs that start above the stored offset: not stored, to be read again.
    refused: list[OutOfPosition] = field(default_factory=list)

    def add(self, other: "BatchResult") -> None:
        self.handled += other.handled
        self.skipped += other.skipped
        self.dead += other.dead
        self.jumps += other.jumps
        self.refused += other.refused


# What a dead letter keeps of its message: enough to see and mend it by hand.
KEPT_BYTES = 512 * 1024
KEPT_KEY_BYTES = 1024
KEPT_ID_CHARS = 200
# Ids on the bus are UUIDs; one from outside is kept to this length.
MAX_EVENT_ID = 200


@dataclass
class _Item:
    message: Inbound
    decoded: Decoded | None = None
    error: str | None = None

    @property
    def event_id(self) -> str | None:
        if self.decoded is not None and self.decoded.record.get("event_id"):
            given = str(self.decoded.record["event_id"])
        else:
            raw = self.message.headers.get("event_id")
            given = raw.decode("utf-8", "replace") if raw else None
        # Kept as text by the store: PostgreSQL's holds no NUL (one refused every
        # batch after it, for ever), and an id is compared, never read.
        return given.replace("\x00", "\ufffd")[:MAX_EVENT_ID] if given else None

    @property
    def key(self) -> str | None:
        """What the store keeps of a handled event: its id on its topic. No
        topic's message stands for another's, so a writer of one topic (an
        agency's replies) cannot mark a coming complaint's id as handled.
        (Stores kept bare ids until then: those are looked up as well.)"""
        event_id = self.event_id
        return f"{self.message.topic}:{event_id}" if event_id else None

    def among(self, seen: set[str]) -> bool:
        return bool(self.event_id) and (self.key in seen or self.event_id in seen)


class BatchProcessor:
    def __init__(self, app: ServiceApplication, handle: Handler, codec: Codec):
        self.app = app
        self.handle = handle
        self.codec = codec

    @property
    def consumed(self):
        return self.app.process_recorder.consumed

    def process(self, messages: list[Inbound]) -> BatchResult:
        """Store the batch's effects, partition by partition; a partition whose
        run starts above the stored offset is refused (listed in the result)."""
        result = BatchResult()
        runs: OrderedDict[tuple[str, int], list[Inbound]] = OrderedDict()
        for message in messages:
            runs.setdefault((message.topic, message.partition), []).append(message)
        for tp, run in runs.items():
            try:
                self._process_run(tp, run, result)
            except OutOfPosition as exc:
                result.refused.append(exc)
        return result

    def _process_run(self, tp, run: list[Inbound], result: BatchResult) -> None:
        mark = self.consumed.mark(tp)
        if mark is not None:
            for message in run:
                # Below the stored offset: read already, unless the log is another one.
                if message.offset < mark.next_offset and _differs(mark, message):
                    raise OutOfPosition(tp, mark.next_offset, message.offset)
            fresh = [m for m in run if m.offset >= mark.next_offset]
            result.skipped += len(run) - len(fresh)
            run = fresh
            if run and run[0].offset != mark.next_offset:
                raise OutOfPosition(tp, mark.next_offset, run[0].offset)
        if not run:
            return
        items = [self._decode(m) for m in run]
        seen = self.consumed.seen([k for i in items if i.decoded is not None and i.event_id
                                   for k in (i.key, i.event_id)])
        start = 0
        while start < len(items):
            start = self._store_segment(items, start, seen, result)

    def _decode(self, message: Inbound) -> _Item:
        try:
            record_type, record = self.codec.decode(message.value)
            topic = registry.topic(message.topic)
            if record_type not in topic.record_types:
                raise CodecError(f"{record_type} does not belong on {message.topic}")
            if "agencies" not in topic.writers and message.source not in topic.writers:
                raise CodecError(f"source {message.source!r} is not a writer of {message.topic} "
                                 f"(its writers: {', '.join(topic.writers)})")
        except (CodecError, registry.UnknownTopic) as exc:
            return _Item(message, error=str(exc))
        return _Item(message, Decoded(message, record_type, record))

    def _store_segment(self, items: list[_Item], start: int, seen: set[str], result: BatchResult) -> int:
        """Handle items from `start` and store them; on a handler's refusal,
        store what came before it and its dead letter. Returns where to go on."""
        uow = UnitOfWork(self.app)
        taken = BatchResult()
        handled: list[_Item] = []
        refusal: str | None = None
        end = len(items)
        for index in range(start, len(items)):
            item = items[index]
            if item.decoded is None:
                added = self._add_dead_letter(uow, item.message, item.error)
                if added:
                    log.warning("dead-lettering undecodable input at %s/%s offset %s: %s", item.message.topic,
                                item.message.partition, item.message.offset, item.error)
                taken.dead += added
            elif item.among(seen):
                taken.skipped += 1
            else:
                try:
                    self._handle(uow, item)
                except PersistenceError:
                    raise
                except Exception as exc:
                    refusal, end = f"{type(exc).__name__}: {exc}", index
                    break
                taken.handled += 1
                handled.append(item)
                if item.key:
                    seen.add(item.key)
        if refusal is None:
            self._commit(uow, items[start:end], handled, result)
            result.add(taken)
            return end
        # A valid message the service cannot act on. Its handler may have
        # half-changed aggregates: store what came before it afresh, exactly as
        # decided the first time, then its dead letter, and go on after it.
        item = items[end]
        log.warning("dead-lettering %s at %s/%s offset %s: %s", item.decoded.record_type,
                    item.message.topic, item.message.partition, item.message.offset, refusal)
        if end > start:
            uow = UnitOfWork(self.app)
            for earlier in items[start:end]:
                if earlier.decoded is None:
                    self._add_dead_letter(uow, earlier.message, earlier.error)
                elif any(earlier is h for h in handled):
                    self._handle(uow, earlier)
            self._commit(uow, items[start:end], handled, result)
        uow = UnitOfWork(self.app)
        taken.dead += self._add_dead_letter(uow, item.message, refusal)
        if item.key:
            seen.add(item.key)
        self._commit(uow, [item], [item], result)
        result.add(taken)
        return end + 1

    def _handle(self, uow: UnitOfWork, item: _Item) -> None:
        """What the handler changes keeps the request id the message carries."""
        rid = correlation.of_headers(item.message.headers)
        token = correlation.request_id.set(rid)
        try:
            self.handle(uow, item.decoded)
            if log.isEnabledFor(logging.INFO):  # a line per message: not even its fields when unlogged
                log.info("handled %s %s", item.decoded.record_type, item.decoded.record.get("complaint_id") or "",
                         extra={"topic": item.message.topic, "partition": item.message.partition,
                                "offset": item.message.offset})
        finally:
            correlation.request_id.reset(token)
        uow.came_from(rid)

    def _commit(self, uow: UnitOfWork, items: list[_Item], handled: list[_Item], result: BatchResult) -> None:
        """Store a contiguous run with the ids of the events it handled (only
        those: a second worker storing one of them too fails on its key)."""
        if not items:
            return
        first, last = items[0].message, items[-1].message
        consumed = Consumed(first.topic, first.partition, first.offset, last.offset + 1,
                            fingerprint(first.value), fingerprint(last.value),
                            [i.key for i in handled if i.key])
        uow.commit(trackings=self._trackings(items, result), consumed=consumed)

    def _trackings(self, items: list[_Item], result: BatchResult) -> list[Tracking]:
        """Each source's highest position, where it rises: a record of how far
        each source was read (deduplication is by event id)."""
        highest: dict[str, int] = {}
        for item in items:
            name, position = item.message.tracking_name, item.message.position
            if name is None or item.decoded is None:
                continue
            highest[name] = max(position, highest.get(name, position))
        trackings = []
        for name, position in highest.items():
            tracked = self.app.process_recorder.max_tracking_id(name)
            if tracked is not None and position <= tracked:
                continue
            if position - (tracked or 0) > POSITION_JUMP:
                result.jumps += 1
                log.warning("position jump on %s: tracked %s, now %s (a forged header or a replaced source store)",
                            name, tracked, position)
            trackings.append(Tracking(name, position))
        return trackings

    def _add_dead_letter(self, uow: UnitOfWork, message: Inbound, error: str) -> int:
        letter_id = DeadLetter.create_id(message.topic, message.partition, message.offset, b64(message.value))
        if uow.get(letter_id) is not None:
            return 0
        # Kept in part past a size: whole, a sender's megabytes (thrice, the key) made
        # a dead letter larger than the broker takes, and the service published nothing after it.
        original, key = message.value[:KEPT_BYTES], (message.key or b"")[:KEPT_KEY_BYTES] or None
        if len(original) < len(message.value):
            error = f"{error[:1500]} (the original's first {KEPT_BYTES} of {len(message.value)} bytes kept)"
        complaint_id = key.decode("utf-8", "replace")[:KEPT_ID_CHARS] if key else None
        uow.add(DeadLetter(message.topic, message.partition, message.offset, error[:2000],
                           b64(key), b64(original), complaint_id))
        uow.came_from(correlation.of_headers(message.headers))
        return 1


def _differs(mark, message: Inbound) -> bool:
    """A message at an offset whose fingerprint the store keeps, and another one."""
    kept = {mark.anchor_offset: mark.anchor_fingerprint, mark.next_offset - 1: mark.last_fingerprint}
    expected = kept.get(message.offset)
    return expected is not None and fingerprint(message.value) != expected
