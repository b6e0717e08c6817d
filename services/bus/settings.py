"""Configuration from the environment only, read when a service starts, never at import."""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

from .topics import PROMPT, READ_MODELS


@dataclass(frozen=True)
class BusSettings:
    bootstrap_servers: str
    # Apache Kafka refuses a session shorter than its group.min.session.timeout.ms
    # (6 s unless changed), so the default is the client's usual 10 s. A group
    # join on the embedded broker takes half the session timeout and it has no
    # such floor: whoever starts one (tousu up, the tests) asks for 4 s
    # (EMBEDDED_SESSION_TIMEOUT_S) through TOUSU_SESSION_TIMEOUT_S.
    session_timeout_s: float = 10.0
    heartbeat_interval_s: float = 1.0
    rebalance_timeout_s: float = 4.0
    batch_size: int = 500
    # A batch is taken this long after its first message (or once full). At 0
    # it is taken once what has reached the stream is in, with no timer: a
    # fetch's messages arrive together, and more arrive while a batch is
    # stored, so a window only adds to each hop (1 ms of window cost 1.5 ms).
    batch_within_s: float = 0.0
    # How long a fetch may wait at the broker while messages flow, once none
    # came for `fetch_quiet_after_s`, and once none came for
    # `fetch_idle_after_s` (runtime.FetchPace). The embedded broker holds a
    # fetch up to about half its wait even when data arrives (a hop's median
    # about a seventh of it), so there the first is each hop's latency under
    # traffic, and the others that of the first message after a pause: with
    # complaints a few seconds apart, as a bureau's day brings them, each hop
    # of each one. On any broker the last is an idle consumer's polling rate,
    # hence its CPU and the broker's. Each fetch costs the consumer and the
    # embedded broker about 0.7 ms of CPU each: at 10 ms a consumer and its
    # share of the broker take 13-20% of a core for as long as messages
    # trickle in, so only the services a complainant waits for
    # (topics.PROMPT) ask that often; the rest use the unhurried wait.
    fetch_max_wait_ms: int = 10
    unhurried_fetch_max_wait_ms: int = 100
    fetch_quiet_wait_ms: int = 250
    fetch_quiet_after_s: float = 2.0
    fetch_idle_wait_ms: int = 1000
    fetch_idle_after_s: float = 30.0

    def active_fetch_wait_ms(self, service: str) -> int:
        return self.fetch_max_wait_ms if service in PROMPT else self.unhurried_fetch_max_wait_ms


@dataclass(frozen=True)
class StoreSettings:
    """Which event store a service uses: one SQLite file per service under the
    data directory, or PostgreSQL (one schema per service) when the library's own
    PERSISTENCE_MODULE says so."""

    data_dir: Path
    env: dict = field(default_factory=dict)

    def for_service(self, service: str) -> dict[str, str]:
        module = self.env.get("PERSISTENCE_MODULE", "eventsourcing.sqlite")
        if module.endswith("postgres"):
            env = {k: v for k, v in self.env.items() if k.startswith("POSTGRES_")}
            env["PERSISTENCE_MODULE"] = "eventsourcing.postgres"
            env["POSTGRES_SCHEMA"] = f"{self.env.get('TOUSU_POSTGRES_SCHEMA_PREFIX', 'tousu_')}{service}"
            env.setdefault("POSTGRES_HOST", "127.0.0.1")
            env.setdefault("POSTGRES_DBNAME", "tousu")
            env.setdefault("POSTGRES_PORT", "5432")
            env.setdefault("POSTGRES_USER", "postgres")
            env.setdefault("POSTGRES_PASSWORD", "")
            # Two connections kept open a worker (the library keeps five), up to
            # six while busy: with its lock's and its listener's, at most 8 a
            # worker, so 2 workers of 6 services fit PostgreSQL's default 100.
            env.setdefault("POSTGRES_POOL_SIZE", "2")
            env.setdefault("POSTGRES_MAX_OVERFLOW", "4")
            return env
        self.data_dir.mkdir(parents=True, exist_ok=True)
        return {
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": str(self.data_dir / f"{service}.sqlite"),
            "SQLITE_LOCK_TIMEOUT": "30",
            # Read models are rebuilt from the broker at will: no fsync a commit
            # (store._sync_sqlite_as). Said for the rest too, whatever SQLite's build defaults to.
            "SQLITE_SYNCHRONOUS": "NORMAL" if service in READ_MODELS else "FULL",
        }


