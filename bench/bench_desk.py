"""The desk's listings at 10,000 complaints: a supervisor's page of 10,000
rows and a case worker's page of 50 soonest deadlines, over HTTP (the desk's
route in a FastAPI test client) and straight from the tables, on SQLite (and
PostgreSQL with --postgres). The issue asks for under a tenth of a second
per page.

    python bench/bench_desk.py [N] [--postgres]"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import timedelta

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
os.environ.setdefault("TOUSU_SIGNING_KEY", "bench-signing-key-of-thirty-two-bytes")

from fastapi.testclient import TestClient  # noqa: E402

from services import auth  # noqa: E402
from services.auth import Principal  # noqa: E402
from services.desk import queries  # noqa: E402
from tests.factories import runner  # noqa: E402
from services.desk.application import Desk  # noqa: E402
from services.http import build_app  # noqa: E402
from tests.desk_feed import START, Feed, feed  # noqa: E402

BUREAUS = ["AMR-310115", "AMR-310104", "AMR-310101", "AMR-310106"]


def timed(fn, rounds: int = 7) -> tuple[float, object]:
    times, result = [], None
    for _ in range(rounds):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("n", type=int, nargs="?", default=10000, help="complaints listed (10000)")
    parser.add_argument("--postgres", action="store_true", help="PostgreSQL too (POSTGRES_* or 127.0.0.1:5432/test)")
    args = parser.parse_args()
    n = args.n
    with tempfile.TemporaryDirectory() as tmp:
        if args.postgres:
            env = {"PERSISTENCE_MODULE": "eventsourcing.postgres", "POSTGRES_DBNAME": "test",
                   "POSTGRES_HOST": "127.0.0.1", "POSTGRES_PORT": "5432", "POSTGRES_USER": "postgres",
                   "POSTGRES_PASSWORD": "", "POSTGRES_SCHEMA": f"bench_desk_{os.getpid()}"}
        else:
            env = {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": f"{tmp}/desk.sqlite"}
        app = Desk(env=env)
        f = Feed()
        started = time.perf_counter()
        for chunk in range(0, n, 500):
            feed(app, [m for i in range(chunk, min(n, chunk + 500))
                       for m in f.complaint(f"c{i:06d}", BUREAUS[i % 4], START + timedelta(minutes=i), seed=i)])
        stored = time.perf_counter() - started
        started = time.perf_counter()
        app.refresh()
        projected = time.perf_counter() - started
        print(f"{n} complaints stored through the batch processor in {stored:.1f}s, "
              f"projected into the tables in {projected:.1f}s")

        supervisor, worker = Principal("AMR-310000", "SUPERVISOR"), Principal("AMR-310115", "CASE_WORKER")
        t, page = timed(lambda: queries.complaints(app, supervisor, {}, "deadline", None, 10_000))
        print(f"rows built in Python (the console's path): {len(page.items)} in one page: {t * 1000:.1f} ms")
        t, page = timed(lambda: queries.complaints(app, worker, {"open": "true"}, "deadline", None, 50))
        print(f"rows built in Python: the {len(page.items)} soonest deadlines of a case worker's inbox: {t * 1000:.1f} ms")

        client = TestClient(build_app({"desk": runner("desk", app)}))
        key = os.environ["TOUSU_SIGNING_KEY"].encode()
        headers = {"Authorization": f"Bearer {auth.issue('AMR-310000', 'SUPERVISOR', key)}"}

        t, rows = timed(lambda: client.get("/complaints", params={"limit": 10_000, "sort": "deadline"},
                                           headers=headers))
        print(f"HTTP: GET /complaints?limit=10000&sort=deadline, {len(rows.json()['items'])} rows: {t * 1000:.1f} ms")
        t, _ = timed(lambda: client.get("/complaints", params={"limit": 50, "sort": "deadline", "open": "true"},
                                        headers=headers))
        print(f"HTTP: GET /complaints?limit=50&sort=deadline&open=true: {t * 1000:.1f} ms")
        app.close()


if __name__ == "__main__":
    main()
