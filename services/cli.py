"""The `tousu` command."""
from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys

from services.bus.topics import EVERYTHING, SERVICES

DEFAULT_PORT = 8315
# Commands that run until stopped keep the libraries' own logs: they are how an
# operator sees a broker come and go. A one-shot command explains its failure itself.
LONG_RUNNING = {"up", "worker", "broker"}
# Commands whose handler lives with what it serves rather than in services.commands.
ELSEWHERE = {"asyncapi": "services.asyncapi_cli", "stats": "services.statistics.cli"}


class Parser(argparse.ArgumentParser):
    def error(self, message: str):
        # One line, not the usage block: the cause, and where the fix is described.
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


def _number(minimum: int, maximum: int | None = None):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < minimum or (maximum is not None and value > maximum):
            span = f"from {minimum} to {maximum}" if maximum is not None else f"{minimum} or more"
            raise argparse.ArgumentTypeError(f"{value} is out of range: give a number {span}")
        return value
    return parse


def _env_port(name: str) -> int | None:
    text = os.environ.get(name)
    if text is None:
        return None
    try:
        return _number(1, 65535)(text)
    except argparse.ArgumentTypeError as exc:
        raise SystemExit(f"tousu: {name}={text}: {exc}; set it to a port from 1 to 65535, or unset it")


