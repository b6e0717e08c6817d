"""Intake alone over HTTP: complaints accepted per second and the latency of the 202.

    python bench/bench_intake.py [-n N] [-c CONNECTIONS] [--warmup W]

A fresh embedded broker, `tousu worker intake --port P` as its own process
(SQLite store in a temporary directory), and this process as the one client:
CONNECTIONS keep-alive HTTP/1.1 connections driven by asyncio, each sending its
next request when the previous 202 arrives. The client speaks raw HTTP so that
what is measured is the server, not a client library. Every response must be a
202. Prints accepted/s, p50/p90/p99/max latency, and how long the relay took to
have every request published on `complaints.received`.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from services.bus.broker import EmbeddedBroker, create_topics, free_port  # noqa: E402
from services.bus.reader import read_all_sync  # noqa: E402
from tests import factories  # noqa: E402


def requests(n: int, port: int) -> list[bytes]:
    out = []
    for i in range(n):
        body = json.dumps(factories.complaint(i), ensure_ascii=False).encode("utf-8")
        out.append(b"POST /complaints HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nContent-Type: application/json\r\n"
                   b"Content-Length: %d\r\n\r\n%s" % (port, len(body), body))
    return out


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1])
    length = next(int(line.split(b":", 1)[1]) for line in lines[1:] if line.lower().startswith(b"content-length:"))
    return status, await reader.readexactly(length)


async def drive(port: int, payloads: list[bytes], connections: int) -> tuple[float, list[float], list[str]]:
    latencies: list[float] = []
    ids: list[str] = []
    next_index = 0

    async def connection():
        nonlocal next_index
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while next_index < len(payloads):
                payload = payloads[next_index]
                next_index += 1
                sent = time.perf_counter()
                writer.write(payload)
                status, body = await read_response(reader)
                latencies.append(time.perf_counter() - sent)
                if status != 202:
                    raise RuntimeError(f"HTTP {status}: {body[:300]!r}")
                ids.append(json.loads(body)["complaint_id"])
        finally:
            writer.close()

    start = time.perf_counter()
    await asyncio.gather(*(connection() for _ in range(connections)))
    return time.perf_counter() - start, latencies, ids


def percentile(sorted_values: list[float], p: float) -> float:
    return sorted_values[min(len(sorted_values) - 1, int(round(p / 100 * (len(sorted_values) - 1))))]


def wait_serving(url: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"intake exited:\n{log.read_text(errors='replace')[-3000:]}")
        try:
            if httpx.get(f"{url}/openapi.json", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit("intake did not start serving within 60s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=3000, help="requests to time (default 3000)")
    parser.add_argument("-c", "--connections", type=int, default=8, help="keep-alive connections (default 8)")
    parser.add_argument("--warmup", type=int, default=200, help="untimed requests first (default 200)")
    args = parser.parse_args()

    with EmbeddedBroker() as broker, tempfile.TemporaryDirectory() as data:
        asyncio.run(create_topics(broker.bootstrap_servers))
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        log = Path(data) / "intake.log"
        env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap_servers, "TOUSU_DATA_DIR": data}
        with open(log, "wb") as out:
            server = subprocess.Popen([sys.executable, "-m", "services.cli", "worker", "intake", "--port", str(port)],
                                      env=env, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
        try:
            wait_serving(url, server, log)
            payloads = requests(args.warmup + args.n, port)
            # The first requests load the address tables and warm the store.
            asyncio.run(drive(port, payloads[:args.warmup], args.connections))
            elapsed, latencies, ids = asyncio.run(drive(port, payloads[args.warmup:], args.connections))
            after_last = time.perf_counter()
            total = args.warmup + args.n
            while len(read_all_sync(broker.bootstrap_servers, "complaints.received")) < total:
                if time.perf_counter() - after_last > 120:
                    raise SystemExit("the relay did not publish every request within 120s")
                time.sleep(0.1)
            published_lag = time.perf_counter() - after_last
        finally:
            server.terminate()
            server.wait(30)

    assert len(set(ids)) == args.n
    latencies.sort()
    ms = [1000 * percentile(latencies, p) for p in (50, 90, 99)]
    print(f"intake over HTTP, {args.n} requests on {args.connections} keep-alive connections from one client process")
    print(f"accepted: {args.n / elapsed:9.0f} complaints/s ({elapsed:.2f}s)")
    print(f"202 latency: p50 {ms[0]:.1f} ms, p90 {ms[1]:.1f} ms, p99 {ms[2]:.1f} ms, max {1000 * latencies[-1]:.1f} ms")
    print(f"relay: every request on complaints.received {published_lag:.2f}s after the last 202")


if __name__ == "__main__":
    main()
