"""`python -m services.statistics.worker`: the statistics service alone, on
KAFKA_BOOTSTRAP_SERVERS, with its store where TOUSU_DATA_DIR (or PostgreSQL)
says, until SIGTERM or SIGINT."""
from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys

from services.bus.runtime import ServiceRunner
from services.bus.settings import bus_settings, store_settings

from .agents import SPEC


async def run() -> None:
    runner = ServiceRunner(SPEC, bus_settings(), store_settings())
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await runner.start()
    print("statistics started", flush=True)
    try:
        await stop.wait()
    finally:
        await runner.stop()


def main() -> int:
    logging.basicConfig(level=os.environ.get("TOUSU_LOG_LEVEL", "WARNING").upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if not os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
        print("the statistics worker needs KAFKA_BOOTSTRAP_SERVERS", file=sys.stderr)
        return 2
    asyncio.run(run())
    return 0


if __name__ == "__main__":
    sys.exit(main())
