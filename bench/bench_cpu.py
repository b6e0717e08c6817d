"""Where the CPU goes: each service's share of what a complaint costs.

    python bench/bench_cpu.py [--store sqlite|postgres] [--workers W] [--rates 10,120] [--seconds S] [--idle S]

Starts `tousu up` on a fresh embedded broker as bench_e2e.py does (its own
process tree, TOUSU_WORKERS=W; PostgreSQL in a fresh schema prefix, dropped
afterwards), lets the first complaints form the consumer groups, then:

1. idle: each process's share of a core over --idle seconds, once the
   consumers have slowed to their idle fetch;
2. at each offered rate: complaints POSTed on a fixed schedule for --seconds,
   then measured until every one is decided and mediated and the system is
   quiet again (the read models' work behind them counted too); CPU
   milliseconds per complaint, user+system (system apart), from /proc.

One row per service (its workers summed), `tousu up`'s own process (the HTTP
proxy and the supervisor) and the broker; one column per phase. bench_e2e.py
gives the totals and the latencies; this splits the total. Linux only.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_e2e as e2e  # noqa: E402

from services.bus.broker import EmbeddedBroker, create_topics, free_port  # noqa: E402
from services.bus.settings import BusSettings  # noqa: E402
from services.bus.topics import EVERYTHING  # noqa: E402

UP, BROKER = "tousu up (proxy)", "broker"


class SlowWatcher(e2e.Watcher):
    """bench_e2e's subscriber, fetching with a long wait: the broker's row
    should show what tousu up costs it, not a subscriber asking every 5 ms."""

    async def run(self) -> None:
        async for _, _, record_type, record in e2e.subscribe(self.bootstrap, ("complaints.decisions", "mediation.events"),
                                                            fetch_max_wait_ms=1000, timeout_ms=1000):
            cid = record.get("complaint_id")
            if record_type in e2e.DECISIONS:
                self.decided.setdefault(cid, (0.0, record_type))
            elif record_type == "MediationOpened":
                self.opened.setdefault(cid, 0.0)


def _service_of(pid: int, root: int) -> str | None:
    """The service a worker runs, from the name `tousu up` gave its process
    (`tousu-SERVICE` or `tousu-SERVICE-N`, cut to 15 bytes by Linux)."""
    if pid == root:
        return UP
    try:
        name = Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return None
    if not name.startswith("tousu-"):
        return None
    rest = name[len("tousu-"):]
    return next((service for service in EVERYTHING
                 if rest == service or rest.startswith(service + "-") or service.startswith(rest)), None)


def cpu_by_service(root: int, broker: int) -> dict[str, tuple[float, float]]:
    """Service -> (user+system, system) CPU seconds of its processes so far."""
    tree, out, pending = e2e._children(), defaultdict(lambda: [0.0, 0.0]), [root]
    while pending:
        pid = pending.pop()
        pending.extend(tree.get(pid, []))
        service = _service_of(pid, root)
        if service is None:
            continue  # the fork server and multiprocessing's helpers: nothing of their own
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        user, system = int(fields[11]) / e2e.TICK, int(fields[12]) / e2e.TICK
        out[service][0] += user + system
        out[service][1] += system
    fields = Path(f"/proc/{broker}/stat").read_text().rsplit(")", 1)[1].split()
    out[BROKER] = [(int(fields[11]) + int(fields[12])) / e2e.TICK, int(fields[12]) / e2e.TICK]
    return {service: (total, system) for service, (total, system) in out.items()}


def spent(before: dict, after: dict) -> dict[str, tuple[float, float]]:
    # A worker restarted meanwhile starts from zero: what it had is gone, and counts as nothing.
    return {service: (max(0.0, total - before.get(service, (0, 0))[0]), max(0.0, system - before.get(service, (0, 0))[1]))
            for service, (total, system) in after.items()}


async def run(args) -> list[tuple[str, dict]]:
    env_extra, prefix = e2e.store_env(args.store)
    phases: list[tuple[str, dict]] = []
    with EmbeddedBroker() as broker, tempfile.TemporaryDirectory() as tmp:
        data, bootstrap = Path(tmp), broker.bootstrap_servers
        await create_topics(bootstrap)
        port = free_port()
        env = {**os.environ, **env_extra, "KAFKA_BOOTSTRAP_SERVERS": bootstrap, "TOUSU_DATA_DIR": str(data),
               "TOUSU_WORKERS": str(args.workers), "PYTHONPATH": str(e2e.ROOT)}
        up = e2e.start_up(env, data, port)
        watcher = SlowWatcher(bootstrap)
        watching = asyncio.create_task(watcher.run())
        pids = (up.pid, broker.process.pid)
        try:
            await e2e.wait_for(lambda: e2e._serving(f"http://127.0.0.1:{port}", up), 90, "tousu up serving")
            warm, _ = await e2e.closed_loop(port, 10, 2)
            await e2e.wait_for(lambda: watcher.settled(warm), 120, "the warm-up complaints decided", watching)
            if args.idle:
                await asyncio.sleep(BusSettings("-").fetch_idle_after_s + 1)
                before, t = cpu_by_service(*pids), time.perf_counter()
                await asyncio.sleep(args.idle)
                used = spent(before, cpu_by_service(*pids))
                elapsed = time.perf_counter() - t
                phases.append(("idle", {s: (100 * total / elapsed, None) for s, (total, _) in used.items()}))
            for rate in args.rates:
                await e2e.quiet(*pids)
                print(f"{rate:g}/s for {args.seconds:g} s ...", file=sys.stderr, flush=True)
                before = cpu_by_service(*pids)
                loop = await e2e.open_loop(port, rate, max(1, int(rate * args.seconds)))
                ids = [cid for cid, _ in loop.sent]
                await e2e.wait_for(lambda: watcher.settled(ids), 300, "every complaint decided and mediated", watching)
                await e2e.quiet(*pids)
                used = spent(before, cpu_by_service(*pids))
                phases.append((f"{rate:g}/s", {s: (1000 * total / len(ids), 1000 * system / len(ids))
                                               for s, (total, system) in used.items()}))
        finally:
            watching.cancel()
            e2e.stop_up(up)
            if prefix:
                e2e.drop_schemas([prefix])
    return phases


def table(phases: list[tuple[str, dict]]) -> str:
    heads = ["process"] + [("idle % of a core" if name == "idle" else f"{name}: ms/complaint (system)")
                           for name, _ in phases]
    order = [*EVERYTHING, UP, BROKER]
    rows = []
    for service in order:
        cells = [service]
        for name, used in phases:
            total, system = used.get(service, (0.0, 0.0))
            cells.append(f"{total:.2f}" if system is None else f"{total:.2f} ({system:.2f})")
        rows.append(cells)
    sums = ["all of tousu up"]
    for name, used in phases:
        total = sum(v[0] for s, v in used.items() if s != BROKER)
        sums.append(f"{total:.2f}")
    rows.append(sums)
    widths = [max(len(r[i]) for r in [heads, *rows]) for i in range(len(heads))]
    line = lambda cells: "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths)) + " |"  # noqa: E731
    return "\n".join([line(heads), "|" + "|".join("-" * (w + 2) for w in widths) + "|", *map(line, rows)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--workers", type=int, default=1, help="workers per service (PostgreSQL only above 1)")
    parser.add_argument("--rates", default="10,120", help="offered rates per second, one phase each (10,120)")
    parser.add_argument("--seconds", type=float, default=10.0, help="seconds of complaints per rate (10)")
    parser.add_argument("--idle", type=float, default=10.0, help="seconds of idle measured; 0 for none (10)")
    args = parser.parse_args()
    if args.workers > 1 and args.store == "sqlite":
        parser.error("several workers per service need --store postgres (one writer per SQLite store)")
    args.rates = [float(rate) for rate in args.rates.split(",") if rate]
    phases = asyncio.run(run(args))
    print(f"tousu CPU by process, {args.store}, {args.workers} worker(s) per service, {os.cpu_count()} cores; "
          f"each rate for {args.seconds:g} s, counted until every complaint is decided and mediated "
          "and the system is quiet")
    print(table(phases))


if __name__ == "__main__":
    main()
