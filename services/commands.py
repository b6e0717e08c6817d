"""What each `tousu` subcommand does."""
from __future__ import annotations

import asyncio
import base64
import json
import logging
import os
import sys
import time
from datetime import date, datetime

from services.bus.settings import bus_settings

# A token lives at most ten years: beyond, a date no longer fits.
MAX_TOKEN_DAYS = 3650

# An agent complaining for a consumer (art. 13) is a person too: name, phone, identity number.
PERSONAL_FIELDS = {"consumer", "agent", "facts", "id_number", "phone", "address", "original", "question", "answer",
                   # a joint complaint's other consumers, named in several records
                   "co_consumers", "representatives", "represented", "represented_consent"}


def _fast_event_loops() -> None:
    """uvloop's event loops for the long-running processes, and for the threads
    they start (faust's consumer runs in one with a loop of its own): most of a
    worker's CPU is its event loops', and uvloop's cost it 6-10% less per
    complaint than asyncio's own."""
    import uvloop

    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())


def _url(args) -> str:
    """--url, TOUSU_URL, else where `tousu up` listens by TOUSU_HTTP_HOST and
    TOUSU_HTTP_PORT (on every interface: this machine's loopback among them)."""
    host = os.environ.get("TOUSU_HTTP_HOST", "127.0.0.1")
    host = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host)
    host = f"[{host}]" if ":" in host and not host.startswith("[") else host
    return (args.url or os.environ.get("TOUSU_URL")
            or f"http://{host}:{os.environ.get('TOUSU_HTTP_PORT', '8315')}").rstrip("/")


def _serve(app, sock):
    """uvicorn serving `app` on a socket that already listens."""
    import contextlib

    import uvicorn

    class Server(uvicorn.Server):
        # _run_system handles SIGINT and SIGTERM, so that the services stop in
        # order; uvicorn's own handling would raise the signal again afterwards
        # and cut that stop short.
        @contextlib.contextmanager
        def capture_signals(self):
            yield

        async def serve(self, sockets=None):
            await super().serve(sockets=[sock])

        # uvicorn looks at should_exit ten times a second, ten wake-ups with
        # nothing to do in every idle worker: here a stop wakes it, and its
        # tick (the Date header's clock) comes once a second.
        @property
        def should_exit(self):
            return self.__dict__.get("_should_exit", False)

        @should_exit.setter
        def should_exit(self, value):
            self.__dict__["_should_exit"] = value
            if value:
                self.__dict__.setdefault("_exit", asyncio.Event()).set()

        async def main_loop(self):
            woken = self.__dict__.setdefault("_exit", asyncio.Event())
            counter = 0  # on_tick refreshes the Date header when counter % 10 == 0
            while not await self.on_tick(counter):
                counter = (counter + 10) % 864000
                try:
                    await asyncio.wait_for(woken.wait(), 1.0)
                except TimeoutError:
                    pass

    host, port = sock.getsockname()[:2]
    return Server(uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="off"))


def bound_socket(host: str, port: int):
    """A socket bound to host:port at once, before anything slow starts: a port
    chosen beforehand is taken now or never, not seconds later when another
    process (a connection's own port, even) may hold it. It listens once the
    server starts; until then a connection is refused, not left waiting."""
    import errno
    import socket

    # Named TCP, not left to the default protocol 0: asyncio turns Nagle's
    # algorithm off only on connections whose socket says TCP, and with it on,
    # an answer's second write waited for the client's delayed ACK, ~40 ms
    # on every request that followed another within a few hundred ms.
    bound = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    # As uvicorn binds: a previous run's connections in TIME_WAIT do not count.
    bound.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        bound.bind((host, port))
    except OSError as exc:
        bound.close()
        if exc.errno == errno.EADDRINUSE:
            raise SystemExit(f"tousu: cannot listen on {host}:{port} (in use); choose another with --port "
                             "or TOUSU_HTTP_PORT") from None
        raise SystemExit(f"tousu: cannot listen on {host}:{port} ({exc.strerror or exc}); check the host "
                         "given with --host or TOUSU_HTTP_HOST") from None
    return bound


def handed_over(fd: int):
    """The socket `tousu up` handed over as file descriptor `fd`."""
    import socket

    return socket.socket(fileno=fd)


