"""Event-store glue: one eventsourcing Application per service, whose recorder
also records tracking, and a unit of work that stores a batch's new events and
its tracking position in one transaction."""
from __future__ import annotations

import contextlib
import functools
import uuid
from typing import Any

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import IntegrityError, ProcessRecorder, Tracking

from services.ids import sealed

from . import correlation
from .consumed import Consumed, ConsumedStore

# How often a command meets a concurrent change to its aggregate before it gives up.
ATTEMPTS = 5


def retried(run, attempts: int = ATTEMPTS):
    """Run a load-change-save again, afresh, while a concurrent change to the
    same aggregate (an optimistic-concurrency conflict) wins the save."""
    for attempt in range(attempts):
        try:
            return run()
        except IntegrityError:
            if attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")


def conflict_retried(command):
    """For a command method that loads, changes and saves by itself: the same
    retry as `ServiceApplication.change`."""
    @functools.wraps(command)
    def run(self, *args, **kwargs):
        return retried(lambda: command(self, *args, **kwargs))
    return run


class ServiceApplication(Application):
    """A service's application. Tracking needs a process recorder: a plain
    Application would silently ignore `tracking=`."""

    def __init__(self, env=None, clock=None):
        from .clock import Clock

        self.clock = clock or Clock()
        # Workers of one service start together on one schema; PostgreSQL's
        # CREATE ... IF NOT EXISTS is not safe against a concurrent twin.
        with _schema_lock(env or {}):
            super().__init__(env=env)
            self.construct_tables()

    def construct_tables(self) -> None:
        """Create every table of the service's own (the library makes its own
        in the constructor), while no twin worker can be creating them."""
        from .checkpoints import ChainCheckpoint, PublishedOffsets

        self.recorder.consumed.create()
        ChainCheckpoint(self).create()
        PublishedOffsets(self).create()

    def construct_recorder(self) -> ProcessRecorder:
        _sync_sqlite_as(self.factory, self.env.get("SQLITE_SYNCHRONOUS"))
        recorder = self.factory.process_recorder()
        recorder.__class__ = _consuming(type(recorder))
        recorder.consumed = ConsumedStore(recorder)
        return recorder

    def register_transcodings(self, transcoder) -> None:
        from .transcoding import DateAsISO

        super().register_transcodings(transcoder)
        transcoder.register(DateAsISO())

    @property
    def process_recorder(self) -> ProcessRecorder:
        return self.recorder  # type: ignore[return-value]

    def change(self, load, command, attempts: int = ATTEMPTS):
        """Load an aggregate, apply a command, save it; a concurrent change to the
        same aggregate (an optimistic-concurrency conflict) is retried afresh."""
        def once():
            aggregate = load()
            command(aggregate)
            self.save(aggregate)
            return aggregate
        return retried(once, attempts)

    def save(self, *objs, **kwargs):
        correlation.stamp((e for o in objs for e in getattr(o, "_pending_events", ())), correlation.request_id.get(),
                          correlation.person.get())
        return super().save(*objs, **kwargs)

    def sealed(self, key: str) -> str:
        """A business key holding personal data, sealed with the service's
        secret (ids.sealed) before it is stored or an id is derived from it."""
        return sealed(self._secret, key)

    @functools.cached_property
    def _secret(self) -> bytes:
        from services import auth  # the key tokens are signed with, read once it is needed

        return auth.signing_key()

    def find(self, aggregate_id):
        try:
            return self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return None


def _sync_sqlite_as(factory, synchronous: str | None) -> None:
    """Every connection to the store with SQLite's `PRAGMA synchronous` at this
    level, before the first is made. StoreSettings asks NORMAL for the read
    models: in WAL mode a commit is then safe from a crashed process but not
    from a power cut, which can take back the last commits, and with them their
    tracking positions, so they are read again from the broker. Everything a
    read model holds comes from the broker (the desk's note of a console answer
    too: routing publishes the answer). Every other store asks FULL, an fsync
    per commit, since what it commits is published or acknowledged."""
    pool = getattr(getattr(factory, "datastore", None), "pool", None)
    if not synchronous or pool is None or not hasattr(pool, "is_sqlite_memory_mode"):
        return
    if synchronous.upper() not in ("FULL", "NORMAL"):
        raise ValueError(f"SQLITE_SYNCHRONOUS must be FULL or NORMAL, not {synchronous!r}")

    class SynchronousPool(type(pool)):
        def _create_connection(self):
            connection = super()._create_connection()
            connection._sqlite_conn.execute(f"PRAGMA synchronous={synchronous.upper()}")
            return connection
    pool.__class__ = SynchronousPool


