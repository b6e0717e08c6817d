"""Which of a service's workers publishes its events and runs its timers.

Several workers of one service share its PostgreSQL store and split its input
partitions through the consumer group; exactly one of them relays (so the audit
chain stays one chain, published in order) and runs the timers. It is the one
holding a PostgreSQL advisory lock on a connection of its own: when that worker
dies, its connection closes, the lock goes with it and another worker takes it
within a second. A worker that is frozen instead (stopped, swapped out, its
machine paused) keeps its connection and so its lock: the leader's heartbeat
runs a query on that connection every second, and a worker wanting the lead
ends the session of one silent for longer than SILENT_SECONDS (the workers
share a PostgreSQL role, as they do a store, so one may end another's session).
On SQLite a service has one worker, which always leads."""
from __future__ import annotations

import logging
import threading
import time

from .settings import postgres_connection

log = logging.getLogger(__name__)

# A leader's lock connection answers a query this often, from a thread of its
# own, however busy the worker is; silent for SILENT_SECONDS, it is frozen.
HEARTBEAT_SECONDS = 1.0
SILENT_SECONDS = 10.0
# A leader whose heartbeat has not come through for this long stops leading on
# its own: woken from a freeze, it does not publish a page before it learns.
STALE_SECONDS = 3 * HEARTBEAT_SECONDS

# Ends the session holding the lock if it has been idle for longer than the
# given seconds, saying whose and for how long, in one statement (a pid read
# first could be another process's by the time it is signalled).
# A one-bigint advisory lock shows its high half as classid, its low half as objid.
END_SILENT_HOLDER = """
SELECT a.pid, extract(epoch FROM clock_timestamp() - a.state_change), pg_terminate_backend(a.pid)
FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
  AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
  AND l.classid = %s::bigint::oid AND l.objid = %s::bigint::oid
  AND a.state = 'idle' AND a.state_change < clock_timestamp() - make_interval(secs => %s)"""


class Leadership:
    def __init__(self, service: str, env: dict):
        self.service = service
        self.env = env
        self.shared = str(env.get("PERSISTENCE_MODULE", "")).endswith("postgres")
        self.key = f"tousu/{env.get('POSTGRES_SCHEMA', 'public')}/{service}/leader"
        self._conn = None
        self._lock_id: int | None = None
        # The lock's connection is used by the relay's store thread and by the
        # heartbeat: one at a time.
        self._using = threading.Lock()
        self._held = threading.Event()
        # Each lead has its heartbeat; one of a lead before ends at its next beat.
        self._lead_number = 0
        self._beaten = 0.0
        self._looked_for_silence = float("-inf")

    def acquire(self) -> bool:
        """Take the lead if nobody holds it; True if this worker leads."""
        if not self.shared:
            return True
        try:
            with self._using:
                if self._conn is None or self._conn.closed:
                    self._conn = postgres_connection(
                        self.env, connect_timeout=5,
                        # A leader whose machine died must lose the lock in seconds, not at
                        # TCP's timeout; nor may a query wait that long on a vanished server.
                        keepalives=1, keepalives_idle=5, keepalives_interval=2, keepalives_count=2,
                        tcp_user_timeout=5000)
                if self._lock_id is None:
                    (self._lock_id,) = self._conn.execute("SELECT hashtext(%s)::bigint", (self.key,)).fetchone()
                (taken,) = self._conn.execute("SELECT pg_try_advisory_lock(%s)", (self._lock_id,)).fetchone()
                if not taken:
                    self._end_a_frozen_lead()
                    return False
        except Exception as exc:
            log.warning("%s: cannot reach the store to take the lead (%s)", self.service, exc.__class__.__name__)
            self.release()
            return False
        self._lead_number += 1
        self._beaten = time.monotonic()
        self._held.set()
        # Its own thread, not the relay's loop: a relay waiting on a broker
        # that does not answer is busy, not frozen.
        threading.Thread(target=self._beat, args=(self._lead_number,), name=f"lead-{self.service}",
                         daemon=True).start()
        return True

    def _beat(self, lead: int) -> None:
        """Runs a query on the lock's connection every HEARTBEAT_SECONDS; the
        first time it fails, the lock is lost with the connection."""
        while True:
            time.sleep(HEARTBEAT_SECONDS)
            with self._using:
                if lead != self._lead_number or not self._held.is_set():
                    return
                try:
                    self._conn.execute("SELECT 1").fetchone()
                    self._beaten = time.monotonic()
                except Exception:
                    self._held.clear()
                    return

    def _end_a_frozen_lead(self) -> None:
        """Ends the session of a leader silent for SILENT_SECONDS, so that its
        lock is free at the next try. Should it wake, its heartbeat finds its
        connection gone and it stops leading; what it sent meanwhile is sent
        again by the new leader, and consumers skip it by event id. Looked
        for twice in SILENT_SECONDS, not at every try: pg_locks is read under
        all of the lock table's partition locks."""
        now = time.monotonic()
        if now - self._looked_for_silence < SILENT_SECONDS / 2:
            return
        self._looked_for_silence = now
        lock = self._lock_id
        try:
            ended = self._conn.execute(END_SILENT_HOLDER, ((lock >> 32) & 0xFFFFFFFF, lock & 0xFFFFFFFF,
                                                           SILENT_SECONDS)).fetchone()
        except Exception as exc:
            log.warning("%s: cannot end the session of a silent leader (%s): do the workers share a "
                        "PostgreSQL role?", self.service, str(exc).splitlines()[0] if str(exc) else exc)
            return
        if ended:
            pid, silent, _ = ended
            log.warning("%s: the worker leading had not been heard from for %.0f s (store session %s): "
                        "ended its session to take the lead", self.service, silent, pid)

    def holds(self) -> bool:
        """Still leading: the heartbeat came through lately (a lost connection
        lost the lock; a heartbeat long due means this worker was frozen)."""
        if not self.shared:
            return True
        if self._held.is_set() and time.monotonic() - self._beaten <= STALE_SECONDS:
            return True
        self.release()
        return False

    def release(self) -> None:
        self._held.clear()
        with self._using:
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
        self._thread = threading.Thread(target=self._listen, name=f"notify-{self.channel}", daemon=True)
        self._thread.start()

    def _listen(self) -> None:
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
