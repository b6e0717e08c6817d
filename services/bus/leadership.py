"""Which of a service's workers publishes its events and runs its timers.

Several workers of one service share its PostgreSQL store and split its input
partitions through the consumer group; exactly one of them relays (so the audit
chain stays one chain, published in order) and runs the timers. It is the one
holding a PostgreSQL advisory lock on a connection of its own: when that worker
dies, its connection closes, the lock goes with it and another worker takes it
within a second. On SQLite a service has one worker, which always leads."""
from __future__ import annotations

import logging

from .settings import postgres_connection

log = logging.getLogger(__name__)


class Leadership:
    def __init__(self, service: str, env: dict):
        self.service = service
        self.env = env
        self.shared = str(env.get("PERSISTENCE_MODULE", "")).endswith("postgres")
        self.key = f"tousu/{env.get('POSTGRES_SCHEMA', 'public')}/{service}/leader"
        self._conn = None

    def acquire(self) -> bool:
        """Take the lead if nobody holds it; True if this worker leads."""
        if not self.shared:
            return True
        try:
            if self._conn is None or self._conn.closed:
                self._conn = postgres_connection(
                    self.env, connect_timeout=5,
                    # A leader whose machine died must lose the lock in seconds, not at TCP's timeout.
                    keepalives=1, keepalives_idle=5, keepalives_interval=2, keepalives_count=2)
            row = self._conn.execute("SELECT pg_try_advisory_lock(hashtext(%s))", (self.key,)).fetchone()
            return bool(row[0])
        except Exception as exc:
            log.warning("%s: cannot reach the store to take the lead (%s)", self.service, exc.__class__.__name__)
            self.release()
            return False

    def holds(self) -> bool:
        """Still leading: the lock's connection is alive (a lost connection lost the lock)."""
        if not self.shared:
            return True
        try:
            self._conn.execute("SELECT 1").fetchone()
            return True
        except Exception:
            self.release()
            return False

    def release(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            except Exception:
                pass
            self._conn = None


class StoreNotifications:
    """Wakes a relay whenever any worker of its service stores events: the
    PostgreSQL store NOTIFYs a channel on every insert, so the leader needs no
    polling to publish within milliseconds what another worker stored."""

    def __init__(self, env: dict, channel: str, wake):
        self.env, self.channel, self.wake = env, channel, wake
        self._stop = False
        self._thread = None

    def start(self) -> None:
        import threading

        self._thread = threading.Thread(target=self._listen, name=f"notify-{self.channel}", daemon=True)
        self._thread.start()

    def _listen(self) -> None:
        import time

        from psycopg import sql

        while not self._stop:
            try:
                with postgres_connection(self.env, connect_timeout=5) as conn:
                    conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self.channel)))
                    while not self._stop:
                        for _ in conn.notifies(timeout=1.0, stop_after=1):
                            self.wake()
            except Exception as exc:
                log.warning("store notifications on %s stopped (%s); listening again", self.channel,
                            exc.__class__.__name__)
                time.sleep(1)

    def stop(self) -> None:
        self._stop = True
