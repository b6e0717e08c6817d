"""Where the relay's audit chain stands: the position it last published and the
hash of the record there, kept in the service's own database beside its events.

Without it a restart recomputes the chain from the first stored event, which
takes longer as the log grows. The row is a cache of what the log determines:
written after the position it names is stored, used only at or below the
position being resumed, and recomputable at any time from the log itself."""
from __future__ import annotations

import contextlib

from .sqltext import as_tuple, statement, store_kind
from .store import ServiceApplication

TABLE = "tousu_relay_chain"


class ChainCheckpoint:
    TABLE = TABLE

    def __init__(self, app: ServiceApplication, name: str = "relay"):
        self.name = name
        self.datastore = getattr(app.recorder, "datastore", None)
        self.kind = store_kind(self.datastore)
        self._created = False

    def create(self) -> None:
        if self.kind is not None:
            with self.datastore.transaction(commit=True) as cursor:
                self._create(cursor)

    def load(self) -> tuple[int, str] | None:
        """(position, hash), or None when nothing was kept (or the store keeps nothing)."""
        if self.kind is None:
            return None
        with self.datastore.transaction(commit=True) as cursor:
            self._create(cursor)
            cursor.execute(self._sql("SELECT position, hash FROM {table} WHERE name = ?"), (self.name,))
            row = cursor.fetchone()
        if row is None:
            return None
        return as_tuple(row)

    def save(self, position: int, chain_hash: str, cursor=None) -> None:
        """In a transaction of its own, or in the caller's when given its cursor."""
        if self.kind is None:
            return
        with self._writing(cursor) as cursor:
            self._create(cursor)
            cursor.execute(self._sql(
                "INSERT INTO {table} (name, position, hash) VALUES (?, ?, ?) "
                "ON CONFLICT (name) DO UPDATE SET position = excluded.position, hash = excluded.hash"),
                (self.name, position, chain_hash))

    def clear(self, cursor=None) -> None:
        """In a transaction of its own, or in the caller's when given its cursor."""
        if self.kind is None:
            return
        with self._writing(cursor) as cursor:
            self._create(cursor)
            cursor.execute(self._sql("DELETE FROM {table} WHERE name = ?"), (self.name,))

    @contextlib.contextmanager
    def _writing(self, cursor=None):
        """The caller's transaction when given its cursor, else one of its own."""
        if cursor is not None:
            yield cursor
            return
        with self.datastore.transaction(commit=True) as cursor:
            yield cursor

    def _create(self, cursor) -> None:
        if not self._created:
            cursor.execute(self._sql(
                "CREATE TABLE IF NOT EXISTS {table} (name TEXT PRIMARY KEY, position BIGINT NOT NULL, "
                "hash TEXT NOT NULL)"))
            self._created = True

    def _sql(self, text: str):
        return statement(self.kind, self.datastore, text, table=self.TABLE)


class PublishedOffsets(ChainCheckpoint):
    """Where the relay's last page began on each partition it wrote (its
    floor), and the fingerprint of the message there. A broker whose log ends
    at or below a floor, or holds another message there, lost data."""

    TABLE = "tousu_relay_offsets"

    def load(self) -> tuple[dict[tuple[str, int], int], dict[tuple[str, int], str]]:
        """(offset, fingerprint of the message there) of each partition's floor."""
        if self.kind is None:
            return {}, {}
        with self.datastore.transaction(commit=True) as cursor:
            self._create(cursor)
            cursor.execute(self._sql("SELECT topic, part, last_offset, fingerprint FROM {table} WHERE name = ?"),
                           (self.name,))
            rows = [as_tuple(r) for r in cursor.fetchall()]
        return ({(t, p): o for t, p, o, _ in rows}, {(t, p): f for t, p, _, f in rows if f})

    def save(self, offsets: dict[tuple[str, int], int], prints: dict[tuple[str, int], str], cursor=None) -> None:
        """In a transaction of its own, or in the caller's when given its cursor."""
        if self.kind is None or not offsets:
            return
        with self._writing(cursor) as cursor:
            self._create(cursor)
            cursor.executemany(self._sql(
                "INSERT INTO {table} (name, topic, part, last_offset, fingerprint) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT (name, topic, part) DO UPDATE SET last_offset = excluded.last_offset, "
                "fingerprint = excluded.fingerprint"),
                [(self.name, t, p, o, prints.get((t, p))) for (t, p), o in offsets.items()])

    def _create(self, cursor) -> None:
        if not self._created:
            cursor.execute(self._sql(
                "CREATE TABLE IF NOT EXISTS {table} (name TEXT NOT NULL, topic TEXT NOT NULL, part INTEGER NOT NULL, "
                "last_offset BIGINT NOT NULL, fingerprint TEXT, PRIMARY KEY (name, topic, part))"))
            self._created = True