def stopping_on_signals() -> asyncio.Task:
    """A task that ends on Ctrl-C or SIGTERM (which then stop things in order);
    `kill -USR1 PID` writes what every task of the process waits on to its log."""
    import signal

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    loop.add_signal_handler(signal.SIGUSR1, _dump_tasks)
    return asyncio.create_task(stop.wait())


async def unless_stopped(work, stopping: asyncio.Task) -> bool:
    """Run `work` (a start that may wait on a broker) unless Ctrl-C comes
    first; True when it finished."""
    task = asyncio.create_task(work)
    await asyncio.wait([task, stopping], return_when=asyncio.FIRST_COMPLETED)
    if not task.done():
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        return False
    task.result()
    return True


async def _run_system(system, host, port, fd: int | None = None) -> None:
    """One service (`tousu worker`): its store, relay and consumers, and its
    routes on HTTP (on host:port, or on the socket handed over as `fd`)."""
    from services.http import build_app

    sock = handed_over(fd) if fd is not None else bound_socket(host, port) if port else None
    stopping = stopping_on_signals()
    server = serving = recorded = None
    try:
        if not await unless_stopped(system.open(), stopping):
            return
        recorded = _record_broker(system)
        if sock is not None:
            # HTTP serves while the consumers join their groups (seconds on a fresh start).
            server = _serve(build_app(system.runners), sock)
            serving = asyncio.create_task(server.serve())
        if not await unless_stopped(system.start(), stopping):
            return
        await asyncio.wait([stopping] + ([serving] if serving else []), return_when=asyncio.FIRST_COMPLETED)
        if serving and serving.done():
            serving.result()  # the server could not start: say why
    finally:
        if serving and not serving.done():
            server.should_exit = True
            await serving
        await system.stop()
        if sock is not None:
            sock.close()
        if recorded:
            recorded.unlink(missing_ok=True)


BROKER_FILE = "broker"


def _record_broker(system):
    return record_broker(system.bootstrap_servers) if system.broker else None


def record_broker(address: str):
    """Where the embedded broker listens, for the other commands run beside
    this one (tail, audit, agency...) to find without an export."""
    from services.bus.settings import data_dir

    path = data_dir() / BROKER_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(address + "\n")
    return path


UP_LOCK = "up.lock"


class DataDirInUse(RuntimeError):
    def __init__(self, folder, pid: str):
        super().__init__(f"a `tousu up` (pid {pid or '?'}) already runs with the data directory {folder}")
        self.folder, self.pid = folder, pid


