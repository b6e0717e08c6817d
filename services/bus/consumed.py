"""What a service has consumed, kept in its own store in the same transaction as
the events its handlers produced: the Kafka offset reached on each partition,
and every event it handled, by its topic and id.

The broker's group offsets are a convenience; these are the truth. A consumer
resumes from them, and a batch whose first offset is not the one the store
expects is refused inside the transaction (the store moved on, or the broker's
log is not the one it was), so nothing is ever stored out of place. Event ids
make a re-read harmless in any order, which a broker that lost its data and was
refilled by republishing (history and new messages interleaved) needs.

A partition's log is recognised by two fingerprints: the first message read
after the consumer was positioned at the log's start (the anchor), and the last
one handled. A broker whose message at either offset differs holds another log.
"""
from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass, field

from .sqltext import as_tuple, statement, store_kind

TP = tuple[str, int]

OFFSETS = "tousu_consumed_offsets"
EVENTS = "tousu_consumed_events"


class OutOfPosition(Exception):
    """A batch that does not start where the store says this partition stands."""

    def __init__(self, tp: TP, expected: int | None, got: int):
        super().__init__(f"{tp[0]}/{tp[1]}: the store stands at offset {expected}, the batch starts at {got}")
        self.tp, self.expected, self.got = tp, expected, got


def fingerprint(value: bytes) -> str:
    return hashlib.sha256(value).hexdigest()[:32]


@dataclass(frozen=True)
class Mark:
    """Where a partition stands in the store."""

    next_offset: int
    last_fingerprint: str | None = None
    anchor_offset: int | None = None
    anchor_fingerprint: str | None = None


@dataclass
class Consumed:
    """A contiguous run of one partition, stored with a unit of work."""

    topic: str
    partition: int
    first_offset: int
    next_offset: int
    first_fingerprint: str
    last_fingerprint: str
    event_ids: list[str] = field(default_factory=list)

    @property
    def tp(self) -> TP:
        return (self.topic, self.partition)


