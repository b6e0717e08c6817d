"""Statistics from nothing: read the four topics again from the beginning,
through the same exactly-once processor the running service uses, into a new
store built beside the old one, which then replaces it. An interrupted rebuild
leaves the old store as it was.

Run it with the statistics service stopped: a running service would go on
writing to the store this replaces."""
from __future__ import annotations

import asyncio
import os
import sqlite3
import sys
from typing import Callable

from services.bus.codec import default_codec
from services.bus.consumer import BatchProcessor
from services.bus.reader import read_topic
from services.bus.settings import store_settings

from .application import Statistics
from .facts import INPUTS

SERVICE = "statistics"
BATCH = 1000
SQLITE_FILES = ("", "-wal", "-shm", "-journal")

Progress = Callable[[str, int, bool], None]


def _stderr(topic: str, read: int, done: bool) -> None:
    # One line per topic rewritten in place on a terminal; a log gets the final counts only.
    if sys.stderr.isatty():
        print(f"\rstatistics: {topic}: {read} messages read", end="\n" if done else "", file=sys.stderr, flush=True)
    elif done:
        print(f"statistics: {topic}: {read} messages read", file=sys.stderr, flush=True)


def _is_sqlite(env: dict) -> bool:
    return env["PERSISTENCE_MODULE"].endswith("sqlite")


def _scratch(env: dict) -> dict:
    if _is_sqlite(env):
        return {**env, "SQLITE_DBNAME": env["SQLITE_DBNAME"] + ".rebuilding"}
    return {**env, "POSTGRES_SCHEMA": env["POSTGRES_SCHEMA"] + "_rebuilding"}


def _postgres(env: dict):
    import psycopg

    return psycopg.connect(host=env["POSTGRES_HOST"], port=env["POSTGRES_PORT"], dbname=env["POSTGRES_DBNAME"],
                           user=env["POSTGRES_USER"], password=env.get("POSTGRES_PASSWORD") or None, autocommit=True)


def wipe(env: dict) -> None:
    """Remove a statistics store: its SQLite files, or its PostgreSQL schema."""
    if _is_sqlite(env):
        for suffix in SQLITE_FILES:
            try:
                os.remove(env["SQLITE_DBNAME"] + suffix)
            except FileNotFoundError:
                pass
        return
    from psycopg import sql

    with _postgres(env) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(env["POSTGRES_SCHEMA"])))


def _install(scratch: dict, env: dict) -> None:
    """The rebuilt store takes the old one's place in one step."""
    if _is_sqlite(env):
        with sqlite3.connect(scratch["SQLITE_DBNAME"]) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # everything in the main file before it moves
        conn.close()
        wipe(env)
        os.replace(scratch["SQLITE_DBNAME"], env["SQLITE_DBNAME"])
        wipe(scratch)
        return
    from psycopg import sql

    with _postgres(env) as conn, conn.transaction():
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(env["POSTGRES_SCHEMA"])))
        conn.execute(sql.SQL("ALTER SCHEMA {} RENAME TO {}").format(
            sql.Identifier(scratch["POSTGRES_SCHEMA"]), sql.Identifier(env["POSTGRES_SCHEMA"])))


async def _feed(bootstrap_servers: str, processor: BatchProcessor, progress: Progress) -> int:
    total = 0
    for topic in INPUTS:
        batch, read = [], 0
        async for message in read_topic(bootstrap_servers, topic):
            batch.append(message)
            if len(batch) >= BATCH:
                await asyncio.to_thread(processor.process, batch)
                read += len(batch)
                batch = []
                progress(topic, read, False)
        if batch:
            await asyncio.to_thread(processor.process, batch)
            read += len(batch)
        progress(topic, read, True)
        total += read
    return total


def rebuild(bootstrap_servers: str, env=os.environ, progress: Progress = _stderr) -> int:
    """Replace the statistics store with one read afresh from the topics;
    returns the number of messages read.

    Positions are tracked as the service tracks them, so when the service
    starts again it skips whatever of this it is handed once more."""
    target = store_settings(env).for_service(SERVICE)
    scratch = _scratch(target)
    wipe(scratch)  # what an interrupted rebuild left
    app = Statistics(env=scratch)
    try:
        count = asyncio.run(_feed(bootstrap_servers, BatchProcessor(app, app.handle, default_codec()), progress))
    finally:
        app.close()
    _install(scratch, target)
    return count