def hold_data_dir():
    """The data directory for this `tousu up` alone, for as long as the
    returned file stays open: a second one would run a second set of services
    on the same SQLite stores and replace the first one's broker address.
    Raises DataDirInUse. The lock is the kernel's, so a `tousu up` killed
    with -9 leaves nothing to clean up."""
    import fcntl

    from services.bus.settings import data_dir

    path = data_dir() / UP_LOCK
    path.parent.mkdir(parents=True, exist_ok=True)
    # The stores hold consumers' personal data: for this user only, on a shared machine too.
    path.parent.chmod(0o700)
    handle = open(path, "a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        pid = handle.read().strip()
        handle.close()
        raise DataDirInUse(path.parent, pid) from None
    handle.seek(0)
    handle.truncate()
    handle.write(f"{os.getpid()}\n")
    handle.flush()
    return handle


def refuse_beside_up(command: str) -> str | None:
    """Why `command`, which replaces a store in the data directory, must not
    run now: a `tousu up` on that directory whose services write to it."""
    try:
        hold_data_dir().close()
    except DataDirInUse as busy:
        return (f"{command}: {busy}, whose services keep writing to the store this would replace: "
                "stop it (Ctrl-C) first, or run this beside a service stopped on its own")
    return None


def recorded_broker():
    """(address, file) that a running `tousu up` recorded in the data directory, or None."""
    from services.bus.settings import data_dir

    path = data_dir() / BROKER_FILE
    try:
        return path.read_text().strip(), path
    except OSError:
        return None


def cmd_up(args) -> int:
    from services import up
    from services.failures import reachable

    stale = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if stale and not reachable(stale):
        print(f"tousu up: no Kafka broker answers at KAFKA_BOOTSTRAP_SERVERS={stale} (left over "
              "from an earlier `tousu up`?): run `unset KAFKA_BOOTSTRAP_SERVERS` and `tousu up` starts "
              "its own broker, or start the broker at that address", file=sys.stderr)
        return 2
    try:
        up.instances(os.environ)
    except ValueError as exc:
        print(f"tousu up: {exc}", file=sys.stderr)
        return 2
    try:
        held = hold_data_dir()  # noqa: F841 (held until the process ends)
    except DataDirInUse as busy:
        print(f"tousu up: {busy}: stop it first, or give this one another folder (TOUSU_DATA_DIR)",
              file=sys.stderr)
        return 2
    _fast_event_loops()
    asyncio.run(up.run(args.host, args.port, args.log_level))
    print("tousu stopped.", flush=True)
    _exit_now(0)
    return 0


def cmd_worker(args) -> int:
    from services.bus.clock import Clock, stamp_events_with
    from services.failures import broker_unreachable, reachable
    from services.system import System

    if not os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
        print("tousu worker needs KAFKA_BOOTSTRAP_SERVERS (tousu up starts a broker for you)", file=sys.stderr)
        return 2
    if not reachable(os.environ["KAFKA_BOOTSTRAP_SERVERS"]):
        print(f"tousu worker: {broker_unreachable(os.environ['KAFKA_BOOTSTRAP_SERVERS'])}", file=sys.stderr)
        return 2
    print(f"{args.service} starting", flush=True)
    _fast_event_loops()
    clock = Clock.from_env()
    stamp_events_with(clock)
    asyncio.run(_run_system(System([args.service], clock=clock), args.host, args.port, args.fd))
    _exit_now(0)
    return 0


def _dump_tasks() -> None:
    import io

    for task in asyncio.all_tasks():
        out = io.StringIO()
        task.print_stack(limit=12, file=out)
        logging.getLogger("tousu.tasks").warning("%s", out.getvalue())


def _exit_now(code: int) -> None:
    """Everything is stored and stopped: end the process here. A Kafka client
    thread or task still waiting on a broker that is gone would otherwise keep
    it alive, or fill the end of its output with complaints at teardown."""
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def cmd_broker(args) -> int:
    import signal
    import threading

    from services.bus.broker import EmbeddedBroker, ensure_topics

    broker = EmbeddedBroker(args.port).start()
    try:
        ensure_topics(broker.bootstrap_servers)
        print(f"KAFKA_BOOTSTRAP_SERVERS={broker.bootstrap_servers}", flush=True)
        done = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: done.set())
        signal.signal(signal.SIGINT, lambda *_: done.set())
        done.wait()
    finally:
        broker.stop()
    return 0


def cmd_topics(args) -> int:
    from services.bus.broker import ensure_topics

    ensure_topics(bus_settings().bootstrap_servers)
    return 0


def cmd_submit(args) -> int:
    import httpx

    raw = sys.stdin.read() if args.file == "-" else open(args.file, encoding="utf-8").read()
    if _is_ndjson(args.file, raw):
        return _submit_bulk(args, raw)
    headers = {"Content-Type": "application/json"}
    if args.idempotency_key:
        headers["Idempotency-Key"] = args.idempotency_key
    response = httpx.post(f"{_url(args)}/complaints", content=raw.encode("utf-8"), headers=headers, timeout=30)
    if response.status_code != 202:
        _print_problem(response)
        return 1
    body = response.json()
    print(body["complaint_id"])
    if body.get("linked_request_id"):
        print(f"also filed as report {body['linked_request_id']}", file=sys.stderr)
    return 0


def _is_ndjson(name: str, raw: str) -> bool:
    """One JSON document (however it is laid out) is one request; several
    JSON lines are a bulk."""
    if name.endswith((".ndjson", ".jsonl")):
        return True
    try:
        json.loads(raw)
        return False
    except ValueError:
        pass
    lines = [line for line in raw.splitlines() if line.strip()]
    try:
        return len(lines) > 1 and isinstance(json.loads(lines[0]), dict)
    except ValueError:
        return False