class ConsumedStore:
    """The two tables, on whichever datastore the application uses; in memory
    for the popo store of unit tests."""

    def __init__(self, recorder):
        self.recorder = recorder
        self.datastore = getattr(recorder, "datastore", None)
        self.kind = store_kind(self.datastore) or "memory"
        self._created = False
        self._lock = threading.Lock()
        self._marks: dict[TP, Mark] = {}
        self._events: set[str] = set()

    # Inside the events' transaction ------------------------------------------

    def write(self, cursor, consumed: Consumed) -> None:
        """Advance the partition's mark and record the event ids, or raise
        OutOfPosition (rolling the whole transaction back)."""
        if self.kind == "memory":
            return self._write_memory(consumed)
        self._create(cursor)
        lock = " FOR UPDATE" if self.kind == "postgres" else ""
        cursor.execute(self._sql("SELECT next_offset, anchor_offset FROM {offsets} WHERE topic = ? AND part = ?"
                                 + lock), consumed.tp)
        row = as_tuple(cursor.fetchone())
        if row is None:
            cursor.execute(self._sql(
                "INSERT INTO {offsets} (topic, part, next_offset, last_fingerprint, anchor_offset, "
                "anchor_fingerprint) VALUES (?, ?, ?, ?, ?, ?)"),
                (*consumed.tp, consumed.next_offset, consumed.last_fingerprint, consumed.first_offset,
                 consumed.first_fingerprint))
        elif row[0] != consumed.first_offset:
            raise OutOfPosition(consumed.tp, row[0], consumed.first_offset)
        elif row[1] is None:
            cursor.execute(self._sql(
                "UPDATE {offsets} SET next_offset = ?, last_fingerprint = ?, anchor_offset = ?, "
                "anchor_fingerprint = ? WHERE topic = ? AND part = ?"),
                (consumed.next_offset, consumed.last_fingerprint, consumed.first_offset,
                 consumed.first_fingerprint, *consumed.tp))
        else:
            cursor.execute(self._sql(
                "UPDATE {offsets} SET next_offset = ?, last_fingerprint = ? WHERE topic = ? AND part = ?"),
                (consumed.next_offset, consumed.last_fingerprint, *consumed.tp))
        if consumed.event_ids:
            # No ON CONFLICT: an id stored meanwhile (another worker handled the
            # same event) must roll this transaction back; its retry skips the event.
            cursor.executemany(self._sql("INSERT INTO {events} (event_id) VALUES (?)"),
                               [(e,) for e in consumed.event_ids])

    def _write_memory(self, consumed: Consumed) -> None:
        with self._lock:
            mark = self._marks.get(consumed.tp)
            if mark is not None and mark.next_offset != consumed.first_offset:
                raise OutOfPosition(consumed.tp, mark.next_offset, consumed.first_offset)
            anchor = ((mark.anchor_offset, mark.anchor_fingerprint) if mark and mark.anchor_offset is not None
                      else (consumed.first_offset, consumed.first_fingerprint))
            if self._events.intersection(consumed.event_ids):
                from eventsourcing.persistence import IntegrityError

                raise IntegrityError(f"events handled already: {sorted(self._events & set(consumed.event_ids))}")
            self._marks[consumed.tp] = Mark(consumed.next_offset, consumed.last_fingerprint, *anchor)
            self._events.update(consumed.event_ids)

    # On their own ------------------------------------------------------------

    def mark(self, tp: TP) -> Mark | None:
        if self.kind == "memory":
            return self._marks.get(tp)
        with self.datastore.transaction(commit=True) as cursor:
            self._create(cursor)
            cursor.execute(self._sql("SELECT next_offset, last_fingerprint, anchor_offset, anchor_fingerprint "
                                     "FROM {offsets} WHERE topic = ? AND part = ?"), tp)
            row = as_tuple(cursor.fetchone())
        return Mark(*row) if row else None

    def marks(self) -> dict[TP, Mark]:
        if self.kind == "memory":
            return dict(self._marks)
        with self.datastore.transaction(commit=True) as cursor:
            self._create(cursor)
            cursor.execute(self._sql("SELECT topic, part, next_offset, last_fingerprint, anchor_offset, "
                                     "anchor_fingerprint FROM {offsets}"))
            rows = [as_tuple(r) for r in cursor.fetchall()]
        return {(r[0], r[1]): Mark(*r[2:]) for r in rows}

    def restart_at(self, tp: TP, offset: int) -> None:
        """Position a partition at `offset` of a log the store has not seen:
        the next batch stored sets the anchor afresh."""
        if self.kind == "memory":
            with self._lock:
                self._marks[tp] = Mark(offset)
            return
        with self.datastore.transaction(commit=True) as cursor:
            self._create(cursor)
            cursor.execute(self._sql(
                "INSERT INTO {offsets} (topic, part, next_offset) VALUES (?, ?, ?) ON CONFLICT (topic, part) "
                "DO UPDATE SET next_offset = excluded.next_offset, last_fingerprint = NULL, "
                "anchor_offset = NULL, anchor_fingerprint = NULL"), (*tp, offset))

    def seen(self, event_ids: list[str]) -> set[str]:
        if not event_ids:
            return set()
        if self.kind == "memory":
            with self._lock:
                return self._events.intersection(event_ids)
        found: set[str] = set()
        with self.datastore.transaction(commit=True) as cursor:
            self._create(cursor)
            for start in range(0, len(event_ids), 500):
                chunk = event_ids[start:start + 500]
                marks = ", ".join("?" * len(chunk))
                cursor.execute(self._sql(f"SELECT event_id FROM {{events}} WHERE event_id IN ({marks})"), chunk)
                found.update(as_tuple(r)[0] for r in cursor.fetchall())
        return found

    def create(self) -> None:
        if self.kind == "memory":
            return
        with self.datastore.transaction(commit=True) as cursor:
            self._create(cursor)

    # -------------------------------------------------------------------------

    def _create(self, cursor) -> None:
        if self._created:
            return
        cursor.execute(self._sql(
            "CREATE TABLE IF NOT EXISTS {offsets} (topic TEXT NOT NULL, part INTEGER NOT NULL, "
            "next_offset BIGINT NOT NULL, last_fingerprint TEXT, anchor_offset BIGINT, anchor_fingerprint TEXT, "
            "PRIMARY KEY (topic, part))"))
        cursor.execute(self._sql("CREATE TABLE IF NOT EXISTS {events} (event_id TEXT PRIMARY KEY)"))
        self._created = True

    def _sql(self, text: str):
        return statement(self.kind, self.datastore, text, offsets=OFFSETS, events=EVENTS)
