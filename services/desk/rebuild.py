"""The desk from nothing: its store read afresh from the topics, through the
same exactly-once processor the running service uses, into a new store built
beside the old one, which then replaces it; the tables are projected before
the swap. The journal of who did what is not on any topic: it is carried
over. (The tables alone are rebuilt from the desk's own store, with the
service running, by `Desk.tables.rebuild()`.)

Run it with the desk stopped:

    python -m services.desk.rebuild"""
from __future__ import annotations

import asyncio
import os
import sys

from services.bus.codec import default_codec
from services.bus.consumer import BatchProcessor
from services.bus.reader import read_topic
from services.bus.settings import store_settings
from services.statistics.rebuild import _install, _scratch, wipe

from .application import Desk
from .facts import INPUTS
from .journal import Journal
from .tables import Database

BATCH = 1000


async def _feed(bootstrap_servers: str, processor: BatchProcessor) -> int:
    total = 0
    for topic in INPUTS:
        batch = []
        async for message in read_topic(bootstrap_servers, topic):
            batch.append(message)
            if len(batch) >= BATCH:
                await asyncio.to_thread(processor.process, batch)
                total += len(batch)
                batch = []
        if batch:
            await asyncio.to_thread(processor.process, batch)
            total += len(batch)
    return total


def _journal(env: dict) -> list[dict]:
    if env["PERSISTENCE_MODULE"].endswith("sqlite") and not os.path.exists(env["SQLITE_DBNAME"]):
        return []
    db = Database(env)
    try:
        return Journal(db).db.query("SELECT * FROM desk_actions ORDER BY at")
    finally:
        db.close()


def rebuild(bootstrap_servers: str, env=os.environ) -> int:
    """Replace the desk's store and tables; the number of messages read."""
    target = store_settings(env).for_service("desk")
    scratch = _scratch(target)
    wipe(scratch)
    kept = _journal(target)
    app = Desk(env=scratch)
    try:
        count = asyncio.run(_feed(bootstrap_servers, BatchProcessor(app, app.handle, default_codec())))
        app.refresh()
        with app.tables.db.transaction():
            for row in kept:
                app.tables.db.execute(f"INSERT INTO desk_actions ({', '.join(row)}) VALUES "
                                      f"({', '.join('?' * len(row))})", list(row.values()))
    finally:
        app.close()
    _install(scratch, target)
    return count


def main(argv: list[str] | None = None) -> int:
    import argparse

    from services.commands import refuse_beside_up

    argparse.ArgumentParser(prog="python -m services.desk.rebuild", description=__doc__.split("\n\n")[0],
                            epilog="Reads the topics at KAFKA_BOOTSTRAP_SERVERS; the store is the one "
                                   "TOUSU_DATA_DIR (or PostgreSQL's settings) names.").parse_args(argv)
    if refused := refuse_beside_up("the desk's rebuild"):
        print(refused, file=sys.stderr)
        return 2
    if not os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
        print("the desk's rebuild reads the topics at KAFKA_BOOTSTRAP_SERVERS", file=sys.stderr)
        return 2
    print(f"desk rebuilt from {rebuild(os.environ['KAFKA_BOOTSTRAP_SERVERS'])} messages")
    return 0


if __name__ == "__main__":
    sys.exit(main())