def _submit_bulk(args, raw: str) -> int:
    """Every line to POST /complaints/bulk: `LINE<TAB>ID` on stdout for each
    stored, each refused line's problem on stderr; exit 1 if any was refused."""
    import httpx

    headers = {"Content-Type": "application/x-ndjson"}
    token = getattr(args, "token", None) or os.environ.get("TOUSU_TOKEN")
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if args.idempotency_key:
        headers["Idempotency-Key"] = args.idempotency_key
    response = httpx.post(f"{_url(args)}/complaints/bulk", content=raw.encode("utf-8"), headers=headers,
                          timeout=300)
    if response.status_code != 200:
        _print_problem(response)
        if response.status_code == 401:
            print(("a bulk needs a valid token" if token else "a bulk needs a token: --token or TOUSU_TOKEN")
                  + " (tousu token issue AGENCY_ID --role AGENCY_SYSTEM)", file=sys.stderr)
        return 1
    answer = response.json()
    for result in answer["results"]:
        if result["status"] == 202:
            print(f"{result['line']}\t{result['complaint_id']}")
        else:
            print(f"line {result['line']}: {result['status']} {result.get('title', '')}: "
                  f"{result.get('detail', '')}", file=sys.stderr)
    print(f"{answer['accepted']} stored, {answer['refused']} refused", file=sys.stderr)
    return 0 if answer["refused"] == 0 else 1


def cmd_status(args) -> int:
    import re
    from urllib.parse import quote

    import httpx

    if not re.fullmatch(r"[^\s/?#]+", args.complaint_id):
        print(f"tousu status: {args.complaint_id!r} is not a complaint id; give the id `tousu submit` printed "
              "(e.g. TS-20261128-3F2A9C1B7D4E)", file=sys.stderr)
        return 2
    response = httpx.get(f"{_url(args)}/complaints/{quote(args.complaint_id)}", timeout=30)
    if response.status_code != 200:
        _print_problem(response)
        return 1
    doc = response.json()
    if args.json:
        print(json.dumps(doc, ensure_ascii=False, indent=2))
        return 0
    width = max(len(k) for k in doc)
    for key, value in doc.items():
        if value in (None, [], False):
            continue
        if isinstance(value, dict):
            shown = ", ".join(f"{k.replace('_', ' ')} {', '.join(v) if isinstance(v, list) else v}"
                              for k, v in value.items() if v not in (None, []))
        elif isinstance(value, list):
            shown = "; ".join(v if isinstance(v, str) else " ".join(str(x) for x in v.values() if x is not None)
                              for v in value)
        else:
            shown = value
        print(f"{key.replace('_', ' '):<{width}}  {shown}")
    return 0


def _print_problem(response) -> None:
    try:
        problem = response.json()
        print(f"{response.status_code} {problem.get('title', '')}: {problem.get('detail', '')}", file=sys.stderr)
        for error in problem.get("errors", []):
            print(f"  {error.get('field')}: {error.get('message')}", file=sys.stderr)
    except ValueError:
        print(f"{response.status_code}: {response.text[:500]}", file=sys.stderr)


# What an operator is, and where it trades, is not a person's data: the
# respondent's and the platform's address stay readable.
BUSINESSES = {"respondent", "platform"}


def _jsonable(value, personal: bool, key: str | None = None, within: str | None = None):
    if (not personal and key in PERSONAL_FIELDS and value not in (None, [], "")
            and not (key == "address" and within in BUSINESSES)
            and not (key == "answer" and value in ("ACKNOWLEDGED", "DECLINED"))):  # a referral's answer, a code
        return "***"
    if isinstance(value, dict):
        return {k: _jsonable(v, personal, k, key) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v, personal, None, key) for v in value]
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    return value


def cmd_tail(args) -> int:
    from services.bus.codec import CodecError, default_codec
    from services.tail import NoSuchTopic, NotYetWritten, known, records

    try:
        known(args.topic)
    except NoSuchTopic as exc:
        print(f"tousu tail: {exc}", file=sys.stderr)
        return 2
    codec = default_codec()
    bootstrap = bus_settings().bootstrap_servers
    last = None if args.from_beginning else args.lines

    async def run():
        async for message in records(bootstrap, args.topic, last, args.follow):
            try:
                record_type, record = codec.decode(message.value)
                shown = _jsonable(record, args.show_personal_data)
            except CodecError as exc:
                record_type, shown = "UNDECODABLE", {"error": str(exc)}
            line = {"topic": message.topic, "partition": message.partition, "offset": message.offset,
                    "type": record_type, "record": shown}
            if args.json:
                print(json.dumps(line, ensure_ascii=False), flush=True)
            else:
                fields = " ".join(f"{k}={json.dumps(v, ensure_ascii=False)}" for k, v in shown.items()
                                  if k not in ("event_id",) and v not in (None, []))
                print(f"{message.partition}:{message.offset} {record_type} {fields}", flush=True)

    try:
        asyncio.run(run())
    except NotYetWritten as exc:
        print(f"tousu tail: {exc}", file=sys.stderr)
    return 0


