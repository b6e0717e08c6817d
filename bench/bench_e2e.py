"""The whole system as `tousu up` runs it, measured from the outside, in one run.

    python bench/bench_e2e.py [--stores sqlite,postgres] [--workers 1,2] [-n N] [-c CLIENTS]
                              [--rates 10,100,500] [--seconds S] [--max-per-rate M]

For each store (SQLite, then PostgreSQL through PERSISTENCE_MODULE=eventsourcing.postgres
in a fresh schema prefix, dropped afterwards) and each number of workers per service:

1. a fresh embedded broker; raw aiokafka produce+consume of N messages on it
   (the floor any design on this broker pays);
2. `tousu up` as a user starts it (its own process tree, KAFKA_BOOTSTRAP_SERVERS
   naming that broker, TOUSU_WORKERS=W), and this process as an outside client
   over loopback HTTP, watching `complaints.decisions` and `mediation.events`
   as a subscriber would;
3. idle CPU: the share of one core `tousu up` uses with nothing to do;
4. closed loop: CLIENTS connections post N complaints, each the next when its
   202 arrives; the rate is N over the time from the first POST to the last
   accepted complaint's MediationOpened (every one decided, every accepted one
   mediated); CPU milliseconds per complaint, summed over every process of
   `tousu up` (from /proc), the broker's shown apart;
5. open loop: at each offered rate, once the system is quiet again (below a
   fifth of a core for a second: the phase before leaves work behind), POSTs sent on a fixed schedule whatever the
   answers (at most S seconds and M requests per rate, after a first second
   of warm-up at that rate); latency from sending the POST to the decision
   reaching the subscriber; p50/p99 of those decided within 30 s after the
   last POST (the count of any not decided is shown), the warm-up's apart:
   a consumer idle for a while fetches with its long wait, which the embedded
   broker holds up to half (settings.BusSettings), so what arrives in the
   first half second after a quiet spell waits for that; shown on its own,
   at the first rate, as the first complaint's latency. Also at the first
   rate, the share of a core `tousu up` used meanwhile (the broker's apart):
   what a steady trickle of complaints costs.

Rows the system cannot run print "n/a": several workers per service on SQLite
(one writer per store). Prints one table. Linux only (CPU from /proc).
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition  # noqa: E402
from aiokafka.admin import AIOKafkaAdminClient, NewTopic  # noqa: E402

from services.bus.broker import EmbeddedBroker, create_topics, free_port  # noqa: E402
from services.bus import topics as registry  # noqa: E402
from services.bus.codec import default_codec  # noqa: E402
from services.bus.settings import BusSettings  # noqa: E402
from tests import factories  # noqa: E402
from tests.postgres import drop_schemas, postgres_env  # noqa: E402

DECISIONS = {"ComplaintAccepted", "ComplaintRejected", "ComplaintReferred"}
TICK = os.sysconf("SC_CLK_TCK")
DRAIN_S = 30.0
# Each offered rate's first second: sent, decided, and not in its p50/p99.
WARM_UP_S = 1.0


# -- CPU from /proc ----------------------------------------------------------------

def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            tree.setdefault(ppid, []).append(int(entry))
    return tree


def cpu_seconds(root: int) -> float:
    """User+system CPU of a process and every descendant, living or reaped."""
    tree, total, pending = _children(), 0.0, [root]
    while pending:
        pid = pending.pop()
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # utime, stime, cutime, cstime: fields 14-17 of stat(5), counted after the name.
        total += sum(int(value) for value in fields[11:15]) / TICK
        pending.extend(tree.get(pid, []))
    return total


async def quiet(*roots: int, below: float = 0.2, within: float = 60.0) -> None:
    """Until these process trees use less than `below` of a core over a second
    (at most `within` seconds)."""
    deadline, used = time.perf_counter() + within, float("nan")
    while time.perf_counter() < deadline:
        before = sum(cpu_seconds(root) for root in roots)
        await asyncio.sleep(1.0)
        used = sum(cpu_seconds(root) for root in roots) - before
        if used < below:
            return
    # The next phase then measures this one's backlog too: say so beside its row.
    print(f"not quiet after {within:.0f} s ({used:.2f} of a core in the last second); measuring anyway",
          file=sys.stderr)


# -- raw broker floor ------------------------------------------------------------------

async def raw_rate(bootstrap: str, n: int) -> float:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    await admin.create_topics([NewTopic("bench.raw", 4, 1)])
    await admin.close()
    value = default_codec().encode("ComplaintReceived", _example_record())
    # Assigned, not in a group: a group join on this broker takes seconds, which is not the broker's rate.
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, auto_offset_reset="earliest", enable_auto_commit=False,
                                fetch_max_wait_ms=10)
    await consumer.start()
    consumer.assign([TopicPartition("bench.raw", p) for p in range(4)])
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5, enable_idempotence=False)
    await producer.start()
    # One message through first: metadata and connections are not the rate.
    await (await producer.send("bench.raw", value, key=b"warm"))
    while not any((await consumer.getmany(timeout_ms=500)).values()):
        pass
    start = time.perf_counter()
    sent = [await producer.send("bench.raw", value, key=f"TS-RAW-{i}".encode(),
                                headers=[("event_id", f"e{i}".encode())]) for i in range(n)]
    await asyncio.gather(*sent)
    seen = 0
    while seen < n:
        got = await consumer.getmany(timeout_ms=500)
        seen += sum(len(batch) for batch in got.values())
    elapsed = time.perf_counter() - start
    await producer.stop()
    await consumer.stop()
    return n / elapsed


def _example_record() -> dict:
    from datetime import datetime, timezone

    from tests.examples import EXAMPLES

    now = datetime.now(timezone.utc)
    return dict(EXAMPLES["ComplaintReceived"], complaint_id="TS-RAW", event_id="e", occurred_at=now,
                aware_date=now.date(), prior_handling=[])


# -- the outside subscriber ----------------------------------------------------------

async def subscribe(bootstrap: str, topics: tuple[str, ...], fetch_max_wait_ms: int, timeout_ms: int,
                    clock=time.perf_counter):
    """Every record of `topics` from their start, as a subscriber reads them:
    (when read, by `clock`; the message; its record type; the record)."""
    codec = default_codec()
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False,
                                auto_offset_reset="earliest", fetch_max_wait_ms=fetch_max_wait_ms)
    await consumer.start()
    try:
        consumer.assign([TopicPartition(topic, p) for topic in topics for p in range(registry.topic(topic).partitions)])
        while True:
            got = await consumer.getmany(timeout_ms=timeout_ms)
            now = clock()
            for batch in got.values():
                for message in batch:
                    yield (now, message, *codec.decode(message.value))
    finally:
        await consumer.stop()


@dataclass
class Watcher:
    """When each complaint's decision and mediation case reached a subscriber."""

    bootstrap: str
    decided: dict[str, tuple[float, str]] = field(default_factory=dict)
    opened: dict[str, float] = field(default_factory=dict)

    async def run(self) -> None:
        async for now, _, record_type, record in subscribe(self.bootstrap, ("complaints.decisions", "mediation.events"),
                                                          fetch_max_wait_ms=5, timeout_ms=100):
            cid = record.get("complaint_id")
            if record_type in DECISIONS:
                self.decided.setdefault(cid, (now, record_type))
            elif record_type == "MediationOpened":
                self.opened.setdefault(cid, now)

    def settled(self, ids: list[str]) -> bool:
        """Every one decided, every accepted one with its mediation case open."""
        return all(cid in self.decided and (self.decided[cid][1] != "ComplaintAccepted" or cid in self.opened)
                   for cid in ids)

    def settled_at(self, ids: list[str]) -> float:
        return max(self.opened.get(cid, self.decided[cid][0]) for cid in ids)


