"""The desk's SQL tables, in the desk's own database (its SQLite file, or its
PostgreSQL schema), derived from the desk store's notification log.

`refresh()` reads the log after the position it last projected, files each
new record in `desk_history`, recomputes the rows of the files that changed,
and stores the new position, all in one transaction: the tables are always
exactly the projection of the log up to their position. `rebuild()` drops
them and projects the whole log again."""
from __future__ import annotations

import json
import sqlite3
import threading
from contextlib import contextmanager

from eventsourcing.utils import get_topic

from services.bus.settings import postgres_connection

from .domainmodel import DeskFile
from .rows import CASE_COLUMNS, COMPLAINT_COLUMNS, REFERRAL_COLUMNS, case_row, complaint_row, referral_rows

PAGE = 2000
INTEGER = {"decision_overdue", "mediation_paused", "amount_recovered_fen", "fine_fen", "seq"}

SCHEMA = [
    "CREATE TABLE IF NOT EXISTS desk_position (name TEXT PRIMARY KEY, position BIGINT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS desk_history (file TEXT NOT NULL, event_id TEXT NOT NULL, seq BIGINT NOT NULL, "
    "record_type TEXT NOT NULL, occurred_at TEXT, body TEXT NOT NULL, PRIMARY KEY (file, event_id))",
    "CREATE INDEX IF NOT EXISTS desk_history_file ON desk_history (file, seq)",
    "CREATE TABLE IF NOT EXISTS desk_complaints ({}, PRIMARY KEY (complaint_id))".format(
        ", ".join(f"{c} {'BIGINT' if c in INTEGER else 'TEXT'}" for c in COMPLAINT_COLUMNS)),
    "CREATE INDEX IF NOT EXISTS desk_complaints_deadline ON desk_complaints (deadline_key, complaint_id)",
    "CREATE INDEX IF NOT EXISTS desk_complaints_received ON desk_complaints (received_at, complaint_id)",
    "CREATE INDEX IF NOT EXISTS desk_complaints_agency ON desk_complaints (agency_id, status)",
    "CREATE INDEX IF NOT EXISTS desk_complaints_uscc ON desk_complaints (respondent_uscc)",
    "CREATE TABLE IF NOT EXISTS desk_cases ({}, PRIMARY KEY (case_id))".format(
        ", ".join(f"{c} {'BIGINT' if c in INTEGER else 'TEXT'}" for c in CASE_COLUMNS)),
    "CREATE TABLE IF NOT EXISTS desk_referrals ({}, PRIMARY KEY (id))".format(
        ", ".join(f"{c} TEXT" for c in REFERRAL_COLUMNS)),
    "CREATE INDEX IF NOT EXISTS desk_referrals_to ON desk_referrals (to_agency_id, referred_at)",
]
TABLES = ("desk_complaints", "desk_cases", "desk_referrals", "desk_history", "desk_position")
# How rows are derived from the files (rows.py): a new number re-derives every
# row at start, so rows projected by an earlier rule do not linger beside new
# ones. 2: statuses by the status view's rule, LEAD, referrals closed by
# routing's record of the answer.
PROJECTION = 2