def cmd_audit(args) -> int:
    if args.action == "keygen":
        return _audit_keygen(args)
    if args.action == "sign":
        return _audit_sign(args)
    return _audit_verify(args)


def _audit_keygen(args) -> int:
    from pathlib import Path

    from services.bus.signing import SigningError, generate

    if not args.key:
        print("tousu audit keygen: say where to write the private key: --key PATH", file=sys.stderr)
        return 2
    try:
        public = generate(Path(args.key))
    except SigningError as exc:
        print(f"tousu audit keygen: {exc}", file=sys.stderr)
        return 1
    print(f"private key {args.key} (keep it with the operator); public key {public} (give it to the regulators)")
    return 0


def _audit_sign(args) -> int:
    """A signed checkpoint of each service's chain head, one JSON line each."""
    from pathlib import Path

    from services.bus.checkpoints import ChainCheckpoint
    from services.bus.signing import SigningError, sign

    if not args.key:
        print("tousu audit sign: name the private key: --key PATH (make one with `tousu audit keygen`)",
              file=sys.stderr)
        return 2
    signed = 0
    for name, app in _service_stores():
        try:
            if args.service and name not in args.service:
                continue
            head = ChainCheckpoint(app).load()
            if head is None:
                continue  # nothing published yet
            print(json.dumps(sign(name, head[0], head[1], Path(args.key)), ensure_ascii=False))
            signed += 1
        except SigningError as exc:
            print(f"tousu audit sign: {exc}", file=sys.stderr)
            return 1
        finally:
            app.close()
    if not signed:
        print("tousu audit sign: no service here has published anything yet (TOUSU_DATA_DIR, PostgreSQL settings?)",
              file=sys.stderr)
        return 1
    return 0


def _checkpoint_usage(args) -> str | None:
    """What keeps the checkpoints from being checked at all: a usage error
    (exit 2), said before the chain is read, never a verdict on the chain."""
    from pathlib import Path

    if not args.public_key:
        return "--checkpoint needs --public-key, the key the checkpoints were signed with"
    for flag, path in (("--checkpoint", args.checkpoint), ("--public-key", args.public_key)):
        if not Path(path).is_file():
            return f"{flag} {path}: no such file"
    return None


def _checked_checkpoints(args, chains) -> list[str]:
    """Problems with the signed checkpoints given to verify, if any."""
    from pathlib import Path

    from services.bus.signing import SigningError, verified

    problems = []
    try:
        lines = [line for line in Path(args.checkpoint).read_text(encoding="utf-8").splitlines() if line.strip()]
    except OSError as exc:
        return [f"cannot read {args.checkpoint}: {exc.strerror}"]
    for number, line in enumerate(lines, 1):
        try:
            checkpoint = json.loads(line)
            ok = verified(checkpoint, Path(args.public_key))
        except (ValueError, SigningError) as exc:
            problems.append(f"checkpoint line {number}: {exc}")
            continue
        service, seq = checkpoint.get("service"), checkpoint.get("seq")
        if not ok:
            problems.append(f"TAMPERED checkpoint line {number} ({service} seq {seq}): the signature does not match")
        elif seq not in (chains[service].seen if service in chains else {}):
            problems.append(f"MISSING {service} seq {seq}: the signed head is not on audit.log; "
                            f"tousu republish {service} --from {seq}")
        elif chains[service].seen[seq] != checkpoint.get("hash"):
            problems.append(f"TAMPERED {service} seq {seq}: the record on audit.log is not the one signed")
        else:
            print(f"signed head {service} seq {seq} ({checkpoint['signed_at']}) is on the chain")
    return problems