async def wait_for(predicate, timeout: float, what: str, watching: asyncio.Task | None = None) -> None:
    deadline = time.perf_counter() + timeout
    while not predicate():
        if watching is not None and watching.done():
            watching.result()  # the subscriber failed: say why
        if time.perf_counter() > deadline:
            raise TimeoutError(f"{what} not within {timeout:.0f}s")
        await asyncio.sleep(0.02)


# -- load ------------------------------------------------------------------------------

_numbers = iter(range(10**9))


def body() -> bytes:
    # factories.complaint(i) is accepted and goes to mediation; a marker keeps each one distinct.
    i = next(_numbers)
    return json.dumps(factories.complaint(i % 5000, facts=f"购买的商品出现质量问题,商家拒绝退货。#{i}"),
                      ensure_ascii=False).encode("utf-8")


class Client:
    """Keep-alive HTTP/1.1 connections speaking raw bytes, so that what is timed
    is the server and not a client library (as bench_intake.py does). A request
    takes an idle connection or opens one. A kept connection the server closed
    meanwhile (its keep-alive timeout) fails before any answer: the request is
    sent once more on a new one, as HTTP clients do, under the same
    Idempotency-Key so that it is never stored twice."""

    def __init__(self, port: int):
        self.port = port
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []

    async def post(self, payload: bytes) -> str:
        request = (b"POST /complaints HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nContent-Type: application/json\r\n"
                   b"Idempotency-Key: %s\r\nContent-Length: %d\r\n\r\n%s"
                   % (self.port, uuid.uuid4().hex.encode(), len(payload), payload))
        while True:
            kept = bool(self.idle)
            reader, writer = self.idle.pop() if kept else await asyncio.open_connection("127.0.0.1", self.port)
            try:
                writer.write(request)
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.split(b"\r\n")
                length = next(int(line.split(b":", 1)[1]) for line in lines[1:]
                              if line.lower().startswith(b"content-length:"))
                answer = await reader.readexactly(length)
            except (asyncio.IncompleteReadError, ConnectionResetError) as failure:
                writer.close()
                if kept and not getattr(failure, "partial", b""):
                    continue
                raise
            except BaseException:
                writer.close()
                raise
            break
        self.idle.append((reader, writer))
        if int(lines[0].split()[1]) != 202:
            raise RuntimeError(f"{lines[0].decode()}: {answer[:300]!r}")
        return json.loads(answer)["complaint_id"]

    def close(self) -> None:
        for _, writer in self.idle:
            writer.close()


