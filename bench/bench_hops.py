"""Where a complaint's time goes between POST and decision, stage by stage.

Starts `tousu up` (SQLite) on an embedded broker, as bench_e2e.py does, and
posts complaints at a fixed offered rate (one at a time by default: --rate 5).
A subscriber reads complaints.received and complaints.decisions with a 2 ms
fetch wait. For each complaint, from the moment its POST was sent:

  answered   the 202 came back
  published  intake's relay sent its ComplaintReceived (the record's timestamp)
  read       a subscriber had it
  decided    routing's relay sent its decision (the record's timestamp)
  seen       a subscriber had the decision

and the stages between them: intake (POST -> published), routing's hop
(published -> decided), and the broker and a subscriber's fetch on each side.
Record timestamps are the producer's clock, the same machine's as this one.
Prints p50, p90, p99 and the maximum in milliseconds. Linux or macOS; a minute or so.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_e2e as e2e  # noqa: E402

TOPICS = ("complaints.received", "complaints.decisions")


async def watch(bootstrap: str, seen: dict) -> None:
    """(topic, complaint id) -> (when read here, the record's timestamp), both in seconds."""
    async for now, message, _, record in e2e.subscribe(bootstrap, TOPICS, fetch_max_wait_ms=2, timeout_ms=50,
                                                       clock=time.time):
        seen.setdefault((message.topic, record.get("complaint_id")), (now, message.timestamp / 1000))


async def post_at(port: int, rate: float, count: int) -> list[tuple[str, float, float]]:
    """`count` POSTs sent `rate` a second whatever the answers: (id, sent, answered)."""
    client, rows = e2e.Client(port), []

    async def one():
        sent = time.time()
        complaint_id = await client.post(e2e.body())
        rows.append((complaint_id, sent, time.time()))
    tasks, start = [], time.perf_counter()
    try:
        for i in range(count):
            await asyncio.sleep(max(0.0, start + i / rate - time.perf_counter()))
            tasks.append(asyncio.create_task(one()))
        await asyncio.gather(*tasks)
    finally:
        client.close()
    return rows


def table(rows, seen) -> list[tuple[str, list[float]]]:
    points = {name: [] for name in ("answered", "published", "read", "decided", "seen")}
    stages = {name: [] for name in ("intake: POST -> published", "broker and fetch -> read",
                                    "routing's hop: published -> decided", "broker and fetch -> decision seen")}
    for complaint_id, sent, answered in rows:
        received = seen.get(("complaints.received", complaint_id))
        decision = seen.get(("complaints.decisions", complaint_id))
        if received is None or decision is None:
            continue
        ms = {"answered": answered - sent, "published": received[1] - sent, "read": received[0] - sent,
              "decided": decision[1] - sent, "seen": decision[0] - sent}
        for name, value in ms.items():
            points[name].append(1000 * value)
        for name, value in zip(stages, (ms["published"], ms["read"] - ms["published"],
                                        ms["decided"] - ms["published"], ms["seen"] - ms["decided"])):
            stages[name].append(1000 * value)
    return list(points.items()) + list(stages.items())


async def main(args) -> None:
    with e2e.EmbeddedBroker() as broker, tempfile.TemporaryDirectory() as tmp:
        data, bootstrap = Path(tmp), broker.bootstrap_servers
        await e2e.create_topics(bootstrap)
        port = e2e.free_port()
        env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": bootstrap, "TOUSU_DATA_DIR": str(data),
               "TOUSU_WORKERS": "1", "PYTHONPATH": str(e2e.ROOT)}
        up = e2e.start_up(env, data, port)
        seen: dict = {}
        watching = asyncio.create_task(watch(bootstrap, seen))
        try:
            await e2e.wait_for(lambda: e2e._serving(f"http://127.0.0.1:{port}", up), 90, "tousu up serving")
            warm, _ = await e2e.closed_loop(port, 5, 1)
            await e2e.wait_for(lambda: all(("complaints.decisions", c) in seen for c in warm), 120,
                               "the warm-up complaints decided", watching)
            await e2e.quiet(up.pid, broker.process.pid)
            print(f"{args.n} complaints at {args.rate:g}/s offered ...", flush=True)
            rows = await post_at(port, args.rate, args.n)
            ids = [complaint_id for complaint_id, _, _ in rows]
            await e2e.wait_for(lambda: all(("complaints.decisions", c) in seen for c in ids), 120,
                               "every complaint decided", watching)
        finally:
            watching.cancel()
            e2e.stop_up(up)
    print(f"tousu up (SQLite, one worker per service), {args.n} complaints at {args.rate:g}/s; "
          "ms from the POST sent, and between stages")
    width = max(len(name) for name, _ in table(rows, seen))
    print(f"{'':{width}}    p50     p90     p99     max")
    for name, values in table(rows, seen):
        print(f"{name:{width}} " + "  ".join(f"{e2e.percentile(values, q):6.1f}" for q in (50, 90, 99, 100)))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=5.0, help="POSTs offered a second (5)")
    parser.add_argument("-n", type=int, default=100, help="complaints posted (100)")
    asyncio.run(main(parser.parse_args()))
