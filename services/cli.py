"""The `tousu` command."""
from __future__ import annotations

import argparse
import logging
import os
import sys

from services.bus.topics import READ_MODELS, SERVICES

DEFAULT_PORT = 8315


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tousu", description="The consumer-complaint bus.")
    parser.add_argument("--log-level", default=os.environ.get("TOUSU_LOG_LEVEL", "WARNING"))
    sub = parser.add_subparsers(dest="command", required=True)

    up = sub.add_parser("up", help="embedded broker (unless KAFKA_BOOTSTRAP_SERVERS is set), all services, HTTP API")
    up.add_argument("--port", type=int, default=int(os.environ.get("TOUSU_HTTP_PORT", DEFAULT_PORT)))
    up.add_argument("--host", default=os.environ.get("TOUSU_HTTP_HOST", "127.0.0.1"))

    worker = sub.add_parser("worker", help="run one service against KAFKA_BOOTSTRAP_SERVERS")
    # services.system.DESK, spelled out: importing the system here would load every service for every command.
    worker.add_argument("service", choices=SERVICES + READ_MODELS + ("desk",))
    worker.add_argument("--port", type=int, default=None, help="serve this service's HTTP routes here")
    worker.add_argument("--host", default="127.0.0.1")

    broker = sub.add_parser("broker", help="run the embedded broker alone, in the foreground")
    broker.add_argument("--port", type=int, default=None)

    sub.add_parser("topics", help="create every topic of the registry on KAFKA_BOOTSTRAP_SERVERS")

    submit = sub.add_parser("submit", help="submit a complaint, report or consultation from a JSON file ('-' for stdin)"
                                           "; an NDJSON file (one request per line) goes in one bulk call")
    submit.add_argument("file")
    submit.add_argument("--url", default=None)
    submit.add_argument("--idempotency-key", default=None,
                        help="for a bulk, line N gets the key KEY:N, so the same file sent again stores nothing twice")
    submit.add_argument("--token", default=None, help="a bulk's bearer token (default: $TOUSU_TOKEN)")

    status = sub.add_parser("status", help="the status of a complaint")
    status.add_argument("complaint_id")
    status.add_argument("--url", default=None)
    status.add_argument("--json", action="store_true")

    tail = sub.add_parser("tail", help="decode a topic to readable lines or JSON lines")
    tail.add_argument("topic")
    tail.add_argument("--from-beginning", action="store_true")
    tail.add_argument("--follow", action="store_true")
    tail.add_argument("--json", action="store_true")
    tail.add_argument("--show-personal-data", action="store_true",
                      help="show consumers' names, phones, id numbers, addresses and facts")

    audit = sub.add_parser("audit", help="the audit stream: verify it; sign its heads (keygen, sign)")
    audit.add_argument("action", choices=["verify", "keygen", "sign"])
    audit.add_argument("--topic-only", action="store_true",
                       help="check the chain on the topic alone, not against the services' event stores")
    audit.add_argument("--key", help="keygen: where to write the new private key (public key beside it, .pub); "
                                     "sign: the private key")
    audit.add_argument("--service", action="append", choices=SERVICES,
                       help="sign: this service's head only (repeat; default: every service with a store here)")
    audit.add_argument("--checkpoint", help="verify: a file of signed checkpoints (what `sign` printed) to check")
    audit.add_argument("--public-key", help="verify: the public key the checkpoints were signed with")

    republish = sub.add_parser("republish", help="send a service's events again from its event store")
    republish.add_argument("service", choices=SERVICES)
    republish.add_argument("--from", dest="start", type=int, default=0, help="first position to send (default 0: all)")

    agency = sub.add_parser("agency", help="run the example agency system: answer referrals in its inbox")
    agency.add_argument("agency_id")
    agency.add_argument("--decline", metavar="REASON", help="decline every referral with this reason")
    agency.add_argument("--suggest", metavar="AGENCY_ID", help="with --decline: the agency that is competent")
    agency.add_argument("--once", action="store_true", help="answer what is in the inbox, then exit")

    stats = sub.add_parser("stats", help="the figures a regulator publishes: counts, money recovered, lateness")
    from services.statistics.cli import add_arguments as stats_arguments
    stats_arguments(stats)

    asyncapi = sub.add_parser("asyncapi", help="print or write the AsyncAPI 3.0 document of every topic")
    from services.asyncapi_cli import add_arguments as asyncapi_arguments
    asyncapi_arguments(asyncapi)

    token = sub.add_parser("token", help="case-work tokens")
    token_sub = token.add_subparsers(dest="action", required=True)
    issue = token_sub.add_parser("issue", help="print a signed token for an agency and role")
    issue.add_argument("agency_id")
    issue.add_argument("--role", required=True, choices=["CASE_WORKER", "SUPERVISOR", "REGULATOR", "AGENCY_SYSTEM"])
    issue.add_argument("--ttl", type=float, default=30.0, help="days until it expires (default 30)")

    acl = sub.add_parser("access", help="Kafka users and ACLs for a broker that has them (docker-compose.yml)")
    acl.add_argument("action", choices=["script", "list"],
                     help="script: the shell script that creates them; list: who may do what, a line per user")
    acl.add_argument("--agency", action="append", metavar="AGENCY_ID",
                     help="an outside agency with a referral inbox (repeat; default: the examples)")
    acl.add_argument("--regulator", action="append", metavar="AGENCY_ID",
                     help="a regulator reading audit.log (repeat; default: the example)")
    acl.add_argument("--subscriber", action="append", metavar="NAME",
                     help="a consumer association reading public.complaints (repeat; default: the example)")

    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from services.bus import calm

    calm.install()
    from services import commands

    handler = getattr(commands, f"cmd_{args.command}")
    try:
        return handler(args) or 0
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