async def closed_loop(port: int, n: int, clients: int) -> tuple[list[str], float]:
    ids: list[str] = []
    payloads = [body() for _ in range(n)]
    client = Client(port)

    async def one_client():
        while payloads:
            ids.append(await client.post(payloads.pop()))
    start = time.perf_counter()
    try:
        await asyncio.gather(*(one_client() for _ in range(clients)))
    finally:
        client.close()
    return ids, start


@dataclass
class OpenLoop:
    sent: list[tuple[str, float]] = field(default_factory=list)  # (id, when its POST was sent)
    failed: int = 0
    why: Counter = field(default_factory=Counter)  # what the failed POSTs met, e.g. "503 Service Unavailable"
    achieved: float = 0.0  # POSTs sent a second: below the offered rate when this client cannot keep up
    started: float = 0.0  # when the first POST was due (time.perf_counter)


async def open_loop(port: int, rate: float, count: int) -> OpenLoop:
    """`count` POSTs sent `rate` a second, whatever the answers."""
    result = OpenLoop()
    client = Client(port)
    payloads = [body() for _ in range(count)]

    async def one(payload: bytes, at: float):
        try:
            result.sent.append((await client.post(payload), at))
        except (OSError, asyncio.IncompleteReadError, RuntimeError) as failure:
            result.failed += 1
            result.why[str(failure).split(":")[0] if isinstance(failure, RuntimeError)
                       else failure.__class__.__name__] += 1
    start, tasks = time.perf_counter(), []
    result.started = start
    for i in range(count):
        due = start + i / rate
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
        tasks.append(asyncio.create_task(one(payloads[i], time.perf_counter())))
    result.achieved = (count - 1) / max(time.perf_counter() - start, 1e-9) if count > 1 else rate
    try:
        await asyncio.gather(*tasks)
    finally:
        client.close()
    return result