def _audit_verify(args) -> int:
    from services.bus.audit import MISSING, TAMPERED, verify
    from services.bus.codec import default_codec
    from services.bus.reader import read_all_sync

    codec = default_codec()
    if args.checkpoint and (usage := _checkpoint_usage(args)):
        print(f"tousu audit: {usage}", file=sys.stderr)
        return 2

    def read_and_verify():
        verdict = verify(codec.decode(m.value)[1] for m in read_all_sync(bus_settings().bootstrap_servers, "audit.log"))
        if verdict.kind == TAMPERED:
            print(f"audit chain BROKEN (altered or forked): {verdict.problem}", file=sys.stderr)
            return verdict, 1
        if verdict.kind == MISSING:
            # Not tampering: the broker lost records the stores still hold.
            print(f"audit chain INCOMPLETE (history missing): {verdict.problem}", file=sys.stderr)
            return verdict, 3
        return verdict, None

    # Positions first: whatever a relay publishes after this is not yet owed.
    published = {} if args.topic_only else _published_positions()
    verdict, failed = read_and_verify()
    if failed is not None:
        return failed
    chains = ", ".join(f"{name} {chain.records}" for name, chain in sorted(verdict.chains.items()))
    print(f"audit chain intact: {verdict.records} records ({verdict.duplicates} identical repeats); {chains or 'empty'}")
    if args.checkpoint:
        problems = _checked_checkpoints(args, verdict.chains)
        for line in problems:
            print(line, file=sys.stderr)
        if problems:
            return 1 if any(not p.startswith("MISSING") for p in problems) else 3
    if args.topic_only:
        return 0
    if not published:
        from services.bus.settings import data_dir

        # A regulator outside, say: a check of the topic alone must not read as a full one.
        print(f"no service's store is reachable from here (TOUSU_DATA_DIR {data_dir()}, or POSTGRES_*): "
              "only the topic was checked (--topic-only says so without this line)", file=sys.stderr)
        return 0
    gaps = _store_gaps(verdict.chains, published)
    if any(line.startswith("GAP") for line in gaps):
        # A record acknowledged a moment before the read may not yet be readable
        # on a busy broker; a record that is truly missing is missing on a second look.
        time.sleep(2)
        again, failed = read_and_verify()
        if failed is not None:
            return failed
        gaps = _store_gaps(again.chains, published)
    for line in gaps:
        print(line, file=sys.stderr)
    return 1 if any(line.startswith(("GAP", "FORGED")) for line in gaps) else 0


def _service_stores():
    """The services' event stores reachable from here, as (name, application)."""
    from services.bus.settings import store_settings
    from services.bus.topics import SERVICES
    from services.system import spec

    settings = store_settings()
    for name in SERVICES:
        env = settings.for_service(name)
        if env.get("SQLITE_DBNAME") and not os.path.exists(env["SQLITE_DBNAME"]):
            continue  # this service keeps its store elsewhere
        yield name, spec(name).build(env=env)


def _published_positions() -> dict[str, int]:
    from services.bus.relay import published_position

    positions = {}
    for name, app in _service_stores():
        positions[name] = published_position(app)
        app.close()
    return positions


def _store_gaps(chains, positions: dict[str, int]) -> list[str]:
    """Every event a service stored and had published must have its audit
    record, and every record on the topic must be one its service's relay
    wrote: for an event the store holds, and describing it (a record a chain
    accepts, hashed by anyone who read the formula, is not enough)."""
    from services.bus.audit import describes

    lines = []
    for name, app in _service_stores():
        if name not in positions:
            app.close()
            continue
        published = positions[name]
        records = chains[name].by_seq if name in chains else {}
        after, stored, gap = 0, set(), False
        # Up to the last record on the topic too: a relay may have published
        # beyond the position it had recorded when this read it.
        stop = max(published, max(records, default=0))
        while page := app.recorder.select_notifications(after, 1000, stop=stop, inclusive_of_start=False):
            for n in page:
                stored.add(n.id)
                record = records.get(n.id)
                if record is None and n.id <= published and not gap:
                    gap = True
                    lines.append(f"GAP {name}: stored event {n.id} ({n.topic.rsplit(':', 1)[-1]}) "
                                 "has no audit record on audit.log")
                elif record is not None and not describes(record, n):
                    lines.append(f"FORGED {name} seq {n.id} ({record['event_type']}): its audit record does not "
                                 f"describe the event {name} stored (type, aggregate, version or payload)")
            after = page[-1].id
        foreign = sorted(set(records) - stored)
        if foreign:
            lines.append(f"FORGED {name} seq {foreign[0]} ({records[foreign[0]]['event_type']}): on audit.log, but "
                         f"{name} stored no such event" + (f" (and {len(foreign) - 1} more)" if len(foreign) > 1 else ""))
        pending = (app.recorder.max_notification_id() or 0) - published
        if pending > 0:
            lines.append(f"{name}: {pending} stored events not yet published (the relay is behind)")
        app.close()
    return lines


