"""What a restart costs as history grows: the relay finding where its audit chain
stands, and routing's deadline timer's first round, with N complaints stored.

    python bench/bench_restart.py [N]

Stores N complaints in routing (SQLite, through its batch processor), relays
them once so the chain checkpoint is kept, then times, on a fresh application
over the same file: the chain position from the checkpoint against recomputing
it from the first event, and the timer's first round (which loads only the
complaints still undecided or awaiting a referral answer). Prints the ratios."""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.dirname(__file__))

from bench_skeleton import messages  # noqa: E402
from services.bus.codec import default_codec  # noqa: E402
from services.bus.consumer import BatchProcessor  # noqa: E402
from services.bus.messages import Inbound  # noqa: E402
from services.bus.logindex import Watchlist  # noqa: E402
from services.bus.relay import Relay  # noqa: E402
from services.routing.application import Routing  # noqa: E402
from services.system import spec  # noqa: E402
from services.routing.domainmodel import Complaint  # noqa: E402
from services.routing.integration import integration_events  # noqa: E402


def timed(fn):
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("n", type=int, nargs="?", default=10000, help="complaints stored (10000)")
    args = parser.parse_args()
    n = args.n
    env = {"PERSISTENCE_MODULE": "eventsourcing.sqlite",
           "SQLITE_DBNAME": os.path.join(tempfile.mkdtemp(), "routing.sqlite")}
    app = Routing(env=env)
    processor = BatchProcessor(app, spec("routing").handler(app), default_codec())
    batch = [Inbound("complaints.received", 0, i, key, value, dict(headers))
             for i, (key, value, headers) in enumerate(messages(n))]
    for i in range(0, n, 500):
        processor.process(batch[i:i + 500])
        print(f"stored {min(i + 500, n)}/{n}", end="\r", file=sys.stderr, flush=True)
    position = app.recorder.max_notification_id()
    relay = Relay("routing", app, integration_events, default_codec(), "unused:9092")
    # Keep the checkpoint as the running relay would after publishing everything.
    relay.checkpoint.save(position, relay._hash_at(position))
    app.close()
    print(file=sys.stderr)

    fresh = Routing(env=env)
    kept = Relay("routing", fresh, integration_events, default_codec(), "unused:9092")
    from_checkpoint, t_kept = timed(lambda: kept._hash_at(position))
    recomputed = Relay("routing", fresh, integration_events, default_codec(), "unused:9092")
    recomputed.checkpoint.kind = None  # as before the checkpoint existed
    from_start, t_full = timed(lambda: recomputed._hash_at(position))
    assert from_checkpoint == from_start
    _, t_watch = timed(fresh.flag_overdue)
    # As before: every complaint ever received was looked at once after a start.
    everything = Watchlist(fresh, Complaint.Received, Complaint.Referred)
    _, t_all = timed(lambda: [fresh.find(i) for i in everything.refresh()])
    fresh.close()

    print(f"{n} complaints, {position} stored events")
    print(f"chain position at start: checkpoint {t_kept * 1000:.1f} ms, recomputed {t_full * 1000:.0f} ms, "
          f"ratio {t_kept / t_full:.4f}")
    print(f"routing timer, first round after start: {t_watch * 1000:.0f} ms "
          f"({len(fresh.open_complaints.ids)} complaints watched of {n}); loading every complaint "
          f"{t_all * 1000:.0f} ms, ratio {t_watch / t_all:.4f}")


if __name__ == "__main__":
    main()