def percentile(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


# -- one row -------------------------------------------------------------------------

@dataclass
class Row:
    store: str
    workers: int
    note: str = ""
    raw: float | None = None
    closed: float | None = None
    cpu_ms: float | None = None
    broker_cpu_ms: float | None = None
    idle_pct: float | None = None
    latency: dict[float, str] = field(default_factory=dict)
    # Per offered rate: the share of a core `tousu up` used, and the broker's apart.
    busy: dict[float, tuple[float, float]] = field(default_factory=dict)
    # Per offered rate: the first complaint's latency, sent after a quiet spell.
    first_ms: dict[float, float] = field(default_factory=dict)


def store_env(store: str) -> tuple[dict, str | None]:
    if store == "sqlite":
        return {}, None
    prefix = f"bench{uuid.uuid4().hex[:8]}_"
    return {"PERSISTENCE_MODULE": "eventsourcing.postgres", **postgres_env(),
            "TOUSU_POSTGRES_SCHEMA_PREFIX": prefix}, prefix


def start_up(env: dict, data: Path, port: int) -> subprocess.Popen:
    log = open(data / "tousu-up.log", "wb")
    return subprocess.Popen([sys.executable, "-m", "services.cli", "up", "--port", str(port)], env=env,
                            stdout=log, stderr=subprocess.STDOUT, cwd=ROOT, start_new_session=True)


def stop_up(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


async def measure(row: Row, args) -> None:
    env_extra, prefix = store_env(row.store)
    with EmbeddedBroker() as broker, tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        bootstrap = broker.bootstrap_servers
        await create_topics(bootstrap)
        row.raw = await raw_rate(bootstrap, args.n)
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        env = {**os.environ, **env_extra, "KAFKA_BOOTSTRAP_SERVERS": bootstrap, "TOUSU_DATA_DIR": str(data),
               "TOUSU_WORKERS": str(row.workers), "PYTHONPATH": str(ROOT)}
        up = start_up(env, data, port)
        watcher = Watcher(bootstrap)
        watching = asyncio.create_task(watcher.run())
        try:
            await wait_for(lambda: _serving(url, up), 90, "tousu up serving")
            # The first complaints wait for the consumer groups to form.
            warm, _ = await closed_loop(port, 5, 1)
            await wait_for(lambda: watcher.settled(warm), 120, "the warm-up complaints decided", watching)

            # Idle is after a quiet spell: consumers fetch with their long wait
            # once nothing came for fetch_idle_after_s (services/bus/runtime.FetchPace).
            await asyncio.sleep(BusSettings("-").fetch_idle_after_s + 1)
            cpu, t = cpu_seconds(up.pid), time.perf_counter()
            await asyncio.sleep(args.idle)
            row.idle_pct = 100 * (cpu_seconds(up.pid) - cpu) / (time.perf_counter() - t)

            cpu, broker_cpu = cpu_seconds(up.pid), cpu_seconds(broker.process.pid)
            ids, start = await closed_loop(port, args.n, args.clients)
            await wait_for(lambda: watcher.settled(ids), 600, f"{args.n} complaints decided and mediated")
            row.closed = args.n / (watcher.settled_at(ids) - start)
            row.cpu_ms = 1000 * (cpu_seconds(up.pid) - cpu) / args.n
            row.broker_cpu_ms = 1000 * (cpu_seconds(broker.process.pid) - broker_cpu) / args.n

            for rate in args.rates:
                # Latency at a rate is the system's answer to that rate alone, not to the
                # backlog of the phase before (the desk and statistics catching up).
                await quiet(up.pid, broker.process.pid)
                count = max(1, min(args.max_per_rate, int(rate * args.seconds)))
                warm = int(rate * WARM_UP_S)
                cpu, broker_cpu, t = cpu_seconds(up.pid), cpu_seconds(broker.process.pid), time.perf_counter()
                run = await open_loop(port, rate, warm + count)
                # By when each was sent: a failed POST in the warm-up does not move the cut.
                by_sending = sorted(run.sent, key=lambda s: s[1])
                first = by_sending[:1]
                sent = [(cid, at) for cid, at in by_sending if at >= run.started + WARM_UP_S]
                ids = [cid for cid, _ in first + sent]
                try:
                    await wait_for(lambda: all(cid in watcher.decided for cid in ids), DRAIN_S, "decisions")
                except TimeoutError:
                    pass
                elapsed = time.perf_counter() - t
                row.busy[rate] = (100 * (cpu_seconds(up.pid) - cpu) / elapsed,
                                  100 * (cpu_seconds(broker.process.pid) - broker_cpu) / elapsed)
                for first_id, first_at in first:
                    if first_id in watcher.decided:
                        row.first_ms[rate] = 1000 * (watcher.decided[first_id][0] - first_at)
                latencies = [1000 * (watcher.decided[cid][0] - at) for cid, at in sent if cid in watcher.decided]
                missing = len(sent) - len(latencies)
                text = f"{percentile(latencies, 50):.0f} / {percentile(latencies, 99):.0f}" if latencies else "-"
                notes = [f"{missing} undecided"] if missing else []
                if run.failed:
                    notes.append(f"{run.failed} POSTs failed")
                    print(f"{row.store}, {row.workers} worker(s), {rate:g}/s: failed POSTs met "
                          + ", ".join(f"{why} x{n}" for why, n in run.why.most_common()), file=sys.stderr)
                if run.achieved < 0.9 * rate:
                    notes.append(f"sent {run.achieved:.0f}/s")
                row.latency[rate] = text + (f" ({', '.join(notes)})" if notes else "")
        finally:
            watching.cancel()
            stop_up(up)
            if prefix:
                drop_schemas([prefix])
            if up.returncode not in (0, -signal.SIGINT, 130) or os.environ.get("BENCH_VERBOSE"):
                print((data / "tousu-up.log").read_text(errors="replace")[-3000:], file=sys.stderr)


def _serving(url: str, up: subprocess.Popen) -> bool:
    if up.poll() is not None:
        raise RuntimeError(f"tousu up exited with {up.returncode}")
    try:
        return httpx.get(f"{url}/openapi.json", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


# -- the table -----------------------------------------------------------------------

def table(rows: list[Row], args) -> str:
    rate_heads = [f"p50/p99 ms @{rate:g}/s" for rate in args.rates]
    first = args.rates[0]
    heads = ["store", "workers", "raw msg/s", "e2e complaints/s", "e2e/raw", *rate_heads,
             f"first after quiet ms @{first:g}/s", "CPU ms/complaint (broker)", f"CPU % @{first:g}/s (broker)",
             "idle CPU %"]
    lines = []
    for row in rows:
        if row.note:
            lines.append([row.store, str(row.workers), *(["n/a"] * (len(heads) - 2))])
            continue
        lines.append([row.store, str(row.workers), f"{row.raw:,.0f}", f"{row.closed:,.1f}",
                      f"{row.closed / row.raw:.4f}", *(row.latency.get(rate, "-") for rate in args.rates),
                      f"{row.first_ms[first]:.0f}" if first in row.first_ms else "-",
                      f"{row.cpu_ms:.1f} ({row.broker_cpu_ms:.1f})",
                      "%.0f (%.0f)" % row.busy[first] if first in row.busy else "-", f"{row.idle_pct:.1f}"])
    widths = [max(len(h), *(len(line[i]) for line in lines)) for i, h in enumerate(heads)]
    out = ["| " + " | ".join(h.ljust(w) for h, w in zip(heads, widths)) + " |",
           "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    out += ["| " + " | ".join(c.ljust(w) for c, w in zip(line, widths)) + " |" for line in lines]
    notes = [f"{row.store} x{row.workers}: {row.note}" for row in rows if row.note]
    return "\n".join(out + notes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stores", default="sqlite,postgres", help="stores to run on, in turn (sqlite,postgres)")
    parser.add_argument("--workers", default="1,2", help="workers per service to run (default 1,2)")
    parser.add_argument("-n", type=int, default=2000, help="complaints in the closed loop, messages raw (2000)")
    parser.add_argument("-c", "--clients", type=int, default=32, help="closed-loop connections (32)")
    parser.add_argument("--rates", default="10,100,500", help="open-loop offered rates per second (10,100,500)")
    parser.add_argument("--seconds", type=float, default=10.0, help="open-loop seconds per rate at most (10)")
    parser.add_argument("--max-per-rate", type=int, default=2000, help="open-loop requests per rate at most")
    parser.add_argument("--idle", type=float, default=5.0, help="seconds of idle CPU measured (5)")
    args = parser.parse_args()
    args.rates = [float(rate) for rate in args.rates.split(",")]

    rows = []
    for store in args.stores.split(","):
        for workers in (int(w) for w in args.workers.split(",")):
            row = Row(store, workers)
            if workers > 1 and store == "sqlite":
                row.note = "one writer per SQLite store: one worker per service"
            else:
                print(f"{store}, {workers} worker(s) per service ...", file=sys.stderr, flush=True)
                asyncio.run(measure(row, args))
            rows.append(row)
    print(f"tousu end to end, {os.cpu_count()} cores; closed loop {args.n} complaints on {args.clients} "
          f"connections; open loop at most {args.seconds:g}s / {args.max_per_rate} per rate after {WARM_UP_S:g}s "
          "of warm-up; latency = POST sent -> decision seen by a subscriber")
    print(table(rows, args))


if __name__ == "__main__":
    main()