def kafka_security(env=os.environ) -> dict:
    """aiokafka options for SASL, from KAFKA_SECURITY_PROTOCOL (e.g. SASL_PLAINTEXT),
    KAFKA_SASL_MECHANISM (SCRAM-SHA-512), KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD.
    Empty for the embedded broker, which has no authentication."""
    protocol = env.get("KAFKA_SECURITY_PROTOCOL")
    if not protocol or protocol == "PLAINTEXT":
        return {}
    return {"security_protocol": protocol,
            "sasl_mechanism": env.get("KAFKA_SASL_MECHANISM", "SCRAM-SHA-512"),
            "sasl_plain_username": env.get("KAFKA_SASL_USERNAME"),
            "sasl_plain_password": env.get("KAFKA_SASL_PASSWORD")}


def faust_credentials(env=os.environ):
    security = kafka_security(env)
    if not security:
        return None
    import faust

    return faust.SASLCredentials(username=security["sasl_plain_username"],
                                 password=security["sasl_plain_password"],
                                 mechanism=security["sasl_mechanism"])


def data_dir(env=os.environ) -> Path:
    return Path(env.get("TOUSU_DATA_DIR", "./tousu-data")).resolve()


def store_settings(env=os.environ) -> StoreSettings:
    return StoreSettings(data_dir(env), dict(env))


EMBEDDED_SESSION_TIMEOUT_S = "4"


def bus_settings(bootstrap: str | None = None, env=os.environ) -> BusSettings:
    servers = bootstrap or env.get("KAFKA_BOOTSTRAP_SERVERS")
    if not servers:
        raise RuntimeError("KAFKA_BOOTSTRAP_SERVERS is not set and no broker was started")
    waits = {}
    if env.get("TOUSU_READ_MODEL_FETCH_MAX_WAIT_MS"):
        logging.getLogger(__name__).warning(
            "TOUSU_READ_MODEL_FETCH_MAX_WAIT_MS is no longer read: TOUSU_UNHURRIED_FETCH_MAX_WAIT_MS now sets the "
            "wait of every service but routing and mediation")
    session = env.get("TOUSU_SESSION_TIMEOUT_S")
    if session:
        # A heartbeat goes every second: a session must outlast a few missed ones.
        if not session.replace(".", "", 1).isdigit() or not 3 <= float(session) <= 300:
            raise RuntimeError(f"TOUSU_SESSION_TIMEOUT_S must be a number of seconds from 3 to 300, not {session!r}")
        waits["session_timeout_s"] = float(session)
    for name, field_ in (("TOUSU_FETCH_MAX_WAIT_MS", "fetch_max_wait_ms"),
                         ("TOUSU_UNHURRIED_FETCH_MAX_WAIT_MS", "unhurried_fetch_max_wait_ms"),
                         ("TOUSU_FETCH_QUIET_WAIT_MS", "fetch_quiet_wait_ms"),
                         ("TOUSU_FETCH_IDLE_WAIT_MS", "fetch_idle_wait_ms")):
        wait = env.get(name)
        if wait is not None and not wait.isdigit():
            raise RuntimeError(f"{name} must be a whole number of milliseconds, not {wait!r}")
        if wait:
            waits[field_] = int(wait)
    return BusSettings(bootstrap_servers=servers, **waits)


def postgres_connection(env: dict, **options):
    """A connection of its own to the store's PostgreSQL, as the library makes
    them (POSTGRES_* of a service's store settings), with psycopg's `options`."""
    import psycopg

    return psycopg.connect(host=env.get("POSTGRES_HOST", "127.0.0.1"), port=env.get("POSTGRES_PORT", "5432"),
                           dbname=env.get("POSTGRES_DBNAME", "test"), user=env.get("POSTGRES_USER", "postgres"),
                           password=env.get("POSTGRES_PASSWORD") or None, autocommit=True, **options)