def cmd_republish(args) -> int:
    from services.bus.codec import default_codec
    from services.bus.relay import republish
    from services.bus.settings import store_settings
    from services.system import spec

    service = spec(args.service)
    app = service.build(env=store_settings().for_service(args.service))

    shown = sys.stderr.isatty()  # a line rewritten as it goes, where someone watches it

    def progress(count, position):
        if shown:
            print(f"\r{args.service}: {count} events republished (position {position})", end="", file=sys.stderr,
                  flush=True)

    last = app.recorder.max_notification_id() or 0
    count = asyncio.run(republish(args.service, app, service.outbound(app), default_codec(),
                                  bus_settings().bootstrap_servers, args.start, progress, audited=service.audited))
    beyond = f" (its store ends at position {last})" if args.start > last else ""
    said = f"{args.service}: republished {count} events from position {args.start}{beyond}"
    # On a terminal it replaces the progress line, blanking what is left of it.
    print(f"\r{said:<72}" if shown else said, file=sys.stderr)
    return 0


AGENCY_IDS = ("ids are KIND-ADCODE, e.g. AMR-310115 or CA-310000 (a county-level code for AMR, EEB, HC, EDU, TRANS, "
              "HOUSING, TOUR; a province's for CA, NFRA, POST)")


def cmd_token(args) -> int:
    from datetime import timedelta

    from services import auth
    from services.agencies.directory import Directory

    if not Directory.load().exists(args.agency_id):
        print(f"tousu token: unknown agency {args.agency_id}: not in the directory; {AGENCY_IDS}", file=sys.stderr)
        return 2
    if not 0 < args.ttl <= MAX_TOKEN_DAYS:  # not NaN either
        print(f"--ttl must be a positive number of days, at most {MAX_TOKEN_DAYS}", file=sys.stderr)
        return 2
    if args.person is not None and not args.person.strip():
        print("--person must name someone", file=sys.stderr)
        return 2
    print(auth.issue(args.agency_id, args.role, auth.signing_key(), timedelta(days=args.ttl),
                     person=args.person.strip() if args.person else None))
    return 0


def cmd_agency(args) -> int:
    from services.agency import serve
    from services.agencies.directory import Directory

    directory = Directory.load()
    if not directory.exists(args.agency_id):
        print(f"tousu agency: unknown agency {args.agency_id}: not in the directory; {AGENCY_IDS}", file=sys.stderr)
        return 2
    if directory.agency(args.agency_id).kind == "AMR":
        print(f"tousu agency: {args.agency_id} is a market-regulation bureau: complaints reach it through routing, "
              "not a referral inbox; this command answers for the agencies complaints are referred to "
              "(e.g. CA-310000)", file=sys.stderr)
        return 2
    if args.suggest and not args.decline:
        print("tousu agency: --suggest names the competent agency of a decline: give --decline REASON too",
              file=sys.stderr)
        return 2
    count = asyncio.run(serve(bus_settings().bootstrap_servers, args.agency_id, decline=args.decline,
                              suggest=args.suggest, follow=not args.once))
    print(f"{args.agency_id}: answered {count} referrals", file=sys.stderr)
    return 0


def cmd_access(args) -> int:
    import re

    from services.bus import access
    from services.agencies.directory import Directory

    agencies = tuple(args.agency or access.EXAMPLE_AGENCIES)
    regulators = tuple(args.regulator or access.EXAMPLE_REGULATORS)
    subscribers = tuple(args.subscriber or access.EXAMPLE_SUBSCRIBERS)
    directory = Directory.load()
    for option, ids in (("--agency", agencies), ("--regulator", regulators)):
        unknown = [i for i in ids if not directory.exists(i)]
        if unknown:
            print(f"{option}: unknown agency {', '.join(unknown)}: not in the directory", file=sys.stderr)
            return 2
    odd = [s for s in subscribers if not re.fullmatch(r"[a-z][a-z0-9-]{1,62}", s)]
    if odd:
        print(f"--subscriber: {', '.join(odd)}: use lower-case letters, digits and '-'", file=sys.stderr)
        return 2
    try:
        plan = access.plan(agencies, regulators, subscribers)
    except ValueError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    sys.stdout.write(access.script(plan) if args.action == "script" else access.table(plan) + "\n")
    return 0
