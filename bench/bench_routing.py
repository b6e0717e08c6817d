"""Decisions per second of routing alone, batched, on SQLite and PostgreSQL.

    python bench/bench_routing.py [N] [BATCH]

Feeds N encoded ComplaintReceived messages straight to routing's batch
processor (decode, rules, store with tracking; no broker), in batches of BATCH,
against a fresh SQLite file and a fresh PostgreSQL schema (127.0.0.1:5432,
database `test`, or the POSTGRES_* variables)."""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.dirname(__file__))

from bench_skeleton import messages  # noqa: E402
from services.bus.codec import default_codec  # noqa: E402
from services.bus.consumer import BatchProcessor  # noqa: E402
from services.bus.messages import Inbound  # noqa: E402
from services.bus.settings import postgres_connection  # noqa: E402
from services.routing.application import Routing  # noqa: E402
from services.system import spec  # noqa: E402


def run(env: dict, batch: list[Inbound], size: int) -> float:
    app = Routing(env=env)
    processor = BatchProcessor(app, spec("routing").handler(app), default_codec())
    start = time.perf_counter()
    for i in range(0, len(batch), size):
        processor.process(batch[i:i + size])
    elapsed = time.perf_counter() - start
    app.close()
    return len(batch) / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("n", type=int, nargs="?", default=5000, help="complaints to decide (5000)")
    parser.add_argument("batch", type=int, nargs="?", default=500, help="messages a batch (500)")
    args = parser.parse_args()
    n, size = args.n, args.batch
    batch = [Inbound("complaints.received", 0, i, key, value, dict(headers))
             for i, (key, value, headers) in enumerate(messages(n))]
    with tempfile.TemporaryDirectory() as tmp:
        sqlite = run({"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": f"{tmp}/routing.sqlite"}, batch, size)
    print(f"routing on SQLite:     {sqlite:7.0f} decisions/s (batches of {size})")
    postgres_env = {"PERSISTENCE_MODULE": "eventsourcing.postgres",
                    "POSTGRES_HOST": os.environ.get("POSTGRES_HOST", "127.0.0.1"),
                    "POSTGRES_PORT": os.environ.get("POSTGRES_PORT", "5432"),
                    "POSTGRES_DBNAME": os.environ.get("POSTGRES_DBNAME", "test"),
                    "POSTGRES_USER": os.environ.get("POSTGRES_USER", "postgres"),
                    "POSTGRES_PASSWORD": os.environ.get("POSTGRES_PASSWORD", "postgres"),
                    "POSTGRES_SCHEMA": f"bench_{uuid.uuid4().hex[:8]}"}
    try:
        postgres = run(postgres_env, batch, size)
    finally:
        try:
            with postgres_connection(postgres_env, connect_timeout=5) as conn:
                conn.execute(f'DROP SCHEMA IF EXISTS "{postgres_env["POSTGRES_SCHEMA"]}" CASCADE')
        except Exception as exc:  # noqa: BLE001 - the run's own error, if any, is the one to see
            print(f"could not drop the schema {postgres_env['POSTGRES_SCHEMA']}: {exc}", file=sys.stderr)
    print(f"routing on PostgreSQL: {postgres:7.0f} decisions/s (batches of {size})")


if __name__ == "__main__":
    main()
