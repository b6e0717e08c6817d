"""Mediation cases opened per second from `complaints.decisions`, and enforcement
leads processed per second with pattern detection on, each through its batch
processor (decode, tracking, store) on SQLite, in one run.

    python bench/bench_consumers.py [N] [BATCH]"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from services.bus.codec import default_codec  # noqa: E402
from services.bus.consumer import BatchProcessor  # noqa: E402
from services.bus.messages import Inbound  # noqa: E402
from services.enforcement.application import Enforcement  # noqa: E402
from services.mediation.application import Mediation  # noqa: E402
from services.system import spec  # noqa: E402
from tests.examples import EXAMPLES  # noqa: E402


def encoded(record_type: str, topic: str, source: str, records: list[dict]) -> list[Inbound]:
    codec = default_codec()
    return [Inbound(topic, 0, i, None, codec.encode(record_type, r),
                    {"source": source.encode(), "position": str(i + 1).encode()}) for i, r in enumerate(records)]


def rate(service: str, app, messages: list[Inbound], size: int) -> float:
    processor = BatchProcessor(app, spec(service).handler(app), default_codec())
    start = time.perf_counter()
    for i in range(0, len(messages), size):
        processor.process(messages[i:i + size])
    return len(messages) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("n", type=int, nargs="?", default=5000, help="decisions and leads to process (5000)")
    parser.add_argument("batch", type=int, nargs="?", default=500, help="messages a batch (500)")
    args = parser.parse_args()
    n, size = args.n, args.batch
    now = datetime.now(timezone.utc)
    accepted = [dict(EXAMPLES["ComplaintAccepted"], complaint_id=f"TS-B-{i}", event_id=f"a{i}",
                     occurred_at=now, decided_at=now) for i in range(n)]
    # 50 operators, so bursts cross the pattern threshold and later leads join cases.
    leads = [dict(EXAMPLES["ViolationFound"], complaint_id=f"TS-V-{i}", event_id=f"v{i}",
                  occurred_at=now + timedelta(minutes=i),
                  respondent={"name": f"某某公司{i % 50}", "uscc": None}) for i in range(n)]
    with tempfile.TemporaryDirectory() as tmp:
        mediation = Mediation(env={"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": f"{tmp}/m.sqlite"})
        opened = rate("mediation", mediation,
                      encoded("ComplaintAccepted", "complaints.decisions", "routing", accepted), size)
        enforcement = Enforcement(env={"PERSISTENCE_MODULE": "eventsourcing.sqlite",
                                       "SQLITE_DBNAME": f"{tmp}/e.sqlite"})
        processed = rate("enforcement", enforcement,
                         encoded("ViolationFound", "violations.found", "mediation", leads), size)
    print(f"mediation cases opened:              {opened:7.0f} /s (SQLite, batches of {size})")
    print(f"enforcement leads, patterns on:      {processed:7.0f} /s (SQLite, batches of {size})")


if __name__ == "__main__":
    main()