class _ConsumingRecorder:
    """Writes, in the transaction that stores a batch's events, what the batch
    consumed (see consumed.py) and the tracking position of each source it read."""

    consumed: ConsumedStore

    def _insert_events(self, *args, **kwargs):
        returning = super()._insert_events(*args, **kwargs)
        if self.consumed.kind == "memory":
            return returning  # _update_table below
        cursor = args[0]
        # Where the partition stands first: a batch out of place fails on that, not on tracking.
        if kwargs.get("consumed") is not None:
            self.consumed.write(cursor, kwargs["consumed"])
        for tracking in kwargs.get("trackings", ()):
            self._insert_tracking(cursor, tracking)
        return returning

    def _update_table(self, stored_events, **kwargs):
        # The in-memory store of unit tests, under its own lock.
        if kwargs.get("consumed") is not None:
            self.consumed.write(None, kwargs["consumed"])
        returning = super()._update_table(stored_events, **kwargs)
        for tracking in kwargs.get("trackings", ()):
            self._insert_tracking(tracking)
        return returning


_CONSUMING: dict[type, type] = {}


def _consuming(cls: type) -> type:
    if cls not in _CONSUMING:
        _CONSUMING[cls] = type(f"Consuming{cls.__name__}", (_ConsumingRecorder, cls), {})
    return _CONSUMING[cls]


@contextlib.contextmanager
def _schema_lock(env: dict):
    """Holds an advisory lock named after the service's schema (creating the
    schema, which the library does not) while tables are created."""
    if not str(env.get("PERSISTENCE_MODULE", "")).endswith("postgres"):
        yield
        return
    from psycopg import sql

    from .settings import postgres_connection

    schema = env.get("POSTGRES_SCHEMA") or "public"
    with postgres_connection(env) as conn:
        conn.execute("SELECT pg_advisory_lock(hashtext(%s))", (f"tousu-tables:{schema}",))
        try:
            conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
            yield
        finally:
            conn.execute("SELECT pg_advisory_unlock(hashtext(%s))", (f"tousu-tables:{schema}",))


class UnitOfWork:
    """Aggregates loaded and changed while handling a batch of messages.

    Several messages of one batch may touch the same aggregate; they must all
    see its pending changes, which the repository does not have yet."""

    def __init__(self, app: ServiceApplication):
        self.app = app
        self.aggregates: dict[uuid.UUID, Any] = {}
        # Handed out since the last came_from, and how many of each one's
        # pending events were already marked: a batch marks what each message
        # touched, not every aggregate of the batch once per message.
        self._touched: set[uuid.UUID] = set()
        self._stamped: dict[uuid.UUID, int] = {}

    def get(self, aggregate_id):
        if aggregate_id not in self.aggregates:
            found = self.app.find(aggregate_id)
            if found is None:
                return None
            self.aggregates[aggregate_id] = found
        self._touched.add(aggregate_id)
        return self.aggregates[aggregate_id]

    def add(self, aggregate) -> None:
        self.aggregates[aggregate.id] = aggregate
        self._touched.add(aggregate.id)

    def came_from(self, rid: str | None) -> None:
        """What was changed since the last call came from request `rid`."""
        for aggregate_id in self._touched:
            pending = self.aggregates[aggregate_id]._pending_events
            correlation.stamp(pending[self._stamped.get(aggregate_id, 0):], rid)
            self._stamped[aggregate_id] = len(pending)
        self._touched.clear()

    def pending_events(self) -> list:
        events = []
        for aggregate in self.aggregates.values():
            events.extend(aggregate.collect_events())
        return events

    def commit(self, tracking: Tracking | None = None, *, trackings: list[Tracking] = (),
               consumed: Consumed | None = None) -> int:
        """Store every pending event, with the tracking rows and what was
        consumed, atomically."""
        events = self.pending_events()
        if events or tracking is not None or trackings or consumed is not None:
            self.app.events.put(events, tracking=tracking, trackings=list(trackings), consumed=consumed)
        self.aggregates.clear()
        self._touched.clear()
        self._stamped.clear()
        return len(events)