def _log_level_after_any_command(parser: argparse.ArgumentParser) -> None:
    """`tousu submit --log-level DEBUG FILE` as well as `tousu --log-level DEBUG
    submit FILE`: given after the command, it overrides the one before."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for command in set(action.choices.values()):
                command.add_argument("--log-level", default=argparse.SUPPRESS,
                                     help="DEBUG, INFO, WARNING or ERROR (or TOUSU_LOG_LEVEL)")
                _log_level_after_any_command(command)


def main(argv: list[str] | None = None) -> int:
    parser = Parser(prog="tousu", description="The consumer-complaint bus.")
    parser.add_argument("--log-level", default=os.environ.get("TOUSU_LOG_LEVEL", "WARNING"),
                        help="DEBUG, INFO, WARNING (default, or TOUSU_LOG_LEVEL), ERROR; DEBUG shows tracebacks")
    sub = parser.add_subparsers(dest="command", required=True)

    up = sub.add_parser("up", help="embedded broker (unless KAFKA_BOOTSTRAP_SERVERS is set), all services, HTTP API",
                        description="Run the whole system on this machine until Ctrl-C: the embedded broker (unless "
                        "KAFKA_BOOTSTRAP_SERVERS is set), every service in its own process, and every HTTP route on "
                        "one address. Event stores live under TOUSU_DATA_DIR (./tousu-data).")
    up.add_argument("--port", type=_number(1, 65535), default=_env_port("TOUSU_HTTP_PORT") or DEFAULT_PORT,
                    help=f"the one HTTP address's port (or TOUSU_HTTP_PORT; default {DEFAULT_PORT})")
    up.add_argument("--host", default=os.environ.get("TOUSU_HTTP_HOST", "127.0.0.1"),
                    help="the address it listens on (or TOUSU_HTTP_HOST; 0.0.0.0 for every interface; "
                         "default 127.0.0.1)")

    worker = sub.add_parser("worker", help="run one service against KAFKA_BOOTSTRAP_SERVERS")
    worker.add_argument("service", choices=EVERYTHING)
    worker.add_argument("--port", type=_number(1, 65535), default=None, help="serve this service's HTTP routes here")
    worker.add_argument("--host", default="127.0.0.1")
    worker.add_argument("--fd", type=int, default=None,
                        help="serve HTTP on this listening socket instead (as tousu up hands one over)")

    broker = sub.add_parser("broker", help="run the embedded broker alone, in the foreground")
    broker.add_argument("--port", type=_number(1, 65535), default=None,
                        help="the port it listens on (default: a free one)")

    sub.add_parser("topics", help="create every topic of the registry on KAFKA_BOOTSTRAP_SERVERS")

    submit = sub.add_parser("submit", help="submit a complaint, report or consultation from a JSON file ('-' for stdin)"
                                           "; an NDJSON file (one request per line) goes in one bulk call")
    submit.add_argument("file", help="a JSON request, or NDJSON (one request a line) for a bulk; '-' for stdin")
    submit.add_argument("--url", default=None, help="the system's address (default: TOUSU_URL, else where `tousu up` "
                        "listens by TOUSU_HTTP_HOST and TOUSU_HTTP_PORT)")
    submit.add_argument("--idempotency-key", default=None,
                        help="for a bulk, line N gets the key KEY:N, so the same file sent again stores nothing twice")
    submit.add_argument("--token", default=None, help="a bulk's bearer token (default: $TOUSU_TOKEN)")

    status = sub.add_parser("status", help="the status of a complaint")
    status.add_argument("complaint_id")
    status.add_argument("--url", default=None, help="the system's address (as for submit)")
    status.add_argument("--json", action="store_true", help="the status document as the API gives it")

    tail = sub.add_parser("tail", help="decode a topic to readable lines or JSON lines")
    tail.add_argument("topic", help="a topic's name, e.g. complaints.decisions (README: Subscribing)")
    tail.add_argument("-n", "--lines", type=_number(0), default=10, metavar="N",
                      help="show the last N records (default 10; 0 with --follow: only new ones)")
    tail.add_argument("--from-beginning", action="store_true", help="show every record from the first")
    tail.add_argument("--follow", "-f", action="store_true", help="then keep showing new records")
    tail.add_argument("--json", action="store_true", help="one JSON object a line, headers included")
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
    republish.add_argument("--from", dest="start", type=_number(0), default=0,
                           help="first position to send (default 0: all)")

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
    issue.add_argument("--person", default=None,
                       help="the person the token is for: recorded on every change made with it")

    acl = sub.add_parser("access", help="Kafka users and ACLs for a broker that has them (docker-compose.yml)")
    acl.add_argument("action", choices=["script", "list"],
                     help="script: the shell script that creates them; list: who may do what, a line per user")
    acl.add_argument("--agency", action="append", metavar="AGENCY_ID",
                     help="an outside agency with a referral inbox (repeat; default: the examples)")
    acl.add_argument("--regulator", action="append", metavar="AGENCY_ID",
                     help="a regulator reading audit.log (repeat; default: the example)")
    acl.add_argument("--subscriber", action="append", metavar="NAME",
                     help="a consumer association reading public.complaints (repeat; default: the example)")

    _log_level_after_any_command(parser)
    args = parser.parse_args(argv)
    if args.command == "tail" and args.lines == 0 and not args.follow:
        parser.error("--lines: 0 shows nothing; with --follow it shows only the records that come from now on")
    level = args.log_level.upper()
    if level not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
        parser.error(f"--log-level (or TOUSU_LOG_LEVEL) {args.log_level!r}: one of DEBUG, INFO, WARNING, ERROR")
    from services.logs import configure, log_format

    try:
        log_format()
    except ValueError as exc:
        parser.error(str(exc))
    configure(level, json_lines=args.command in LONG_RUNNING,
              service=(os.environ.get("TOUSU_WORKER_NAME") or args.service) if args.command == "worker" else None)
    if args.command not in LONG_RUNNING and level != "DEBUG":
        for noisy in ("aiokafka", "asyncio", "kafka"):
            logging.getLogger(noisy).setLevel(logging.CRITICAL)
    from services.bus import calm

    calm.install()
    from services import commands

    if args.command not in LONG_RUNNING and not os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
        # Beside a running `tousu up`, its embedded broker without an export.
        found = commands.recorded_broker()
        if found:
            os.environ["KAFKA_BOOTSTRAP_SERVERS"] = found[0]
            os.environ["TOUSU_BROKER_RECORDED_IN"] = str(found[1])
    handler = getattr(importlib.import_module(ELSEWHERE.get(args.command, "services.commands")), f"cmd_{args.command}")
    try:
        return handler(args) or 0
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # What reads the output stopped (`| head`): say nothing, as Unix tools
        # do, and keep the interpreter's last flush from failing again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141  # 128 + SIGPIPE, as a shell reports such a tool
    except Exception as exc:  # every failure a person can fix becomes one line, never a traceback
        from services.failures import explain

        logging.getLogger("tousu").debug("%s failed", args.command, exc_info=True)
        # Clients left open by the failure would log again when collected.
        logging.getLogger("asyncio").setLevel(logging.CRITICAL)
        print(f"tousu {args.command}: {explain(exc, args)}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
