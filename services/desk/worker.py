"""`python -m services.desk.worker [--port PORT]`: the desk alone, as
production runs each service, on KAFKA_BOOTSTRAP_SERVERS, serving its
listings, the console and the public pages. Behind the deployment's proxy,
set TOUSU_CONSOLE_API_URL to the proxy's address so the console's forms
reach the services that own each route."""
from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.desk.worker")
    parser.add_argument("--port", type=int, default=int(os.environ.get("TOUSU_HTTP_PORT", 0)) or None)
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args(argv)
    logging.basicConfig(level=os.environ.get("TOUSU_LOG_LEVEL", "WARNING").upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if not os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
        print("the desk worker needs KAFKA_BOOTSTRAP_SERVERS", file=sys.stderr)
        return 2
    from services.commands import _run_system
    from services.system import System

    print("desk starting", flush=True)
    asyncio.run(_run_system(System(["desk"]), args.host, args.port))
    return 0


if __name__ == "__main__":
    sys.exit(main())