class Database:
    """One connection to the desk's database, SQLite or PostgreSQL; SQL is
    written with `?` placeholders and translated for psycopg."""

    def __init__(self, env: dict):
        self.env = env
        self.postgres = str(env.get("PERSISTENCE_MODULE", "")).endswith("postgres")
        self._lock = threading.RLock()
        if self.postgres:
            self.conn = postgres_connection(
                env, options=f"-c search_path={env['POSTGRES_SCHEMA']}" if env.get("POSTGRES_SCHEMA") else None)
        else:
            name = env.get("SQLITE_DBNAME", ":memory:")
            self.conn = sqlite3.connect(name, check_same_thread=False, isolation_level=None,
                                        timeout=float(env.get("SQLITE_LOCK_TIMEOUT", 30)))
            self.conn.execute("PRAGMA journal_mode=WAL")

    def _sql(self, sql: str) -> str:
        return sql.replace("?", "%s") if self.postgres else sql

    @staticmethod
    def _values(params) -> tuple:
        # PostgreSQL's text holds no NUL, which a name typed into the public form
        # may: refused, one complaint's row failed every listing's refresh.
        return tuple(p.replace("\x00", "\ufffd") if isinstance(p, str) and "\x00" in p else p for p in params)

    def query(self, sql: str, params=()) -> list[dict]:
        with self._lock:
            cur = self.conn.execute(self._sql(sql), self._values(params))
            names = [d[0] for d in cur.description]
            return [dict(zip(names, r)) for r in cur.fetchall()]

    def tuples(self, sql: str, params=()) -> list[tuple]:
        with self._lock:
            return self.conn.execute(self._sql(sql), self._values(params)).fetchall()

    @contextmanager
    def transaction(self):
        with self._lock:
            if self.postgres:
                with self.conn.transaction():
                    yield self
            else:
                self.conn.execute("BEGIN IMMEDIATE")
                try:
                    yield self
                except BaseException:
                    self.conn.execute("ROLLBACK")
                    raise
                self.conn.execute("COMMIT")

    def execute(self, sql: str, params=()) -> None:
        self.conn.execute(self._sql(sql), self._values(params))

    def upsert(self, table: str, row: dict, key: tuple[str, ...]) -> None:
        names = list(row)
        updates = ", ".join(f"{n} = excluded.{n}" for n in names if n not in key)
        self.execute(f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))}) "
                     f"ON CONFLICT ({', '.join(key)}) DO UPDATE SET {updates}", [row[n] for n in names])

    def close(self) -> None:
        with self._lock:
            self.conn.close()


class DeskTables:
    def __init__(self, app, db: Database, line):
        self.app, self.db, self.line = app, db, line
        self.topic = get_topic(DeskFile.Noted)
        self._lock = threading.Lock()
        with db.transaction():
            for statement in SCHEMA:
                db.execute(statement)
        rows = db.query("SELECT position FROM desk_position WHERE name = 'projection'")
        if (rows[0]["position"] if rows else None) != PROJECTION:
            self.rebuild()

    @property
    def position(self) -> int:
        rows = self.db.query("SELECT position FROM desk_position WHERE name = 'log'")
        return rows[0]["position"] if rows else 0

    def refresh(self) -> int:
        """Project what the log holds beyond the tables' position; the new position."""
        with self._lock:
            position = self.position
            while page := self.app.recorder.select_notifications(
                    position, PAGE, topics=[self.topic], inclusive_of_start=False):
                with self.db.transaction():
                    changed = set()
                    for notification in page:
                        event = self.app.mapper.to_domain_event(notification)
                        fact = event.fact
                        self.db.execute(
                            "INSERT INTO desk_history (file, event_id, seq, record_type, occurred_at, body) "
                            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (file, event_id) DO NOTHING",
                            (event.file, fact["event_id"], notification.id, fact["type"], fact.get("occurred_at"),
                             json.dumps(fact, ensure_ascii=False)))
                        changed.add(event.file)
                    for file in sorted(changed):
                        self._project(file)
                    position = page[-1].id
                    self.db.upsert("desk_position", {"name": "log", "position": position}, ("name",))
            return position

    def rebuild(self) -> int:
        with self._lock:
            with self.db.transaction():
                for table in TABLES:
                    self.db.execute(f"DELETE FROM {table}")
                self.db.upsert("desk_position", {"name": "projection", "position": PROJECTION}, ("name",))
        return self.refresh()

    def history(self, file: str) -> list[dict]:
        return [json.loads(r["body"]) for r in self.db.query(
            "SELECT body FROM desk_history WHERE file = ? ORDER BY seq", (file,))]

    def _project(self, file: str) -> None:
        kind, _, key = file.partition("/")
        facts = self.history(file)
        if kind == "case":
            row = case_row(key, facts, self.line)
            if row is not None:
                self.db.upsert("desk_cases", row, ("case_id",))
            return
        row = complaint_row(key, facts, self.line)
        if row is not None:
            self.db.upsert("desk_complaints", row, ("complaint_id",))
        self.db.execute("DELETE FROM desk_referrals WHERE complaint_id = ?", (key,))
        for referral in referral_rows(key, facts, self.line):
            self.db.upsert("desk_referrals", referral, ("id",))
